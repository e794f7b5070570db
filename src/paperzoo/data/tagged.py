"""Token-level corpora: CoNLL-2000 chunking and NLTK's Penn Treebank sample (a label per word).

::

    from paperzoo.data.tagged import read_conll2000, read_treebank
    train = read_conll2000("train")          # 8,936 sentences, 211,727 tokens
    train.sentences[0][:2]                   # (('Confidence', 'NN', 'B-NP'), ('in', 'IN', 'B-PP'))
    train.column("chunk")[0][:2]             # ('B-NP', 'B-PP')
    train.labels("chunk")                    # the 22 IOB chunk tags of the training split
    wsj = read_treebank("train")             # the first 3,000 of 3,914 sentences, (word, POS) pairs

Both read NLTK's unmodified corpus zips from ``<data root>/nltk/``, in memory (never extracted).

**CoNLL-2000** (Tjong Kim Sang & Buchholz 2000): ``conll2000.zip`` holds ``conll2000/train.txt``
(WSJ sections 15-18) and ``conll2000/test.txt`` (section 20): one token a line, three fields
separated by spaces, ``word POS chunk`` (the POS tag from the Brill tagger, the chunk tag in IOB2:
``B-NP`` opens a noun phrase, ``I-NP`` continues it, ``O`` is outside every chunk), and a blank
line after each sentence. Counts (NLTK's ``conll2000.chunked_sents``): train 8,936 sentences and
211,727 tokens, test 2,012 and 47,377. The training split has 22 chunk tags and 44 POS tags;
the test split has ``I-LST``, which the training split lacks.

**Penn Treebank sample** (Marcus et al. 1993; about 5% of the WSJ part): ``treebank.zip`` holds
``treebank/combined/wsj_0001.mrg`` .. ``wsj_0199.mrg`` (199 files), bracketed parse trees whose
leaves are ``(TAG word)``; each top-level bracket is one sentence. That is what NLTK's
``treebank.tagged_sents()`` reads (3,914 sentences, 100,676 tokens). The parser here is a small
bracket matcher (NLTK is not a dependency): every innermost ``(TAG word)`` pair is a token, in
order. Empty elements (tag ``-NONE-``: traces such as ``*T*-1`` and the null complementiser
``0``, 6,592 tokens) are dropped, as a tagger never sees them, leaving 94,084 tokens and 45 POS
tags; no sentence becomes empty. The ``tagged/*.pos`` files hold the same tokens but mark
sentences less reliably (blank lines also separate noun-phrase brackets), so they are not used.

Split of the treebank (the sample has none): the first 3,000 sentences (files wsj_0001 to part of
wsj_0137, 72,422 tokens) are ``"train"``, the last 914 (21,662 tokens) ``"test"``, as the common
``tagged_sents()[:3000]`` / ``[3000:]`` split; ``"all"`` is every sentence.

A copy whose counts differ from these raises :class:`~paperzoo.errors.DataError`.
:func:`download_conll2000` and :func:`download_treebank` fetch the zips from NLTK's data
repository for users with a network; the SHA-256 digests are those of the project's shared
copies, the unmodified zips of the nltk_data collection (no published digest could be found).
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UserError
from ._io import REDOWNLOAD, MissingDataError, _read_zip_entry
from .root import data_root

__all__ = ["CONLL2000_COUNTS", "TREEBANK_COUNTS", "TaggedCorpus", "download_conll2000", "download_treebank",
           "read_conll2000", "read_treebank"]

FOLDER = "nltk"
NLTK_CORPORA_URL = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/"
CONLL2000_ZIP, TREEBANK_ZIP = "conll2000.zip", "treebank.zip"
CONLL2000_SHA256 = "01e65164f268366e7caa0db92332a1955d081908c87016e2c7640c3c5279b7cd"
TREEBANK_SHA256 = "9da92d76c3666cfb6cddeaed0f7e86b344cce0f0928a286d439e555f19c37399"
#: split -> (sentences, tokens), NLTK's counts.
CONLL2000_COUNTS = {"train": (8_936, 211_727), "test": (2_012, 47_377)}
#: The whole sample: sentences, tokens with the -NONE- empty elements, tokens without them.
TREEBANK_COUNTS = (3_914, 100_676, 94_084)
TREEBANK_FILES = 199
#: The standard split of the sample: the first 3,000 sentences train, the rest (914) test.
TREEBANK_TRAIN_SENTENCES = 3_000
TREEBANK_SPLITS = ("train", "test", "all")
#: The tag of the Penn Treebank's empty elements (traces, null complementisers), dropped.
EMPTY_ELEMENT = "-NONE-"
#: Largest member read (CoNLL-2000 train.txt is 2.8 MB, a treebank file at most 100 kB), so a
#: damaged or hostile zip fails before it fills memory.
MAX_MEMBER_BYTES = 64 << 20

# A leaf of a bracketed tree: "(TAG word)" with neither part holding a bracket or a space (the
# treebank writes brackets in words as -LRB- / -RRB-).
_LEAF = re.compile(r"\(([^\s()]+)\s+([^\s()]+)\)")
_BRACKET = re.compile(r"[()]")


@dataclass(frozen=True, eq=False)
class TaggedCorpus:
    """Sentences of tagged tokens: each token a tuple of ``columns`` (``("word", "pos", "chunk")``
    for CoNLL-2000, ``("word", "pos")`` for the treebank); ``source`` names the file read."""

    sentences: tuple[tuple[tuple[str, ...], ...], ...]
    columns: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def num_tokens(self) -> int:
        return sum(len(s) for s in self.sentences)

    def column(self, name: str) -> tuple[tuple[str, ...], ...]:
        """One field of every token, sentence by sentence: ``column("word")``, ``column("pos")``."""
        if name not in self.columns:
            raise UserError(f"no column {name!r}; choose {', '.join(self.columns)}")
        i = self.columns.index(name)
        return tuple(tuple(token[i] for token in s) for s in self.sentences)

    def labels(self, name: str) -> tuple[str, ...]:
        """The distinct values of a column, sorted (the tag set of this split)."""
        return tuple(sorted({tag for s in self.column(name) for tag in s}))


def _zip_path(root: str | os.PathLike | None, name: str, download: str) -> Path:
    path = data_root(root) / FOLDER / name
    if not path.is_file():
        raise MissingDataError(f"{path}: file not found; run `paperzoo.data.tagged.{download}()` with a network, "
                               f"or place NLTK's {name} there")
    return path


def _parse_conll(text: str, where: str) -> tuple[tuple[tuple[str, str, str], ...], ...]:
    sentences, current = [], []
    for number, line in enumerate(text.split("\n"), 1):
        fields = line.split()
        if not fields:
            if current:
                sentences.append(tuple(current))
                current = []
            continue
        if len(fields) != 3:
            raise DataError(f"{where} line {number}: expected 'word POS chunk', got {line[:60]!r}; {REDOWNLOAD}")
        current.append((fields[0], fields[1], fields[2]))
    if current:
        sentences.append(tuple(current))
    return tuple(sentences)


def read_conll2000(split: str, root: str | os.PathLike | None = None) -> TaggedCorpus:
    """The ``"train"`` or ``"test"`` split of ``<root>/nltk/conll2000.zip``: (word, POS, chunk) tokens."""
    if split not in CONLL2000_COUNTS:
        raise UserError(f"CoNLL-2000 has no split {split!r}; choose {', '.join(CONLL2000_COUNTS)}")
    path = _zip_path(root, CONLL2000_ZIP, "download_conll2000")
    member = f"conll2000/{split}.txt"
    try:
        with zipfile.ZipFile(path) as archive:
            raw = _read_zip_entry(archive, path, member, MAX_MEMBER_BYTES, "the most a CoNLL-2000 file may hold")
        sentences = _parse_conll(raw.decode("ascii"), f"{path}:{member}")
    except KeyError as e:
        raise DataError(f"{path}: archive lacks {e}; it is incomplete or not NLTK's conll2000.zip; "
                        f"{REDOWNLOAD}") from None
    except (zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise DataError(f"{path}: damaged or not NLTK's conll2000.zip ({e}); {REDOWNLOAD}") from e
    corpus = TaggedCorpus(sentences, ("word", "pos", "chunk"), f"{path}:{member}")
    counts, expected = (len(corpus), corpus.num_tokens), CONLL2000_COUNTS[split]
    if counts != expected:
        raise DataError(f"{path}:{member}: {counts[0]:,} sentences and {counts[1]:,} tokens; NLTK's CoNLL-2000 "
                        f"{split} split has {expected[0]:,} and {expected[1]:,}; {REDOWNLOAD}")
    return corpus


def _parse_trees(text: str, where: str) -> list[list[tuple[str, str]]]:
    """The leaves ``(TAG word)`` of each top-level bracket of a ``.mrg`` file, as (word, TAG)."""
    sentences, depth, start = [], 0, 0
    for m in _BRACKET.finditer(text):
        if m.group() == "(":
            if depth == 0:
                start = m.start()
            depth += 1
        else:
            depth -= 1
            if depth < 0:
                raise DataError(f"{where}: unbalanced ')' at character {m.start()}; {REDOWNLOAD}")
            if depth == 0:
                sentences.append([(word, tag) for tag, word in _LEAF.findall(text, start, m.end())])
    if depth:
        raise DataError(f"{where}: unbalanced '(' (a tree is not closed); {REDOWNLOAD}")
    return sentences


def read_treebank(split: str = "all", root: str | os.PathLike | None = None) -> TaggedCorpus:
    """(word, POS) sentences of ``<root>/nltk/treebank.zip`` (``combined/*.mrg``), ``-NONE-`` empty
    elements dropped; ``split`` is ``"train"`` (the first 3,000 sentences), ``"test"`` (the last
    914) or ``"all"``."""
    if split not in TREEBANK_SPLITS:
        raise UserError(f"the treebank sample has no split {split!r}; choose {', '.join(TREEBANK_SPLITS)}")
    path = _zip_path(root, TREEBANK_ZIP, "download_treebank")
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if re.fullmatch(r"treebank/combined/wsj_\d{4}\.mrg", n))
            trees = []
            for member in members:
                raw = _read_zip_entry(archive, path, member, MAX_MEMBER_BYTES, "the most a treebank file may hold")
                trees += _parse_trees(raw.decode("ascii"), f"{path}:{member}")
    except (zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise DataError(f"{path}: damaged or not NLTK's treebank.zip ({e}); {REDOWNLOAD}") from e
    with_traces = sum(len(t) for t in trees)
    sentences = tuple(tuple(tok for tok in t if tok[1] != EMPTY_ELEMENT) for t in trees)
    counts = (len(sentences), with_traces, sum(len(s) for s in sentences))
    if len(members) != TREEBANK_FILES or counts != TREEBANK_COUNTS or not all(sentences):
        raise DataError(f"{path}: {len(members)} .mrg files, {counts[0]:,} sentences, {counts[1]:,} tokens "
                        f"({counts[2]:,} without -NONE-); NLTK's treebank sample has {TREEBANK_FILES}, "
                        f"{TREEBANK_COUNTS[0]:,}, {TREEBANK_COUNTS[1]:,} ({TREEBANK_COUNTS[2]:,}); {REDOWNLOAD}")
    if split == "train":
        sentences = sentences[:TREEBANK_TRAIN_SENTENCES]
    elif split == "test":
        sentences = sentences[TREEBANK_TRAIN_SENTENCES:]
    return TaggedCorpus(sentences, ("word", "pos"), f"{path}:treebank/combined ({split})")


def _download(name: str, sha256: str, root: str | os.PathLike | None, progress: bool) -> Path:
    from .download import download_file, sha256_file  # noqa: PLC0415  (tqdm, urllib: on use only)

    dest = data_root(root) / FOLDER / name
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    return download_file(NLTK_CORPORA_URL + name, dest, sha256=sha256, progress=progress)


def download_conll2000(root: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Fetch NLTK's conll2000.zip into ``<root>/nltk/`` (kept if present with the right digest)."""
    return _download(CONLL2000_ZIP, CONLL2000_SHA256, root, progress)


def download_treebank(root: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Fetch NLTK's treebank.zip into ``<root>/nltk/`` (kept if present with the right digest)."""
    return _download(TREEBANK_ZIP, TREEBANK_SHA256, root, progress)
