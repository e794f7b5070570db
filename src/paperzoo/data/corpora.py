"""Word-level corpora for language models: the Brown corpus of NLTK's data collection.

::

    from paperzoo.data.corpora import read_brown
    docs = read_brown()                 # 500 BrownDocuments, 1,161,192 words in 57,340 sentences
    docs[0].fileid, docs[0].category    # ('ca01', 'news')
    docs[0].sentences[0][:3]            # ('The', 'Fulton', 'County')

**Brown** (Francis & Kučera 1964, revised 1979): ``<root>/nltk/brown.zip`` in NLTK's corpus zip
layout, ``brown/<fileid>`` (500 documents, ca01 to cr09, 15 genres listed in ``brown/cats.txt``),
each a run of tagged sentences, one per line, ``word/tag`` tokens separated by spaces, paragraphs
separated by blank lines. Words keep their case and punctuation; the tag (after the last ``/``, so
``1/2/cd`` is the word ``1/2``) is dropped. The counts are NLTK's (``brown.words()``: 1,161,192);
a copy with other counts raises :class:`~paperzoo.errors.DataError`.

:func:`download_brown` fetches the zip from NLTK's data repository for users with a network. Its
SHA-256 is that of the project's shared copy, which is the unmodified zip of the nltk_data
collection; no published digest could be found to check it against.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ._io import REDOWNLOAD, MissingDataError, _read_zip_entry
from .root import data_root

__all__ = ["BROWN_DOCUMENTS", "BROWN_SENTENCES", "BROWN_WORDS", "BrownDocument", "download_brown", "read_brown"]

BROWN_FOLDER, BROWN_ZIP = "nltk", "brown.zip"
BROWN_URL = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/brown.zip"
BROWN_SHA256 = "9b275f9b3b95d7bd66ccfb7cd259f445a13bbe5d1f4107aba09fd3e8364bafa6"
#: NLTK's counts: len(brown.fileids()), len(brown.sents()), len(brown.words()).
BROWN_DOCUMENTS, BROWN_SENTENCES, BROWN_WORDS = 500, 57_340, 1_161_192
#: Largest document read (the largest is about 20 kB): a damaged member fails before it fills memory.
MAX_BROWN_MEMBER_BYTES = 4 << 20


@dataclass(frozen=True)
class BrownDocument:
    """One Brown document: its NLTK file id (``ca01``), genre (``news``) and sentences of words."""

    fileid: str
    category: str
    sentences: tuple[tuple[str, ...], ...]

    @property
    def words(self) -> int:
        return sum(len(s) for s in self.sentences)


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


def read_brown(root: str | os.PathLike | None = None) -> tuple[BrownDocument, ...]:
    """The 500 documents of ``<root>/nltk/brown.zip``, in file-id order (genre by genre)."""
    path = data_root(root) / BROWN_FOLDER / BROWN_ZIP
    if not path.is_file():
        raise MissingDataError(f"{path}: file not found; run `paperzoo.data.corpora.download_brown()` with a "
                               f"network, or place NLTK's brown.zip there")
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


def download_brown(root: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Fetch NLTK's brown.zip into ``<root>/nltk/`` (kept if present with the right digest)."""
    from .download import download_file, sha256_file  # noqa: PLC0415  (tqdm, urllib: on use only)

    dest = data_root(root) / BROWN_FOLDER / BROWN_ZIP
    if dest.is_file() and sha256_file(dest) == BROWN_SHA256:
        return dest
    return download_file(BROWN_URL, dest, sha256=BROWN_SHA256, progress=progress)
