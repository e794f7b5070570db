"""BERT's downstream data: GLUE TSV, SQuAD JSON and its evaluation, SWAG CSV (on files written here
in the official layouts), and the token-level corpora CoNLL-2000 and the Penn Treebank sample
(on the real NLTK zips of the shared data)."""

from __future__ import annotations

import csv
import gzip
import json
import zipfile

import pytest

from paperzoo.data import MissingDataError
from paperzoo.data.glue import (
    GLUE_TASKS,
    char_to_token_span,
    load_glue,
    normalize_answer,
    read_glue_tsv,
    read_squad,
    read_swag,
    squad_evaluate,
    squad_exact_match,
    squad_f1,
)
from paperzoo.data.tagged import (
    CONLL2000_COUNTS,
    EMPTY_ELEMENT,
    TREEBANK_COUNTS,
    _parse_trees,
    read_conll2000,
    read_treebank,
)
from paperzoo.errors import DataError, UserError


def write_tsv(path, rows):
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- GLUE --------------------------------------------------------------------------------------

MNLI_HEADER = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
               "sentence1_parse", "sentence2_parse", "sentence1", "sentence2"]


def mnli_row(i, s1, s2, labels=()):
    return [str(i), "31193", f"{31193 + i}n", "government", f"( ( {s1} ) )", f"( {s2} )", f"(ROOT (S {s1}))",
            f"(ROOT (S {s2}))", s1, s2, *labels]


def test_sst2_keeps_quotes_as_text(tmp_path):
    # GLUE files are QUOTE_NONE: a field that starts with " is not a quoted field
    path = write_tsv(tmp_path / "train.tsv", [["sentence", "label"],
                                              ["hide new secretions from the parental units ", "0"],
                                              ['"the rock" is destined to be the 21st century \'s new " conan "', "1"],
                                              ['a "quote that never closes', "1"]])
    split = read_glue_tsv(path, "SST-2")
    assert split.task == "sst2" and split.labels == ("0", "1") and split.num_labels == 2 and len(split) == 3
    assert split.examples[1].text_a == '"the rock" is destined to be the 21st century \'s new " conan "'
    assert split.examples[2].text_a == 'a "quote that never closes'
    assert [e.label for e in split.examples] == [0, 1, 1] and split.examples[0].text_b is None
    assert split.examples[0].text_a.endswith("units ")      # fields are kept as written
    test = read_glue_tsv(write_tsv(tmp_path / "test.tsv", [["index", "sentence"], ["0", "uneasy mishmash ."]]), "sst2")
    assert test.examples[0].label is None and test.examples[0].guid == "0" and not test.has_labels


def test_cola_train_has_no_header_and_test_has_one(tmp_path):
    path = write_tsv(tmp_path / "train.tsv", [
        ["gj04", "1", "", "Our friends won't buy this analysis, let alone the next one we propose."],
        ["gj04", "0", "*", 'The more we study verbs, the crazier they get "."']])
    split = read_glue_tsv(path, "cola")
    assert [e.label for e in split.examples] == [1, 0]
    assert split.examples[0].text_a.startswith("Our friends") and split.examples[1].text_a.endswith('"."')
    test_rows = [["index", "sentence"], ["0", "Bill whistled past the house."]]
    test = read_glue_tsv(write_tsv(tmp_path / "test.tsv", test_rows), "CoLA")
    assert test.examples[0].text_a == "Bill whistled past the house." and test.examples[0].label is None


