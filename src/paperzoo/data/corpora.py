r"""Running-text corpora, kept as documents: NLTK's Brown, webtext, State of the Union, inaugural
addresses and ABC news, and WikiText-2. Language models train on them (the NCE paper reads Brown);
BERT's pre-training needs *documents* of *sentences* (Devlin et al. 2018, Section 3.1: "it is
critical to use a document-level corpus rather than a shuffled sentence-level corpus"), which is
what every reader here returns.

::

    from paperzoo.data.corpora import read_brown, read_corpus, pretraining_corpus, corpus_sizes
    docs = read_brown()                 # 500 BrownDocuments, 1,161,192 words in 57,340 sentences
    docs[0].fileid, docs[0].category    # ('ca01', 'news')
    docs[0].sentences[0][:3]            # ('The', 'Fulton', 'County')
    abc = read_corpus("abc")            # 3,189 Documents (news stories), sentences as str
    corpus = pretraining_corpus()       # all six corpora: 7,180 documents, 3,047,710 words
    corpus_sizes(corpus)                # {'brown': CorpusSize(documents=500, ...), ...}

All readers take the data root (:func:`~paperzoo.data.root.data_root`: the argument, else
``$PAPERZOO_DATA``) and read the NLTK zips in memory, never unzipping to disk.

**Brown** (Francis & Kučera 1964, revised 1979): ``<root>/nltk/brown.zip`` in NLTK's corpus zip
layout, ``brown/<fileid>`` (500 documents, ca01 to cr09, 15 genres listed in ``brown/cats.txt``),
each a run of tagged sentences, one per line, ``word/tag`` tokens separated by spaces, paragraphs
separated by blank lines. Words keep their case and punctuation; the tag (after the last ``/``, so
``1/2/cd`` is the word ``1/2``) is dropped. The counts are NLTK's (``brown.words()``: 1,161,192);
a copy with other counts raises :class:`~paperzoo.errors.DataError`. :func:`read_brown` returns
:class:`BrownDocument` (sentences as word tuples); :func:`read_corpus` ``("brown")`` returns the
same documents as :class:`Document` (words joined by spaces).

The raw-text corpora (``<root>/nltk/<name>.zip``, NLTK's ``PlaintextCorpusReader`` layout, one
``<name>/*.txt`` member per file, README skipped). What a *document* is, per corpus:

- **webtext** (6 files of web text: a Firefox forum, *Overheard in New York*, two film scripts,
  singles ads, a wine diary): a blank-line-separated block of a file. *Overheard* separates its
  3,125 unrelated conversations by blank lines and the wine diary its 118 tasting sessions; the
  other four files hold no blank lines and are one document each (the Firefox file is 10,000
  short forum posts, one a line, kept as one document: nothing in it marks where a thread ends).
- **state_union** (65 State of the Union addresses, 1945-2006) and **inaugural** (the 59 US
  inaugural addresses, 1789-2021): a file (one speech); blank lines there separate paragraphs.
- **abc** (ABC Australia rural and science news, 2006): a blank-line-separated block, which is
  one story (its first line is the headline or a picture caption, the rest its paragraphs). Some
  rural stories carry sub-headed follow-ups as their own blocks; they count as stories.

Text is decoded as UTF-8 when a file is valid UTF-8, else as Latin-1 (every byte is a character,
so nothing fails; NLTK declares Latin-1 or ISO-8859-2 for these corpora, which garbles the few
UTF-8 files such as the 2013-2021 inaugurals). Some files hold mojibake from their sources (Big5
dashes and quotes in Nixon's addresses and Bush's 2005 inaugural, doubly encoded characters in
ABC rural); it is kept as is.

**WikiText-2** (Merity et al. 2016, the tokenised ``wikitext-2-v1`` release with ``<unk>``):
``<root>/wikitext-2/wiki.{train,valid,test}.tokens``. An article starts at a level-1 heading
line `` = Title = ``; `` = = Section = = `` and deeper headings are sections inside it and are
dropped (the title is kept as :attr:`Document.name`). Only valid and test are in the project's
shared copy, so they are the default (`splits`). The release splits numbers and hyphenated words
with ``@-@``, ``@,@`` and ``@.@``; they are joined back (``1 @,@ 000`` -> ``1,000``, so a
WordPiece vocabulary does not learn ``@`` pieces) unless ``join_at_markers=False``. ``<unk>``
is kept (a BERT tokenizer turns it into ``<``, ``un``, ``##k``, ``>``) unless `unk` names a
replacement (``"[UNK]"``: a special token, mapped to the unknown id before normalisation).

**Sentences.** Brown comes split into sentences. The other corpora are raw paragraphs, one a
line; :func:`split_sentences` cuts each line with a rule (NLTK's Punkt is not a dependency): a
sentence ends at ``.``, ``!`` or ``?`` (with any closing quotes or brackets after it) followed
by white space and an upper-case letter, a digit or an opening quote or bracket, except after a
common abbreviation (Mr., Dr., St., Jan., etc.) or an initial (``H.``, ``U.S.``). Its limits: a
sentence that starts in lower case is not split off; "in the U.S. The ..." is not split; an
abbreviation not in the list ("approx. Ten") splits wrongly; headlines, script directions and
ads without final punctuation stay one "sentence" per line. BERT only needs sentence boundaries
as candidate cut points for its A/B segments, so these errors move a cut point, nothing more.

**Sizes** (:func:`corpus_sizes`; words are white-space-separated tokens of the stored sentences:
Brown and WikiText-2 are pre-tokenised, so their counts include punctuation, the raw corpora's
do not), measured on the project's shared copies:

============  =========  =========  =========  ===============
corpus        documents  sentences  words      NLTK ``words()``
============  =========  =========  =========  ===============
brown               500     57,340  1,161,192        1,161,192
webtext           3,247     36,097    300,502          396,736
state_union          65     18,221    349,711          400,168
inaugural            59      5,237    138,096          152,901
abc               3,189     33,036    663,964          766,811
wikitext-2          120     15,496    434,245
total             7,180    165,427  3,047,710
============  =========  =========  =========  ===============

(WikiText-2: 60 valid articles, 7,178 sentences, 204,347 words; 60 test articles, 8,318
sentences, 229,898 words.) The last column counts as NLTK's ``PlaintextCorpusReader.words()``
does (``\w+|[^\w\s]+`` runs, so punctuation counts), for comparison.

:func:`pretraining_corpus` concatenates them (never the sentence-classification sets, which are
evaluation data). The download functions fetch the official files for users with a network:
:func:`download_nltk_corpus` (and :func:`download_brown`) from NLTK's data repository, with the
SHA-256 of the project's shared copies, which are the unmodified zips of the nltk_data
collection (no published digest was found to check them against); :func:`download_wikitext2`
from the Salesforce release, checked against gluon-nlp's published SHA-1 of each file (which the
shared valid and test copies match).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UserError, unknown_name
from ._io import REDOWNLOAD, ZIP_ERRORS, MissingDataError, _read_zip_entry, read_decompressed
from .root import data_root

__all__ = [
    "BROWN_DOCUMENTS",
    "BROWN_SENTENCES",
    "BROWN_WORDS",
    "CORPUS_SIZES",
    "NLTK_CORPORA",
    "PRETRAINING_CORPORA",
    "WIKITEXT2_SPLITS",
    "BrownDocument",
    "CorpusSize",
    "Document",
    "corpus_sizes",
    "download_brown",
    "download_nltk_corpus",
    "download_wikitext2",
    "pretraining_corpus",
    "read_abc",
    "read_brown",
    "read_corpus",
    "read_inaugural",
    "read_state_union",
    "read_webtext",
    "read_wikitext2",
    "split_sentences",
]

NLTK_FOLDER = "nltk"
NLTK_URL = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/{name}.zip"
#: SHA-256 of NLTK's corpus zips: those of the project's shared copies (unmodified nltk_data zips).
NLTK_CORPORA: dict[str, str] = {
    "brown": "9b275f9b3b95d7bd66ccfb7cd259f445a13bbe5d1f4107aba09fd3e8364bafa6",
    "webtext": "9e32dbae4879464b8f420a0dc721855bb26167b720d7695588d2ca2aeadf501a",
    "state_union": "366c1dc82b2abf896f42b2ec50ba802a0141a29f75d29ca48a7a243ce5bfbe8d",
    "inaugural": "7c5fb5793e31fbeae12bf1aa0ffda5336468f07cedb50654c6d31ca384e2046b",
    "abc": "129bb6001beb828049a90a59b7dd3c2f0594a47012e48fc5177dfae38e658565",
}
BROWN_FOLDER, BROWN_ZIP = NLTK_FOLDER, "brown.zip"
BROWN_URL = NLTK_URL.format(name="brown")
BROWN_SHA256 = NLTK_CORPORA["brown"]
#: NLTK's counts: len(brown.fileids()), len(brown.sents()), len(brown.words()).
BROWN_DOCUMENTS, BROWN_SENTENCES, BROWN_WORDS = 500, 57_340, 1_161_192
#: Largest document read (the largest is about 20 kB): a damaged member fails before it fills memory.
MAX_BROWN_MEMBER_BYTES = 4 << 20
#: Largest raw-text member or WikiText-2 file read (ABC science is 2.2 MB, wiki.train.tokens 10.8 MB).
MAX_TEXT_BYTES = 64 << 20

WIKITEXT2_FOLDER = "wikitext-2"
WIKITEXT2_SPLITS: tuple[str, ...] = ("train", "valid", "test")
#: The release's archive (Merity et al. 2016), first its original host, then the current one.
WIKITEXT2_URLS = ("https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip",
                  "https://wikitext.smerity.com/wikitext-2-v1.zip")
#: SHA-256 of wikitext-2-v1.zip as registered by an independent project (Julia's CorpusLoaders
#: data dependency, found through code search); not checked here (the archive is not shared).
WIKITEXT2_ZIP_SHA256 = "92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c"
#: SHA-1 of each file of the archive as gluon-nlp publishes them; valid and test equal the shared copies'.
WIKITEXT2_SHA1: dict[str, str] = {
    "train": "863f29c46ef9d167fff4940ec821195882fe29d1",
    "valid": "0418625c8b4da6e4b5c7a0b9e78d4ae8f7ee5422",
    "test": "c7b8ce0aa086fb34dab808c5c49224211eb2b172",
}

#: The corpora :func:`pretraining_corpus` reads by default, in its order.
PRETRAINING_CORPORA: tuple[str, ...] = ("brown", "webtext", "state_union", "inaugural", "abc", "wikitext-2")


@dataclass(frozen=True)
class CorpusSize:
    documents: int
    sentences: int
    words: int


#: Sizes measured on the project's shared copies (WikiText-2: valid + test, markers joined).
CORPUS_SIZES: dict[str, CorpusSize] = {
    "brown": CorpusSize(500, 57_340, 1_161_192),
    "webtext": CorpusSize(3_247, 36_097, 300_502),
    "state_union": CorpusSize(65, 18_221, 349_711),
    "inaugural": CorpusSize(59, 5_237, 138_096),
    "abc": CorpusSize(3_189, 33_036, 663_964),
    "wikitext-2": CorpusSize(120, 15_496, 434_245),
}


# --- documents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrownDocument:
    """One Brown document: its NLTK file id (``ca01``), genre (``news``) and sentences of words."""

    fileid: str
    category: str
    sentences: tuple[tuple[str, ...], ...]

    @property
    def words(self) -> int:
        return sum(len(s) for s in self.sentences)


@dataclass(frozen=True)
class Document:
    """One document of a corpus: the corpus (``source``: ``abc``), its name there (a file id,
    ``science.txt#12`` for the 12th story of a file, an article title) and its sentences, each a
    non-empty string. A document has at least one sentence."""

    source: str
    name: str
    sentences: tuple[str, ...]

    @property
    def words(self) -> int:
        """White-space-separated tokens in the sentences."""
        return sum(len(s.split()) for s in self.sentences)


def corpus_sizes(documents: Iterable[Document]) -> dict[str, CorpusSize]:
    """Documents, sentences and words of each source in `documents`, plus ``"total"``."""
    counts: dict[str, list[int]] = {}
    for doc in documents:
        c = counts.setdefault(doc.source, [0, 0, 0])
        c[0] += 1
        c[1] += len(doc.sentences)
        c[2] += doc.words
    sizes = {source: CorpusSize(*c) for source, c in counts.items()}
    sizes["total"] = CorpusSize(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return sizes


# --- sentence splitting ----------------------------------------------------------------------

#: Words that end in a full stop without ending a sentence (lower case, without the stop).
_ABBREVIATIONS = frozenset("""mr mrs ms messrs dr prof rev hon st sr jr mt ft gen col lt capt sgt maj adm gov
sen rep pres supt cf vs etc no nos vol pp fig jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co corp
bros dept univ assn ave blvd""".split())
#: A candidate end: terminal punctuation, closing quotes or brackets, white space, then a capital,
#: a digit or an opening quote or bracket.
_BOUNDARY = re.compile(r"""[.!?]+["')\]]*(?=\s+["'(\[`]*[A-Z0-9])""")


def split_sentences(text: str) -> list[str]:
    """The sentences of one paragraph of raw text, by the rule in the module docstring: cut after
    ``.``/``!``/``?`` (and closing quotes or brackets) before white space and a capital, digit or
    opening quote, unless the word before a ``.`` is a listed abbreviation or an initial
    (``H.``, ``U.S.``). White space is normalised to single spaces; nothing is dropped."""
    text = " ".join(text.split())
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if text[match.start()] == ".":
            word = text[text.rfind(" ", start, match.start()) + 1:match.start()]
            stem = word.lstrip("\"'([`").lower()
            if stem in _ABBREVIATIONS or (len(stem) == 1 and stem.isalpha()) or re.fullmatch(r"(\w\.)+\w", stem):
                continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _paragraph_sentences(lines: Iterable[str]) -> tuple[str, ...]:
    """Each non-blank line is a paragraph; the sentences of all of them in order."""
    return tuple(s for line in lines if line.strip() for s in split_sentences(line))


# --- Brown -----------------------------------------------------------------------------------


def _parse_document(text: str, where: str) -> tuple[tuple[str, ...], ...]:
    sentences = []
    for number, line in enumerate(text.split("\n"), 1):
        tokens = line.split()
        if not tokens:
            continue
        words = []
        for token in tokens:
            word, slash, tag = token.rpartition("/")
            if not slash or not word or not tag:
                raise DataError(f"{where} line {number}: expected word/tag tokens, got {token[:40]!r}; {REDOWNLOAD}")
            words.append(word)
        sentences.append(tuple(words))
    return tuple(sentences)


def _nltk_zip(root: str | os.PathLike | None, name: str) -> Path:
    path = data_root(root) / NLTK_FOLDER / f"{name}.zip"
    if not path.is_file():
        download = "download_brown()" if name == "brown" else f"download_nltk_corpus({name!r})"
        raise MissingDataError(f"{path}: file not found; run `paperzoo.data.corpora.{download}` with a "
                               f"network, or place NLTK's {name}.zip there")
    return path


def read_brown(root: str | os.PathLike | None = None) -> tuple[BrownDocument, ...]:
    """The 500 documents of ``<root>/nltk/brown.zip``, in file-id order (genre by genre)."""
    path = _nltk_zip(root, "brown")
    try:
        with zipfile.ZipFile(path) as archive:
            cats = _read_zip_entry(archive, path, "brown/cats.txt", MAX_BROWN_MEMBER_BYTES, "").decode("ascii")
            categories = dict(line.split()[:2] for line in cats.splitlines() if line.strip())
            docs = []
            for fileid, category in sorted(categories.items()):
                raw = _read_zip_entry(archive, path, f"brown/{fileid}", MAX_BROWN_MEMBER_BYTES,
                                      "the most a Brown document may hold")
                docs.append(BrownDocument(fileid, category, _parse_document(raw.decode("ascii"),
                                                                            f"{path}:brown/{fileid}")))
    except KeyError as e:
        raise DataError(f"{path}: archive lacks {e}; it is incomplete or not NLTK's brown.zip; {REDOWNLOAD}") from None
    except (zipfile.BadZipFile, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"{path}: damaged or not NLTK's brown.zip ({e}); {REDOWNLOAD}") from e
    counts = (len(docs), sum(len(d.sentences) for d in docs), sum(d.words for d in docs))
    if counts != (BROWN_DOCUMENTS, BROWN_SENTENCES, BROWN_WORDS):
        raise DataError(f"{path}: {counts[0]} documents, {counts[1]} sentences, {counts[2]} words; NLTK's Brown "
                        f"has {BROWN_DOCUMENTS}, {BROWN_SENTENCES:,} and {BROWN_WORDS:,}; {REDOWNLOAD}")
    return tuple(docs)


def _brown_documents(root: str | os.PathLike | None = None) -> tuple[Document, ...]:
    return tuple(Document("brown", d.fileid, tuple(" ".join(s) for s in d.sentences)) for d in read_brown(root))


# --- raw-text NLTK corpora -------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    """UTF-8 if valid, else Latin-1 (see the module docstring); ``\\r\\n`` becomes ``\\n``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_text_members(root: str | os.PathLike | None, name: str) -> list[tuple[str, str]]:
    """(file name, text) of every ``<name>/*.txt`` member of ``<root>/nltk/<name>.zip``, sorted."""
    path = _nltk_zip(root, name)
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(m for m in archive.namelist()
                             if m.startswith(f"{name}/") and m.endswith(".txt") and "/." not in m)
            texts = [(m.removeprefix(f"{name}/"),
                      _decode(_read_zip_entry(archive, path, m, MAX_TEXT_BYTES, "the most a corpus file may hold")))
                     for m in members]
    except ZIP_ERRORS as e:
        raise DataError(f"{path}: damaged or not NLTK's {name}.zip ({e}); {REDOWNLOAD}") from e
    if not texts:
        raise DataError(f"{path}: no {name}/*.txt files; it is not NLTK's {name}.zip; {REDOWNLOAD}")
    return texts


_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")


def _block_documents(source: str, texts: list[tuple[str, str]]) -> tuple[Document, ...]:
    """A document per blank-line-separated block of each file; a file of one block keeps its name."""
    docs = []
    for fileid, text in texts:
        blocks = [sentences for block in _BLANK_LINE.split(text)
                  if (sentences := _paragraph_sentences(block.split("\n")))]
        for number, sentences in enumerate(blocks, 1):
            docs.append(Document(source, fileid if len(blocks) == 1 else f"{fileid}#{number}", sentences))
    return tuple(docs)


def _file_documents(source: str, texts: list[tuple[str, str]]) -> tuple[Document, ...]:
    docs = (Document(source, fileid, _paragraph_sentences(text.split("\n"))) for fileid, text in texts)
    return tuple(d for d in docs if d.sentences)


def read_webtext(root: str | os.PathLike | None = None) -> tuple[Document, ...]:
    """NLTK's webtext: a document per blank-line-separated block of each of its 6 files (3,247)."""
    return _block_documents("webtext", _read_text_members(root, "webtext"))


def read_state_union(root: str | os.PathLike | None = None) -> tuple[Document, ...]:
    """NLTK's State of the Union addresses 1945-2006: a document per address (65)."""
    return _file_documents("state_union", _read_text_members(root, "state_union"))


def read_inaugural(root: str | os.PathLike | None = None) -> tuple[Document, ...]:
    """NLTK's US presidential inaugural addresses: a document per address (59, 1789-2021)."""
    return _file_documents("inaugural", _read_text_members(root, "inaugural"))


def read_abc(root: str | os.PathLike | None = None) -> tuple[Document, ...]:
    """NLTK's ABC (Australian Broadcasting Commission) rural and science news, 2006: a document
    per blank-line-separated story (3,189: 2,425 rural, 764 science)."""
    return _block_documents("abc", _read_text_members(root, "abc"))


# --- WikiText-2 ------------------------------------------------------------------------------

_HEADING = re.compile(r" = (?!= )(.+?) = ")
_AT_MARKER = re.compile(r" @([-,.])@ ")


def _wikitext_articles(text: str, where: str, *, join_at_markers: bool,
                       unk: str | None) -> list[Document]:
    articles: list[Document] = []
    title, sentences = None, []

    def close() -> None:
        if title is not None and sentences:
            articles.append(Document("wikitext-2", title, tuple(sentences)))

    lines = text.split("\n")
    for number, line in enumerate(lines):
        if join_at_markers:
            line = _AT_MARKER.sub(r"\1", line)
        if unk is not None:
            line = line.replace("<unk>", unk)
        # A heading has a blank line on each side: `` = 1 rad / s and ... = `` inside a paragraph
        # is a broken equation, not a title.
        blank_around = ((number == 0 or not lines[number - 1].strip())
                        and (number + 1 == len(lines) or not lines[number + 1].strip()))
        if blank_around and (heading := _HEADING.fullmatch(line)):
            close()
            title, sentences = heading.group(1), []
        elif blank_around and line.lstrip().startswith("= ") and line.rstrip().endswith(" ="):
            continue  # a section heading, `` = = Sub = = `` or deeper
        elif line.strip():
            if title is None:
                raise DataError(f"{where}: text before the first ` = Title = ` heading; it is not a WikiText "
                                f"file; {REDOWNLOAD}")
            sentences.extend(split_sentences(line))
    close()
    if not articles:
        raise DataError(f"{where}: no ` = Title = ` article headings; it is not a WikiText file; {REDOWNLOAD}")
    return articles


def read_wikitext2(root: str | os.PathLike | None = None, *, splits: Sequence[str] = ("valid", "test"),
                   join_at_markers: bool = True, unk: str | None = None) -> tuple[Document, ...]:
    """The articles of WikiText-2's `splits` (``<root>/wikitext-2/wiki.<split>.tokens``), split by
    split in file order: 60 valid and 60 test articles. See the module docstring for the
    ``@-@`` markers (`join_at_markers`) and ``<unk>`` (`unk`: its replacement, or None to keep it)."""
    docs: list[Document] = []
    for split in splits:
        if split not in WIKITEXT2_SPLITS:
            raise unknown_name("WikiText-2 split", split, WIKITEXT2_SPLITS, f"Splits: {', '.join(WIKITEXT2_SPLITS)}.")
        path = data_root(root) / WIKITEXT2_FOLDER / f"wiki.{split}.tokens"
        try:
            raw = read_decompressed(path, MAX_TEXT_BYTES, "the most a WikiText-2 file may hold")
        except MissingDataError as e:
            raise MissingDataError(f"{e}; run `paperzoo.data.corpora.download_wikitext2()` with a network, or "
                                   f"place the release's wiki.{split}.tokens there") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text ({e}); {REDOWNLOAD}") from e
        docs.extend(_wikitext_articles(text, str(path), join_at_markers=join_at_markers, unk=unk))
    return tuple(docs)


# --- all of them -----------------------------------------------------------------------------

_READERS: dict[str, Callable[[str | os.PathLike | None], tuple[Document, ...]]] = {
    "brown": _brown_documents,
    "webtext": read_webtext,
    "state_union": read_state_union,
    "inaugural": read_inaugural,
    "abc": read_abc,
    "wikitext-2": read_wikitext2,
}


def read_corpus(name: str, root: str | os.PathLike | None = None) -> tuple[Document, ...]:
    """The documents of corpus `name` (one of :data:`PRETRAINING_CORPORA`) with default settings."""
    if name not in _READERS:
        raise unknown_name("corpus", name, _READERS, f"Corpora: {', '.join(_READERS)}.")
    return _READERS[name](root)


def pretraining_corpus(root: str | os.PathLike | None = None, *,
                       corpora: Sequence[str] = PRETRAINING_CORPORA,
                       wikitext_unk: str | None = None) -> tuple[Document, ...]:
    """The documents of `corpora`, corpus by corpus in the given order, each tagged with its
    :attr:`Document.source`: by default all six (7,180 documents, about 3.05 M words; see the
    module docstring). `wikitext_unk` replaces WikiText-2's ``<unk>`` (``"[UNK]"`` for BERT).
    Sentence-classification sets are never part of it."""
    if not corpora:
        raise UserError(f"no corpora named; choose from {', '.join(PRETRAINING_CORPORA)}")
    docs: list[Document] = []
    for name in corpora:
        if name == "wikitext-2":
            docs.extend(read_wikitext2(root, unk=wikitext_unk))
        else:
            docs.extend(read_corpus(name, root))
    return tuple(docs)


# --- downloads -------------------------------------------------------------------------------


def download_nltk_corpus(name: str, root: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Fetch NLTK's ``<name>.zip`` (one of :data:`NLTK_CORPORA`) into ``<root>/nltk/``, checking its
    SHA-256; a file already there with the right digest is kept."""
    from .download import download_file, sha256_file  # noqa: PLC0415  (tqdm, urllib: on use only)

    if name not in NLTK_CORPORA:
        raise unknown_name("NLTK corpus", name, NLTK_CORPORA, f"Corpora: {', '.join(NLTK_CORPORA)}.")
    dest = data_root(root) / NLTK_FOLDER / f"{name}.zip"
    if dest.is_file() and sha256_file(dest) == NLTK_CORPORA[name]:
        return dest
    return download_file(NLTK_URL.format(name=name), dest, sha256=NLTK_CORPORA[name], progress=progress)


def download_brown(root: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Fetch NLTK's brown.zip into ``<root>/nltk/`` (kept if present with the right digest)."""
    return download_nltk_corpus("brown", root, progress=progress)


def download_wikitext2(root: str | os.PathLike | None = None, *, progress: bool = True) -> list[Path]:
    """Fetch ``wikitext-2-v1.zip`` (checking its SHA-256) and write its three ``wiki.*.tokens``
    files into ``<root>/wikitext-2/``, each checked against gluon-nlp's published SHA-1; files
    already there with the right SHA-1 are kept, and the archive is deleted afterwards."""
    import hashlib  # noqa: PLC0415

    from ._io import atomic_write  # noqa: PLC0415
    from .download import download_file  # noqa: PLC0415  (tqdm, urllib: on use only)

    folder = data_root(root) / WIKITEXT2_FOLDER
    dests = {split: folder / f"wiki.{split}.tokens" for split in WIKITEXT2_SPLITS}

    def sha1(data: bytes) -> str:
        return hashlib.sha1(data, usedforsecurity=False).hexdigest()

    if all(p.is_file() and sha1(p.read_bytes()) == WIKITEXT2_SHA1[s] for s, p in dests.items()):
        return list(dests.values())
    archive = folder / "wikitext-2-v1.zip"
    errors = []
    for url in WIKITEXT2_URLS:
        try:
            download_file(url, archive, sha256=WIKITEXT2_ZIP_SHA256, progress=progress)
            break
        except DataError as e:
            errors.append(str(e))
    else:
        raise DataError(f"{archive}: could not download WikiText-2 ({'; '.join(errors)}). Without a network, "
                        f"fetch {WIKITEXT2_URLS[-1]} elsewhere and place its wiki.*.tokens files in {folder}")
    try:
        with zipfile.ZipFile(archive) as z:
            for split, dest in dests.items():
                data = _read_zip_entry(z, archive, f"wikitext-2/wiki.{split}.tokens", MAX_TEXT_BYTES, "")
                if sha1(data) != WIKITEXT2_SHA1[split]:
                    raise DataError(f"{archive}: wiki.{split}.tokens has SHA-1 {sha1(data)}, expected "
                                    f"{WIKITEXT2_SHA1[split]}; {REDOWNLOAD}")
                atomic_write(dest, lambda f, data=data: f.write(data))
    except KeyError as e:
        raise DataError(f"{archive}: archive lacks {e}; it is not wikitext-2-v1.zip; {REDOWNLOAD}") from None
    finally:
        archive.unlink(missing_ok=True)
    return list(dests.values())
