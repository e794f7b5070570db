"""BERT's WordPiece tokenizer and pre-training instances (paperzoo.papers.bert.tokenizer,
.pretraining_data): the tokenizer against transformers' BertTokenizerFast on the same vocab.txt,
and the instance generator's rules (google-research/bert create_pretraining_data.py) tested
statistically on real documents (NLTK's inaugural addresses), beside HF's masking collator.

Statistical checks use bounds of Z standard errors computed from the counts (a binomial or a sum
of Bernoullis), never hand-picked tolerances; with Z = 5 a correct implementation fails about once
in 3.5 million runs, and everything is seeded, so a run is reproducible."""

from __future__ import annotations

import math
import random

import pytest
import torch

from paperzoo.data.corpora import read_corpus
from paperzoo.errors import DataError, UserError
from paperzoo.papers.bert.pretraining_data import (
    DynamicMasking,
    Instance,
    PretrainingData,
    PretrainingSettings,
    VocabInfo,
    build_pretraining_data,
    create_instances_from_document,
    create_masked_lm_predictions,
    create_training_instances,
    dense_mlm_labels,
    load_or_build,
    mask_batch,
    num_predictions,
    tokenize_documents,
    truncate_seq_pair,
)
from paperzoo.papers.bert.tokenizer import (
    SPECIAL_TOKENS,
    SpecialIds,
    load_tokenizer,
    load_vocab_txt,
    save_tokenizer,
    save_vocab_txt,
    special_ids,
    train_wordpiece,
    vocab_hash,
    vocabulary,
)

pytestmark = pytest.mark.usefixtures("one_thread")

Z = 5.0
SETTINGS = PretrainingSettings(dupe_factor=2, seed=7)


def within(count: float, expected: float, variance: float, what: str) -> None:
    bound = Z * math.sqrt(variance)
    assert abs(count - expected) <= bound, f"{what}: {count} vs expected {expected:.1f} +- {bound:.1f}"


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def documents(shared_data):
    return read_corpus("inaugural", shared_data)   # 59 speeches, 5,237 sentences, 138k words


@pytest.fixture(scope="module")
def tokenizer(documents):
    # small, so that "##" pieces are common and the special tokens are 5 of only 2,000 ids
    return train_wordpiece((s for d in documents for s in d.sentences), vocab_size=2000)


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return VocabInfo.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def token_documents(documents, tokenizer):
    return tokenize_documents(documents, tokenizer)


@pytest.fixture(scope="module")
def shuffled_documents(token_documents):
    """The documents in the order create_training_instances leaves them (it shuffles in place)."""
    return [list(d) for d in token_documents]


@pytest.fixture(scope="module")
def unmasked(shuffled_documents, vocab):
    """Instances before masking: 2 passes over the speeches (about 3,000 pairs)."""
    settings = PretrainingSettings(dupe_factor=2, seed=3, static_masking=False)
    return create_training_instances(shuffled_documents, settings, vocab)