def test_mrpc_with_byte_order_mark_and_quotes(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text(
        "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        '1\t702876\t702977\tAmrozi accused his brother , whom he called " the witness " , of deliberately '
        'distorting his evidence .\tReferring to him as only " the witness " , Amrozi accused his brother of '
        "deliberately distorting his evidence .\n"
        "0\t2108705\t2108831\tYucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 "
        "billion .\tYucaipa bought Dominick 's in 1995 for $ 693 million and sold it to Safeway for $ 1.8 "
        "billion in 1998 .\n", encoding="utf-8")
    split = read_glue_tsv(path, "mrpc")
    a, b = split.examples
    assert (a.label, b.label) == (1, 0)
    assert a.text_a.startswith("Amrozi accused") and '" the witness "' in a.text_a and a.text_b.startswith("Referring")
    test_rows = [["index", "#1 ID", "#2 ID", "#1 String", "#2 String"],
                 ["0", "1089874", "1089925", "PCCW 's chief", "Current Chief"]]
    test = read_glue_tsv(write_tsv(tmp_path / "test.tsv", test_rows), "mrpc")
    assert test.examples[0].text_b == "Current Chief" and test.examples[0].label is None


def test_mnli_label_is_the_last_column_and_test_has_none(tmp_path):
    train = write_tsv(tmp_path / "train.tsv", [
        [*MNLI_HEADER, "label1", "gold_label"],
        mnli_row(0, "Conceptually cream skimming has two basic dimensions.", "Product and geography are what make "
                 "cream skimming work.", ["neutral", "neutral"]),
        mnli_row(1, 'He said, "Yes."', "He said no.", ["contradiction", "contradiction"])])
    split = read_glue_tsv(train, "mnli")
    assert split.labels == ("contradiction", "entailment", "neutral")
    assert [e.label for e in split.examples] == [2, 0] and split.examples[1].text_a == 'He said, "Yes."'
    assert split.examples[0].text_b.startswith("Product and geography") and split.examples[0].guid == "0"
    dev = write_tsv(tmp_path / "dev_mismatched.tsv", [
        [*MNLI_HEADER, "label1", "label2", "label3", "label4", "label5", "gold_label"],
        mnli_row(0, "Your contribution helped.", "It helped.", ["entailment"] * 4 + ["neutral", "entailment"])])
    assert read_glue_tsv(dev, "mnli").examples[0].label == 1
    test = read_glue_tsv(write_tsv(tmp_path / "test_matched.tsv", [MNLI_HEADER, mnli_row(0, "A man.", "A woman.")]),
                         "mnli")
    assert test.examples[0].label is None and test.examples[0].text_b == "A woman."


def test_stsb_scores_are_floats(tmp_path):
    header = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2",
              "score"]

    def row(i, old, s1, s2, score):
        return [str(i), "main-captions", "MSRvid", "2012test", old, "none", "none", s1, s2, score]

    path = write_tsv(tmp_path / "dev.tsv", [
        header,
        row(0, "0000", "A man with a hard hat is dancing.", "A man wearing a hard hat is dancing.", "5.000"),
        row(1, "0002", "A young child is riding a horse.", "A child is riding a horse.", "4.750")])
    split = read_glue_tsv(path, "sts-b")
    assert split.labels is None and split.num_labels == 1
    assert [e.label for e in split.examples] == [5.0, 4.75] and split.examples[1].text_b == "A child is riding a horse."


@pytest.mark.parametrize("task, header, row, label", [
    ("qqp", ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
     ["133273", "213221", "213222", "How is the life of a math student?", "Which level of prepration is enough?", "0"],
     0),
    ("qnli", ["index", "question", "sentence", "label"],
     ["0", "What came into force after the new constitution was herald?", 'As of that day, the new "constitution" '
      "heralding the Second Republic came into force.", "entailment"], 0),
    ("rte", ["index", "sentence1", "sentence2", "label"],
     ["0", "Dana Reeve, the widow of the actor Christopher Reeve, has died.", "Christopher Reeve had an accident.",
      "not_entailment"], 1),
    ("wnli", ["index", "sentence1", "sentence2", "label"],
     ["0", "I stuck a pin through a carrot. When I pulled the pin out, it had a hole.", "The carrot had a hole.", "1"],
     1),
])
def test_sentence_pair_tasks(tmp_path, task, header, row, label):
    split = read_glue_tsv(write_tsv(tmp_path / "dev.tsv", [header, row]), task)
    ex = split.examples[0]
    assert ex.label == label and ex.text_a == row[header.index(GLUE_TASKS[task].text_a)]
    assert ex.text_b == row[header.index(GLUE_TASKS[task].text_b)] and ex.guid == row[0]


