"""The document readers of paperzoo.data.corpora on the shared NLTK zips and WikiText-2 (Brown's own
tests are in test_nce.py), the sentence splitter, and the readers' errors on damaged files."""

from __future__ import annotations

import hashlib
import re
import zipfile

import pytest

from paperzoo.data._io import MissingDataError
from paperzoo.data.corpora import (
    CORPUS_SIZES,
    NLTK_CORPORA,
    PRETRAINING_CORPORA,
    WIKITEXT2_SHA1,
    corpus_sizes,
    download_nltk_corpus,
    pretraining_corpus,
    read_abc,
    read_corpus,
    read_webtext,
    read_wikitext2,
    split_sentences,
)
from paperzoo.errors import DataError, UserError

#: Words (white-space tokens) per corpus: the measured count, and the range any sane reading of the
#: same files must fall in (NLTK's ``words()`` counts punctuation apart, so it is larger).
WORD_RANGES = {"brown": (1_161_192, 1_161_192), "webtext": (250_000, 400_000), "state_union": (330_000, 400_000),
               "inaugural": (130_000, 153_000), "abc": (640_000, 770_000), "wikitext-2": (420_000, 450_000)}


@pytest.fixture(scope="module")
def corpus(shared_data):
    return pretraining_corpus(shared_data)


@pytest.mark.parametrize("name", PRETRAINING_CORPORA)
def test_each_corpus_has_its_documents_and_words(shared_data, name):
    docs = read_corpus(name, shared_data)
    size = corpus_sizes(docs)[name]
    assert (size.documents, size.words) == (CORPUS_SIZES[name].documents, CORPUS_SIZES[name].words)
    assert WORD_RANGES[name][0] <= size.words <= WORD_RANGES[name][1]
    # the splitter may change; the sentence count stays near the measured one
    assert abs(size.sentences - CORPUS_SIZES[name].sentences) <= 0.05 * CORPUS_SIZES[name].sentences
    assert all(d.source == name for d in docs)
    assert len({d.name for d in docs}) == len(docs) or name == "wikitext-2"   # articles may share titles
    for doc in docs:   # nothing empty, no stray white space
        assert doc.sentences, doc.name
        assert all(s and s == " ".join(s.split()) for s in doc.sentences), doc.name


def test_pretraining_corpus_is_the_six_corpora_in_order(corpus):
    sizes = corpus_sizes(corpus)
    assert list(sizes) == [*PRETRAINING_CORPORA, "total"]
    assert sizes["total"].documents == sum(CORPUS_SIZES[n].documents for n in PRETRAINING_CORPORA) == 7_180
    assert sizes["total"].words == sum(CORPUS_SIZES[n].words for n in PRETRAINING_CORPORA) == 3_047_710
    sources = [d.source for d in corpus]
    assert sources == sorted(sources, key=PRETRAINING_CORPORA.index)   # corpus by corpus
    assert {d.source for d in corpus} == set(PRETRAINING_CORPORA)      # never a sentence-classification set


def test_pretraining_corpus_subset_and_unk(shared_data):
    docs = pretraining_corpus(shared_data, corpora=("inaugural", "wikitext-2"), wikitext_unk="[UNK]")
    assert {d.source for d in docs} == {"inaugural", "wikitext-2"}
    wiki = [s for d in docs if d.source == "wikitext-2" for s in d.sentences]
    assert not any("<unk>" in s for s in wiki) and sum("[UNK]" in s for s in wiki) > 1000
    with pytest.raises(UserError, match="unknown corpus"):
        pretraining_corpus(shared_data, corpora=("sst2",))
    with pytest.raises(UserError):
        pretraining_corpus(shared_data, corpora=())


def test_wikitext2_articles_start_at_level1_headings(shared_data):
    text = (shared_data / "wikitext-2" / "wiki.valid.tokens").read_text(encoding="utf-8")
    lines = text.split("\n")
    headings = [m.group(1) for i, line in enumerate(lines) if (m := re.fullmatch(r" = (?!= )(.+?) = ", line))
                and not lines[i - 1].strip() and not lines[i + 1].strip()]
    valid = read_wikitext2(shared_data, splits=("valid",), join_at_markers=False)
    assert [d.name for d in valid] == headings and len(valid) == 60
    assert valid[0].name == "Homarus gammarus"
    assert valid[0].sentences[0].startswith("Homarus gammarus , known as the European lobster")
    assert len(read_wikitext2(shared_data, splits=("test",))) == 60
    sections = {line.strip() for i, line in enumerate(lines) if line.startswith(" = = ")
                and not lines[i - 1].strip() and not lines[i + 1].strip()}
    assert len(sections) > 300 and "= = Description = =" in sections
    for doc in valid:   # section headings are dropped
        assert not sections & set(doc.sentences), doc.name
    for doc in read_wikitext2(shared_data):   # the @-@ markers are joined
        assert not any(re.search(r" @[-,.]@ ", s) for s in doc.sentences)
    # the release's number and hyphen markers are joined
    joined = " ".join(read_wikitext2(shared_data, splits=("valid",))[2].sentences)
    assert "M-82" in joined and "@-@" not in joined
    # `` = 1 rad / s ... = `` inside a paragraph of the test split is an equation, not a title
    assert not any(d.name.startswith("1 ") for d in read_wikitext2(shared_data, splits=("test",)))