@pytest.fixture(scope="module")
def hf_tokenizer(tokenizer, tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("vocab")
    save_vocab_txt(tokenizer, folder / "vocab.txt")
    return transformers.BertTokenizerFast.from_pretrained(str(folder))


# --- tokenizer ---------------------------------------------------------------------------------


def test_trained_tokenizer_special_ids_and_pairs(tokenizer):
    assert special_ids(tokenizer) == SpecialIds(pad=0, unk=1, cls=2, sep=3, mask=4)
    assert vocabulary(tokenizer)[:5] == list(SPECIAL_TOKENS) and tokenizer.get_vocab_size() == 2000
    enc = tokenizer.encode("The Constitution is our guide.", "Liberty endures!")
    assert enc.tokens[0] == "[CLS]" and enc.tokens.count("[SEP]") == 2 and enc.tokens[-1] == "[SEP]"
    first_sep = enc.tokens.index("[SEP]")
    assert enc.type_ids == [0] * (first_sep + 1) + [1] * (len(enc.tokens) - first_sep - 1)
    assert any(t.startswith("##") for t in vocabulary(tokenizer))
    # "[MASK]" in raw text is the special token, whole
    assert tokenizer.encode("a [MASK] b", add_special_tokens=False).tokens == ["a", "[MASK]", "b"]


def test_tokenizer_round_trip(tokenizer, tmp_path):
    text = "We the People of the United States, in Order to form a more perfect Union."
    ids = tokenizer.encode(text).ids
    decoded = tokenizer.decode(ids)
    assert decoded == "we the people of the united states, in order to form a more perfect union."
    assert tokenizer.encode(decoded).ids == ids
    save_tokenizer(tokenizer, tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert loaded.encode(text, "And B.").ids == tokenizer.encode(text, "And B.").ids
    assert vocab_hash(loaded) == vocab_hash(tokenizer)
    # a vocab.txt round trip keeps every id
    save_vocab_txt(tokenizer, tmp_path / "vocab.txt")
    assert vocabulary(load_vocab_txt(tmp_path / "vocab.txt")) == vocabulary(tokenizer)
    assert vocab_hash(load_vocab_txt(tmp_path / "vocab.txt")) == vocab_hash(tokenizer)
    assert vocab_hash(load_vocab_txt(tmp_path / "vocab.txt", lowercase=False)) != vocab_hash(tokenizer)


SENTENCES = [
    "The Constitution, ratified in 1788, endures.",        # punctuation, digits
    "Café naïve résumé ÉLAN Ångström",                     # accents: stripped when uncased
    "Antidisestablishmentarianism and photosynthesizing",  # long unknown words: ## pieces
    "Quixotic zygote jukebox 😀 ☃ 漢字 text",                 # emoji, symbols, CJK: [UNK]
    "Tabs\tand\u00a0non-breaking\u200bspaces, (brackets)... \"quotes\"!?",
    "[MASK] and [SEP] stay whole; [mask] does not",
    "x" * 101 + " is longer than a word may be",          # over 100 characters: [UNK]
]


@pytest.mark.parametrize("lowercase", [True, False])
def test_vocab_txt_tokenizes_like_transformers(tokenizer, tmp_path, lowercase):
    transformers = pytest.importorskip("transformers")
    save_vocab_txt(tokenizer, tmp_path / "vocab.txt")
    ours = load_vocab_txt(tmp_path / "vocab.txt", lowercase=lowercase)
    theirs = transformers.BertTokenizerFast.from_pretrained(str(tmp_path), do_lower_case=lowercase)
    pieces = []
    for sentence in SENTENCES:
        mine = ours.encode(sentence, add_special_tokens=False).tokens
        assert mine == theirs.tokenize(sentence), sentence
        pieces += mine
        pair_ours, pair_theirs = ours.encode(sentence, "the second segment"), theirs(sentence, "the second segment")
        assert pair_ours.ids == pair_theirs["input_ids"]
        assert pair_ours.type_ids == pair_theirs["token_type_ids"]
        assert pair_ours.attention_mask == pair_theirs["attention_mask"]
    # the sentences do exercise unknown words, continuation pieces and accents
    assert "[UNK]" in pieces and any(p.startswith("##") for p in pieces)
    if lowercase:   # accents stripped (NFD, combining marks dropped) before the vocabulary lookup
        assert not any(ch in "éïÉÅö" for piece in pieces for ch in piece)
        assert ours.encode("Café").ids == ours.encode("cafe").ids


def test_google_vocab_layout_ids(tmp_path):
    """Google's vocab.txt layout: [PAD], [unused0..98], [UNK], [CLS], [SEP], [MASK], then words."""
    words = ["the", "a", "lobster", "##s", "blue", ".", "!"]
    lines = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (tmp_path / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tok = load_vocab_txt(tmp_path / "vocab.txt")
    assert special_ids(tok) == SpecialIds(pad=0, unk=100, cls=101, sep=102, mask=103)
    enc = tok.encode("The lobsters!", "Blue.")
    assert enc.tokens == ["[CLS]", "the", "lobster", "##s", "!", "[SEP]", "blue", ".", "[SEP]"]
    assert enc.ids[0] == 101 and enc.ids[-1] == 102
    info = VocabInfo.from_tokenizer(tok)
    assert set(info.random_ids) == set(range(104, 104 + len(words)))   # no [unusedN] or specials
    assert load_tokenizer(tmp_path).get_vocab_size() == len(lines)      # a folder with only vocab.txt


def test_vocab_txt_errors(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"\[MASK\]"):
        load_vocab_txt(path)
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nthe\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 7"):
        load_vocab_txt(path)
    with pytest.raises(DataError, match="not found"):
        load_vocab_txt(tmp_path / "absent.txt")
    with pytest.raises(UserError):
        train_wordpiece(["a b c"], vocab_size=5)


# --- instances ---------------------------------------------------------------------------------


def _stream(ids) -> str:
    """Ids as ``",1,2,3,"``: a run of ids is in a document iff its string is in the document's."""
    return ",".join(["", *map(str, ids), ""])


def test_instances_layout_and_next_sentence(unmasked, shuffled_documents, vocab):
    ids = vocab.special
    streams = [_stream(t for s in d for t in s) for d in shuffled_documents]
    assert len(unmasked) > 2_000
    for inst in unmasked:
        tokens, segments = inst.tokens, inst.segment_ids
        assert len(tokens) <= SETTINGS.max_seq_length and len(tokens) == len(segments)
        assert tokens[0] == ids.cls and tokens[-1] == ids.sep and tokens.count(ids.sep) == 2
        assert ids.pad not in tokens and ids.mask not in tokens and not inst.masked_positions
        first_sep = tokens.index(ids.sep)
        a, b = tokens[1:first_sep], tokens[first_sep + 1:-1]
        assert a and b
        assert segments == [0] * (len(a) + 2) + [1] * (len(b) + 1)
        home = streams[inst.document]
        start = home.find(_stream(a))
        assert start >= 0, "segment A is a run of its document"
        if not inst.is_random_next:   # B is a run of the same document, after A
            assert home.find(_stream(b), start) >= 0
    # NotNext is drawn with probability 1/2 wherever the chunk has two or more sentences; a
    # one-sentence chunk is always NotNext
    random_next = [inst.is_random_next for inst in unmasked if not inst.forced_random]
    n = len(random_next)
    within(sum(random_next), 0.5 * n, 0.25 * n, "NotNext among chunks of 2+ sentences")
    assert all(inst.is_random_next for inst in unmasked if inst.forced_random)


def test_short_target_lengths(token_documents, vocab):
    """short_seq_prob: the target length is drawn once per document (and pass), as in the script;
    so it is tested per draw. Instance lengths show no clean 10%: a document's end also makes short
    instances, and a short target shortens every chunk of its document."""
    settings = PretrainingSettings(seed=0, static_masking=False)
    rng = random.Random(11)
    one_sentence_docs = [[s] for d in token_documents[:20] for s in d[:100]]   # cheap calls: one instance each
    targets = [create_instances_from_document(one_sentence_docs, i % len(one_sentence_docs), settings, vocab, rng)[0]
               .target_length for i in range(6_000)]
    full = settings.max_num_tokens
    short = [t for t in targets if t < full]
    # P(target < full) = 0.1 * (1 - 1 / (full - 1)): randint(2, full) can also give full
    p = settings.short_seq_prob * (1 - 1 / (full - 1))
    within(len(short), p * len(targets), p * (1 - p) * len(targets), "short targets")
    assert min(short) >= 2
    mean = (2 + full - 1) / 2   # uniform on [2, full - 1] once full itself is excluded
    var = ((full - 2) ** 2 - 1) / 12
    within(sum(short) / len(short), mean, var / len(short), "mean short target")


def test_truncate_seq_pair_trims_the_longer_side_at_random_ends():
    rng = random.Random(0)
    fronts = 0
    for _ in range(2000):
        a, b = list(range(10)), list(range(100, 103))
        truncate_seq_pair(a, b, 12, rng)
        assert (len(a), b) == (9, [100, 101, 102])   # only the longer side loses a token
        fronts += a[0] == 1
    within(fronts, 1000, 500, "truncations at the front")
    a, b = [1, 2], [3, 4]
    truncate_seq_pair(a, b, 3, rng)
    assert (len(a), len(b)) == (2, 1)   # a tie trims B


def _outcomes(instances_with_originals, vocab):
    """Counts of [MASK] / random / unchanged at the predicted positions, and their expected values and
    variances (a sum of Bernoullis: the random draw can give back the original token)."""
    counts, expected, variance = [0, 0, 0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    random_ids = set(vocab.random_ids)
    r = len(vocab.random_ids)
    for original, masked, positions in instances_with_originals:
        for p in positions:
            out = masked[p]
            counts[0 if out == vocab.special.mask else 2 if out == original[p] else 1] += 1
            back = 0.1 / r if original[p] in random_ids else 0.0   # random draw == original
            probs = (0.8, 0.1 - back, 0.1 + back)
            for k in range(3):
                expected[k] += probs[k]
                variance[k] += probs[k] * (1 - probs[k])
    return counts, expected, variance


def test_masking_counts_positions_and_80_10_10(unmasked, vocab):
    rng = random.Random(5)
    masked = []
    for inst in unmasked:
        tokens, positions, labels = create_masked_lm_predictions(inst.tokens, SETTINGS, vocab, rng)
        assert len(positions) == num_predictions(len(inst.tokens), SETTINGS)   # exactly the formula
        assert positions == sorted(set(positions))
        assert labels == [inst.tokens[p] for p in positions]
        assert all(inst.tokens[p] not in (vocab.special.cls, vocab.special.sep) for p in positions)
        chosen = set(positions)
        assert len(tokens) == len(inst.tokens)
        assert all(tokens[i] == inst.tokens[i] for i in range(len(tokens)) if i not in chosen)
        masked.append((inst.tokens, tokens, positions))
    assert num_predictions(128, SETTINGS) == 19 and num_predictions(200, SETTINGS) == 20
    assert num_predictions(5, SETTINGS) == 1 and num_predictions(30, SETTINGS) == 4   # Python 3's round(4.5)
    counts, expected, variance = _outcomes(masked, vocab)
    assert sum(counts) > 40_000
    for k, what in enumerate(("[MASK]", "random", "unchanged")):
        within(counts[k], expected[k], variance[k], what)


def test_whole_word_masking_masks_every_piece(unmasked, vocab):
    settings = PretrainingSettings(whole_word_mask=True)
    rng = random.Random(9)
    words_masked = pieces_in_multi = 0
    for inst in unmasked[:1500]:
        tokens = inst.tokens
        _, positions, _ = create_masked_lm_predictions(tokens, settings, vocab, rng)
        chosen = set(positions)
        assert len(positions) <= num_predictions(len(tokens), settings)
        # words: a token not "##", with the "##" pieces right after it
        words, current = [], []
        for i, t in enumerate(tokens):
            if t in (vocab.special.cls, vocab.special.sep):
                words.append(current)
                current = []
            elif t in vocab.continuation and current:
                current.append(i)
            else:
                words.append(current)
                current = [i]
        words.append(current)
        for word in filter(None, words):
            hit = [i in chosen for i in word]
            assert all(hit) or not any(hit), (word, positions)
            if all(hit):
                words_masked += 1
                pieces_in_multi += len(word) > 1
    assert pieces_in_multi > 500 and words_masked > 10_000


def test_built_tensors(documents, tokenizer, vocab):
    data = build_pretraining_data(documents[:20], tokenizer, SETTINGS)
    n, length = data.input_ids.shape
    assert length == 128 and data.masked_positions.shape == (n, 20) and n > 500
    batch = data[:]
    assert batch["input_ids"].dtype == torch.long and batch["masked_weights"].dtype == torch.float32
    real = batch["attention_mask"].bool()
    lengths = real.sum(1)
    assert torch.equal(real, torch.arange(length)[None] < lengths[:, None])        # padding at the end only
    assert (batch["input_ids"][~real] == vocab.special.pad).all()
    assert (batch["token_type_ids"][~real] == 0).all()
    weights = batch["masked_weights"]
    predicted = weights.sum(1).long()
    assert torch.equal(predicted, torch.tensor([num_predictions(int(k), SETTINGS) for k in lengths]))
    assert torch.equal(weights, (torch.arange(20)[None] < predicted[:, None]).float())
    positions, labels = batch["masked_positions"], batch["masked_ids"]
    assert (positions[weights == 0] == 0).all() and (labels[weights == 0] == 0).all()   # google's padding
    at = batch["input_ids"].gather(1, positions)
    specials = torch.tensor([vocab.special.cls, vocab.special.sep, vocab.special.pad])
    assert not torch.isin(at[weights > 0], specials).any()          # [CLS]/[SEP]/[PAD] never predicted
    assert not torch.isin(labels[weights > 0], specials).any()
    assert (positions[weights > 0] < lengths.repeat_interleave(20).view(n, 20)[weights > 0]).all()
    # segments: 0 through the first [SEP], 1 through the second
    for row in range(0, n, 37):
        ids = batch["input_ids"][row, :lengths[row]].tolist()
        seps = [i for i, t in enumerate(ids) if t == vocab.special.sep]
        assert ids[0] == vocab.special.cls and len(seps) == 2 and seps[1] == len(ids) - 1
        segments = batch["token_type_ids"][row, :lengths[row]].tolist()
        assert segments == [0] * (seps[0] + 1) + [1] * (len(ids) - seps[0] - 1)
    # HF-style dense labels
    dense = dense_mlm_labels(batch["input_ids"], positions, labels, weights)
    assert (dense != -100).sum() == predicted.sum()
    assert torch.equal(dense.gather(1, positions)[weights > 0], labels[weights > 0])
    labels_nsp = batch["next_sentence_label"]
    assert set(labels_nsp.tolist()) == {0, 1}   # 0 IsNext, 1 NotNext


def test_build_is_deterministic_and_cached(documents, tokenizer, tmp_path):
    docs = documents[:8]
    settings = PretrainingSettings(dupe_factor=1, seed=1)
    one = build_pretraining_data(docs, tokenizer, settings)
    two = build_pretraining_data(docs, tokenizer, settings)
    other = build_pretraining_data(docs, tokenizer, PretrainingSettings(dupe_factor=1, seed=2))
    assert torch.equal(one.input_ids, two.input_ids) and torch.equal(one.masked_ids, two.masked_ids)
    assert not torch.equal(one.input_ids[:5], other.input_ids[:5])
    path = tmp_path / "instances.safetensors"
    one.save(path)
    loaded = PretrainingData.load(path)
    for name in ("input_ids", "token_type_ids", "attention_mask", "masked_positions", "masked_ids",
                 "masked_weights", "next_sentence_labels"):
        assert torch.equal(getattr(loaded, name), getattr(one, name)), name
    assert loaded.metadata == one.metadata and loaded.settings == settings
    assert loaded.metadata["vocab_hash"] == vocab_hash(tokenizer) and loaded.metadata["documents"] == 8
    stamp = path.stat().st_mtime_ns
    cached = load_or_build(path, docs, tokenizer, settings)
    assert path.stat().st_mtime_ns == stamp and torch.equal(cached.input_ids, one.input_ids)   # reused
    rebuilt = load_or_build(path, docs[:7], tokenizer, settings)                               # other corpus
    assert rebuilt.metadata["documents"] == 7 and PretrainingData.load(path).metadata["documents"] == 7
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="safetensors"):
        PretrainingData.load(path)
    assert len(load_or_build(path, docs, tokenizer, settings)) == len(one)   # a damaged cache is rebuilt


# --- against HF's masking collator --------------------------------------------------------------


def _padded(unmasked, vocab, rows):
    length = SETTINGS.max_seq_length
    ids = torch.full((rows, length), vocab.special.pad, dtype=torch.long)
    for r, inst in enumerate(unmasked[:rows]):
        ids[r, :len(inst.tokens)] = torch.tensor(inst.tokens)
    return ids


def test_masking_agrees_with_hf_collator(unmasked, vocab, hf_tokenizer):
    """Both mask 80/10/10 of the chosen positions; they choose positions differently. HF draws
    each non-special position with probability 0.15 (a binomial count per sequence, [CLS]/[SEP]
    excluded from the base); google takes exactly round(0.15 * length) positions, length counting
    [CLS] and [SEP], capped at 20. HF's random token may be any id, [MASK] and the specials
    included; ours excludes them (a difference of 0.1/V in the rates)."""
    transformers = pytest.importorskip("transformers")
    rows = 2_500
    ids = _padded(unmasked, vocab, rows)
    special = torch.isin(ids, torch.tensor([vocab.special.cls, vocab.special.sep, vocab.special.pad]))
    candidates = (~special).sum(1)
    collator = transformers.DataCollatorForLanguageModeling(hf_tokenizer, mlm_probability=0.15)
    torch.manual_seed(0)
    out = collator([{"input_ids": ids[r].tolist(), "special_tokens_mask": special[r].long().tolist()}
                    for r in range(rows)])
    chosen = out["labels"] != -100
    assert not chosen[special].any()                       # no [CLS], [SEP] or [PAD]
    assert torch.equal(out["labels"][chosen], ids[chosen])
    # HF's selection: Bernoulli(0.15) per candidate position
    c = int(candidates.sum())
    within(int(chosen.sum()), 0.15 * c, 0.15 * 0.85 * c, "HF chosen positions")
    hf_counts = chosen.sum(1)
    assert hf_counts.float().std() > 1.0                   # a binomial count varies...
    ours = mask_batch(ids, (ids != vocab.special.pad).long(), SETTINGS, vocab, torch.Generator().manual_seed(0))
    our_counts = ours["masked_weights"].sum(1).long()
    lengths = (ids != vocab.special.pad).sum(1)
    assert torch.equal(our_counts, torch.tensor([num_predictions(int(k), SETTINGS) for k in lengths]))  # ...ours not
    # outcome rates at the chosen positions
    v = len(hf_tokenizer)
    hf_in = out["input_ids"][chosen]
    hf_orig = ids[chosen]
    hf_mask = int((hf_in == vocab.special.mask).sum())
    hf_keep = int((hf_in == hf_orig).sum())
    n_hf = int(chosen.sum())
    # HF: [MASK] 0.8 (+0.1/V when the random draw is [MASK]), unchanged 0.1 (+0.1/V), random the rest
    for count, p, what in ((hf_mask, 0.8 + 0.1 / v, "HF [MASK]"), (hf_keep, 0.1 + 0.1 / v, "HF unchanged"),
                           (n_hf - hf_mask - hf_keep, 0.1 - 0.2 / v, "HF random")):
        within(count, p * n_hf, p * (1 - p) * n_hf, what)
    w = ours["masked_weights"] > 0
    pos = ours["masked_positions"]
    our_in = ours["input_ids"].gather(1, pos)[w]
    our_orig = ids.gather(1, pos)[w]
    n_ours = int(w.sum())
    rates = {}
    for name, hf_count, our_count in (
            ("[MASK]", hf_mask, int((our_in == vocab.special.mask).sum())),
            ("unchanged", hf_keep, int((our_in == our_orig).sum())),
            ("random", n_hf - hf_mask - hf_keep,
             n_ours - int((our_in == vocab.special.mask).sum()) - int((our_in == our_orig).sum()))):
        p1, p2 = hf_count / n_hf, our_count / n_ours
        pooled = (hf_count + our_count) / (n_hf + n_ours)
        within(p1 - p2, 0.0, pooled * (1 - pooled) * (1 / n_hf + 1 / n_ours), f"HF vs ours, {name}")
        rates[name] = (p1, p2)
    assert abs(rates["[MASK]"][1] - 0.8) < 0.02


def test_dynamic_masking_collator(unmasked, vocab, tokenizer):
    rows = 1_000
    ids = _padded(unmasked, vocab, rows)
    items = [{"input_ids": ids[r], "attention_mask": (ids[r] != vocab.special.pad).long(),
              "token_type_ids": torch.zeros_like(ids[r])} for r in range(rows)]
    collate = DynamicMasking(tokenizer, SETTINGS, seed=4)
    first, second = collate(items), collate(items)
    assert not torch.equal(first["masked_positions"], second["masked_positions"])   # fresh masks each batch
    again = DynamicMasking(tokenizer, SETTINGS, seed=4)(items)
    assert torch.equal(first["input_ids"], again["input_ids"])                      # seeded
    w = first["masked_weights"] > 0
    pos = first["masked_positions"]
    assert torch.equal(first["masked_ids"][w], ids.gather(1, pos)[w])
    assert not torch.isin(ids.gather(1, pos)[w], torch.tensor([vocab.special.cls, vocab.special.sep,
                                                              vocab.special.pad])).any()
    originals = [(ids[r].tolist(), first["input_ids"][r].tolist(), pos[r][w[r]].tolist()) for r in range(rows)]
    counts, expected, variance = _outcomes(originals, vocab)
    for k, what in enumerate(("[MASK]", "random", "unchanged")):
        within(counts[k], expected[k], variance[k], what)


def test_settings_are_checked():
    with pytest.raises(UserError):
        PretrainingSettings(max_seq_length=4)
    with pytest.raises(UserError):
        PretrainingSettings(mask_token_prob=0.95, random_token_prob=0.1)
    with pytest.raises(UserError):
        create_training_instances([], SETTINGS, None)
    assert Instance([2, 5, 3, 6, 3], [0, 0, 0, 1, 1], False).masked_positions == []


def test_wordpiece_training_is_reproducible(shared_data):
    """HF's trainer numbers the same vocabulary differently from run to run; ours are renumbered (on a
    real corpus the learned set is the same; on a toy one, ties between merges can still change it)."""
    from paperzoo.data.corpora import read_corpus

    texts = [s for d in read_corpus("inaugural", shared_data)[:40] for s in d.sentences]
    first, second = (train_wordpiece(texts, vocab_size=1000).get_vocab() for _ in range(2))
    assert first == second