def test_glue_errors_name_file_and_line(tmp_path):
    bad = write_tsv(tmp_path / "bad.tsv", [["index", "sentence1", "sentence2", "label"], ["0", "a", "b", "entailment"],
                                           ["1", "only one field"], ["2", "a", "b", "maybe"]])
    with pytest.raises(DataError, match=r"bad\.tsv, line 3: 2 tab-separated fields, rte needs 4"):
        read_glue_tsv(bad, "rte")
    split = read_glue_tsv(bad, "rte", skip_malformed=True)
    assert len(split) == 1 and split.skipped == 2
    write_tsv(bad, [["index", "sentence1", "sentence2", "label"], ["2", "a", "b", "maybe"]])
    with pytest.raises(DataError, match=r"line 2: rte label 'maybe' is none of entailment, not_entailment"):
        read_glue_tsv(bad, "rte")
    with pytest.raises(DataError, match="header lacks 'question1'"):
        read_glue_tsv(bad, "qqp")
    with pytest.raises(UserError, match="unknown GLUE task 'sst3'"):
        read_glue_tsv(bad, "sst3")
    with pytest.raises(MissingDataError, match="file not found"):
        load_glue("rte", "dev", root=tmp_path)
    with pytest.raises(UserError, match="no split 'dev'"):
        load_glue("mnli", "dev", root=tmp_path)


def test_load_glue_finds_the_official_folder_layout(tmp_path):
    folder = tmp_path / "glue" / "MNLI"
    folder.mkdir(parents=True)
    write_tsv(folder / "dev_mismatched.tsv", [[*MNLI_HEADER, "label1", "gold_label"],
                                              mnli_row(0, "x", "y", ["entailment", "entailment"])])
    assert load_glue("MNLI", "dev_mismatched", root=tmp_path).examples[0].label == 1


# --- SQuAD -------------------------------------------------------------------------------------

CONTEXT = "Denver Broncos defeated the Carolina Panthers 24-10."