def test_document_boundaries(shared_data):
    abc = read_abc(shared_data)
    assert sum(d.name.startswith("rural.txt#") for d in abc) == 2_425
    assert sum(d.name.startswith("science.txt#") for d in abc) == 764
    assert abc[0].sentences[0] == "PM denies knowledge of AWB kickbacks"   # a story opens with its headline
    web = read_webtext(shared_data)
    names = {d.name.split("#")[0] for d in web}
    assert names == {"firefox.txt", "grail.txt", "overheard.txt", "pirates.txt", "singles.txt", "wine.txt"}
    assert sum(d.name.startswith("overheard.txt#") for d in web) > 3_000      # one conversation each
    assert [d.name for d in web if d.name.startswith("grail")] == ["grail.txt"]  # a script is one document
    inaugural = read_corpus("inaugural", shared_data)
    assert inaugural[0].name == "1789-Washington.txt" and inaugural[-1].name == "2021-Biden.txt"
    assert "\u2014" in " ".join(inaugural[-1].sentences)   # UTF-8 files are read as UTF-8 (an em dash)


def test_split_sentences():
    assert split_sentences("It rained. Mr. Smith left at 5 p.m. today! Did he? \"Yes.\" (Maybe.) Then 3 more.") == [
        "It rained.", "Mr. Smith left at 5 p.m. today!", "Did he?", "\"Yes.\"", "(Maybe.)", "Then 3 more."]
    # initials and dotted abbreviations are no boundary; a lower-case start is not split off (a stated limit)
    assert split_sentences("J. R. R. Tolkien wrote in the U.S. Army days. then it ended.") == [
        "J. R. R. Tolkien wrote in the U.S. Army days. then it ended."]
    # pre-tokenised text (WikiText): the stop stands alone
    assert split_sentences("It is related to the American lobster , H. americanus . It may grow .") == [
        "It is related to the American lobster , H. americanus .", "It may grow ."]
    assert split_sentences("  no   final stop  ") == ["no final stop"]
    assert split_sentences("   ") == []


def test_shared_copies_have_the_recorded_digests(shared_data):
    """The download digests are those of the shared copies (the downloads themselves never run here)."""
    for name, sha256 in NLTK_CORPORA.items():
        assert hashlib.sha256((shared_data / "nltk" / f"{name}.zip").read_bytes()).hexdigest() == sha256, name
    for split in ("valid", "test"):
        data = (shared_data / "wikitext-2" / f"wiki.{split}.tokens").read_bytes()
        assert hashlib.sha1(data, usedforsecurity=False).hexdigest() == WIKITEXT2_SHA1[split]


def test_download_keeps_a_file_with_the_right_digest(shared_data, tmp_path):
    (tmp_path / "nltk").mkdir()
    dest = tmp_path / "nltk" / "inaugural.zip"
    dest.write_bytes((shared_data / "nltk" / "inaugural.zip").read_bytes())
    assert download_nltk_corpus("inaugural", tmp_path, progress=False) == dest   # no network needed
    with pytest.raises(UserError, match="unknown NLTK corpus"):
        download_nltk_corpus("movie_review", tmp_path)


def test_readers_reject_missing_and_damaged_files(tmp_path):
    with pytest.raises(MissingDataError, match="download_nltk_corpus\\('abc'\\)"):
        read_abc(tmp_path)
    with pytest.raises(MissingDataError, match="download_wikitext2"):
        read_wikitext2(tmp_path)
    (tmp_path / "nltk").mkdir()
    (tmp_path / "nltk" / "abc.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="abc.zip"):
        read_abc(tmp_path)
    with zipfile.ZipFile(tmp_path / "nltk" / "webtext.zip", "w") as z:
        z.writestr("webtext/README", "no texts\n")
    with pytest.raises(DataError, match="no webtext/"):
        read_webtext(tmp_path)
    (tmp_path / "wikitext-2").mkdir()
    (tmp_path / "wikitext-2" / "wiki.valid.tokens").write_text(" \n Text before any title .\n", encoding="utf-8")
    with pytest.raises(DataError, match="before the first"):
        read_wikitext2(tmp_path, splits=("valid",))
    with pytest.raises(UserError, match="unknown WikiText-2 split"):
        read_wikitext2(tmp_path, splits=("dev",))


def test_block_documents_on_a_small_zip(tmp_path):
    (tmp_path / "nltk").mkdir()
    with zipfile.ZipFile(tmp_path / "nltk" / "abc.zip", "w") as z:
        z.writestr("abc/README", "ignored\n")
        z.writestr("abc/rural.txt",
                   "Headline one\nFirst story. It ends here.\n\nHeadline two\r\nSecond story.\r\n\n \n")
        z.writestr("abc/science.txt", "Caf\xe9 science. Done.\n".encode("latin-1"))
    docs = read_abc(tmp_path)
    assert [(d.name, d.sentences) for d in docs] == [
        ("rural.txt#1", ("Headline one", "First story.", "It ends here.")),
        ("rural.txt#2", ("Headline two", "Second story.")),
        ("science.txt", ("Caf\xe9 science.", "Done.")),   # not UTF-8: read as Latin-1
    ]