def squad_file(path, version="1.1", extra=()):
    qas = [{"id": "q1", "question": "Who won?", "answers": [{"text": "Denver Broncos", "answer_start": 0},
                                                            {"text": "Broncos", "answer_start": 7}]},
           {"id": "q2", "question": "Who lost?", "answers": [{"text": "the Carolina Panthers", "answer_start": 24}]},
           *extra]
    path.write_text(json.dumps({"version": version, "data": [
        {"title": "Super_Bowl_50", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}), encoding="utf-8")
    return path


def test_reads_squad_v1_and_v2(tmp_path):
    examples = read_squad(squad_file(tmp_path / "dev-v1.1.json"))
    assert [e.id for e in examples] == ["q1", "q2"] and examples[0].title == "Super_Bowl_50"
    a = examples[1].answers[0]
    assert (a.start, a.end) == (24, 45) and CONTEXT[a.start:a.end] == "the Carolina Panthers"
    assert not any(e.is_impossible for e in examples) and len(examples[0].answers) == 2
    v2 = read_squad(squad_file(tmp_path / "v2.json", "v2.0", [
        {"id": "q3", "question": "Who scored 30?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "Denver Broncos", "answer_start": 0}]}]))
    assert v2[2].is_impossible and v2[2].answers == ()
    gz = tmp_path / "dev.json.gz"
    gz.write_bytes(gzip.compress(squad_file(tmp_path / "plain.json").read_bytes()))
    assert read_squad(gz) == examples


def test_squad_offsets_are_checked(tmp_path):
    path = squad_file(tmp_path / "bad.json", extra=[{"id": "q9", "question": "?",
                                                     "answers": [{"text": "Panthers", "answer_start": 3}]}])
    with pytest.raises(DataError, match="question q9: answer 'Panthers' is not at character 3"):
        read_squad(path)
    path.write_text('{"version": "1.1"}')
    with pytest.raises(DataError, match="no top-level 'data'"):
        read_squad(path)
    path.write_text('{"data": [{"paragraphs": [{"qas": []}]}]}')
    with pytest.raises(DataError, match="not in SQuAD's layout"):
        read_squad(path)


def wordpiece():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "who", "lost", "?", "denver", "broncos", "defeated", "the",
             "carolina", "panther", "##s", "24", "-", "10", "."]
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return tok


def test_char_to_token_span_with_real_tokenizer_offsets():
    enc = wordpiece().encode("Who lost?", CONTEXT)
    assert enc.tokens[:5] == ["[CLS]", "who", "lost", "?", "[SEP]"] and "##s" in enc.tokens
    start, end = CONTEXT.index("Carolina Panthers"), CONTEXT.index(" 24")
    span = char_to_token_span(enc.offsets, start, end, sequence_ids=enc.sequence_ids)
    assert span is not None and enc.tokens[span[0]:span[1] + 1] == ["carolina", "panther", "##s"]
    # without sequence_ids the question's tokens (offsets into the question) would be searched too
    assert char_to_token_span(enc.offsets, 0, 6, sequence_ids=enc.sequence_ids) == (5, 5)   # "denver"
    # a window that cuts the answer: None (BERT trains that window on [CLS])
    window = [(0, 0), (7, 14), (15, 23), (0, 0)]
    assert char_to_token_span(window, 0, 14) is None and char_to_token_span(window, 7, 23) == (1, 2)
    # a start inside a token maps to that token; characters after the last token: None
    assert char_to_token_span([(0, 5), (6, 9)], 2, 9) == (0, 1) and char_to_token_span([(0, 5)], 2, 7) is None
    with pytest.raises(ValueError, match="empty answer span"):
        char_to_token_span([(0, 5)], 3, 3)


def test_squad_normalisation_and_scores_by_hand():
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert normalize_answer("U.S. theater an apple") == "us theater apple"    # \b: "theater" keeps its "the"
    assert squad_exact_match("an Apple.", "apple") == 1.0 and squad_exact_match("apples", "apple") == 0.0
    # pred {cat, sat, on, mat}, gold {cat, on, mat}: P = 3/4, R = 1, F1 = 6/7
    assert squad_f1("the cat sat on the mat", "cat on mat") == pytest.approx(6 / 7)
    # bags of words: "x x y" vs "x y" shares x once and y once: P = 2/3, R = 1, F1 = 0.8
    assert squad_f1("x x y", "x y") == pytest.approx(0.8)
    assert squad_f1("dog", "cat") == 0.0 and squad_f1("", "cat") == 0.0 and squad_f1("the", "a") == 1.0


def test_squad_evaluate_takes_the_best_gold_and_scores_missing_as_zero(tmp_path):
    examples = read_squad(squad_file(tmp_path / "dev.json", "v2.0", [
        {"id": "q3", "question": "?", "answers": [], "is_impossible": True}]))
    scores = squad_evaluate(examples, {"q1": "the Broncos", "q2": "Carolina", "q3": ""})
    # q1: EM 1 against "Broncos"; q2: F1 2·1·(1/2)/(3/2) = 2/3 against "carolina panthers"; q3: "" = "" -> 1
    assert scores["exact_match"] == pytest.approx(100 * 2 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1) / 3)
    assert squad_evaluate(examples, {"q1": "Denver Broncos"}) == pytest.approx({"exact_match": 100 / 3,
                                                                                 "f1": 100 / 3})


# --- SWAG --------------------------------------------------------------------------------------

SWAG_HEADER = ["", "video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source", "ending0", "ending1",
               "ending2", "ending3", "label"]


def test_reads_swag_csv_with_quoting(tmp_path):
    path = tmp_path / "val.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(SWAG_HEADER)
        w.writerow(["0", "lsmdc3001_21_JUMP_STREET-422", "11783", "Students lower their eyes nervously. She",
                    "Students lower their eyes nervously.", "She", "gold", "pats her shoulder, then saunters toward "
                    "someone.", 'turns with two students, "hi".', "walks slowly towards someone.",
                    "wheels around as her dog thunders out.", "2"])
    (ex,) = read_swag(path)
    assert ex.label == 2 and ex.video_id == "lsmdc3001_21_JUMP_STREET-422" and ex.fold_ind == "11783"
    assert ex.endings[1] == 'turns with two students, "hi".' and len(ex.endings) == 4
    assert ex.pairs()[2] == ("Students lower their eyes nervously.", "She walks slowly towards someone.")
    test = tmp_path / "test.csv"
    with open(test, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([SWAG_HEADER[:-1], ["0", "v", "1", "A. B", "A.", "B", "gen", "a", "b", "c", "d"]])
    assert read_swag(test)[0].label is None
    with open(test, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([SWAG_HEADER, ["0", "v", "1", "A. B", "A.", "B", "gen", "a", "b", "c", "d", "4"]])
    with pytest.raises(DataError, match="line 2: label '4' is not an ending's index"):
        read_swag(test)
    with pytest.raises(DataError, match="header lacks"):
        read_swag(write_tsv(tmp_path / "x.csv", [["sentence", "label"]]))


# --- CoNLL-2000 and the Penn Treebank sample ------------------------------------------------


@pytest.fixture(scope="module")
def conll(shared_data):
    return {split: read_conll2000(split, shared_data) for split in CONLL2000_COUNTS}


@pytest.fixture(scope="module")
def treebank(shared_data):
    return {split: read_treebank(split, shared_data) for split in ("train", "test", "all")}


def test_conll2000_counts_and_tags(conll):
    train, test = conll["train"], conll["test"]
    assert (len(train), train.num_tokens) == (8_936, 211_727)
    assert (len(test), test.num_tokens) == (2_012, 47_377)
    assert train.columns == ("word", "pos", "chunk") and all(train.sentences) and all(test.sentences)
    assert train.sentences[0][:3] == (("Confidence", "NN", "B-NP"), ("in", "IN", "B-PP"), ("the", "DT", "B-NP"))
    chunks = train.labels("chunk")
    assert len(chunks) == 22 and "O" in chunks and all(t == "O" or t[:2] in ("B-", "I-") for t in chunks)
    assert {t[2:] for t in chunks if t != "O"} == {"ADJP", "ADVP", "CONJP", "INTJ", "LST", "NP", "PP", "PRT",
                                                    "SBAR", "UCP", "VP"}
    assert set(test.labels("chunk")) - set(chunks) == {"I-LST"}
    assert len(train.labels("pos")) == 44 and set(test.labels("pos")) <= set(train.labels("pos"))
    # IOB2: a chunk's I- tag continues a chunk of its own type
    for sentence in train.column("chunk")[:500]:
        for prev, tag in zip(("O", *sentence), sentence):
            assert not tag.startswith("I-") or prev[2:] == tag[2:]
    with pytest.raises(UserError, match="no split 'dev'"):
        read_conll2000("dev")


def test_treebank_counts_split_and_no_empty_elements(treebank):
    every, train, test = treebank["all"], treebank["train"], treebank["test"]
    assert (len(every), every.num_tokens) == (TREEBANK_COUNTS[0], TREEBANK_COUNTS[2]) == (3_914, 94_084)
    assert (len(train), len(test)) == (3_000, 914) and (train.num_tokens, test.num_tokens) == (72_422, 21_662)
    assert train.sentences + test.sentences == every.sentences and all(every.sentences)
    assert every.sentences[0][:3] == (("Pierre", "NNP"), ("Vinken", "NNP"), (",", ","))
    tags = every.labels("pos")
    assert len(tags) == 45 and EMPTY_ELEMENT not in tags and {"-LRB-", "-RRB-", "``", "''", "NNP"} <= set(tags)
    assert not any(w.startswith("*") for s in every.column("word") for w in s)   # no traces left
    with pytest.raises(UserError, match="no column 'chunk'"):
        every.column("chunk")


def test_tree_leaves_and_unbalanced_brackets():
    text = "( (S (NP-SBJ (-NONE- *-1) (NNP Mr.) (NNP Vinken)) (VP (VBZ is)) (. .)) )\n((S (X (LS 1))))"
    assert _parse_trees(text, "t") == [[("*-1", "-NONE-"), ("Mr.", "NNP"), ("Vinken", "NNP"), ("is", "VBZ"),
                                        (".", ".")], [("1", "LS")]]
    with pytest.raises(DataError, match="unbalanced '\\('"):
        _parse_trees("( (S (NN x)", "t")
    with pytest.raises(DataError, match="unbalanced '\\)'"):
        _parse_trees("(NN x))", "t")


def test_missing_and_wrong_zips(tmp_path):
    with pytest.raises(MissingDataError, match="download_conll2000"):
        read_conll2000("train", tmp_path)
    with pytest.raises(MissingDataError, match="download_treebank"):
        read_treebank(root=tmp_path)
    (tmp_path / "nltk").mkdir()
    with zipfile.ZipFile(tmp_path / "nltk" / "conll2000.zip", "w") as z:
        z.writestr("conll2000/train.txt", "He PRP B-NP\nreckons VBZ B-VP\n\n")
        z.writestr("conll2000/test.txt", "He PRP\n")
    with pytest.raises(DataError, match="1 sentences and 2 tokens; NLTK's CoNLL-2000 train split has 8,936"):
        read_conll2000("train", tmp_path)
    with pytest.raises(DataError, match="line 1: expected 'word POS chunk'"):
        read_conll2000("test", tmp_path)
    (tmp_path / "nltk" / "treebank.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="damaged or not NLTK's treebank.zip"):
        read_treebank(root=tmp_path)
