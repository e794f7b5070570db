"""Sentence classification files: one example a line, ``<label> <tokenised sentence>``.

The format of the sentence-level sets of Kim (2014) (SST-2 ``stsa.binary.*``, SST-1, MR, Subj,
TREC, CR, MPQA): an integer label, a space, and the already tokenised and lowercased sentence::

    from paperzoo.data.sentences import load_sentences, Vocabulary, pad_batch
    train = load_sentences("sst2", "train")               # LabelledSentences, 6,920 examples
    vocab = Vocabulary.build(train.tokens, min_freq=2)    # <pad> = 0, <unk> = 1
    tokens, lengths = pad_batch([vocab.encode(s) for s in train.tokens[:32]])   # (32, L), (32,)

Words are split on whitespace, nothing more. The vocabulary comes from the training split only;
unseen words map to ``<unk>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import DataError, UserError
from ._io import read_decompressed
from .root import data_root

__all__ = ["SENTENCE_SETS", "LabelledSentences", "Vocabulary", "length_mask", "load_sentences", "pad_batch",
           "read_sentences"]

#: Largest sentence file read (plain or decompressed), so a damaged or hostile ``.gz`` fails before
#: it fills memory: 200 times the largest of Kim's sets (Subj, 1.3 MB).
MAX_SENTENCE_BYTES = 256 << 20

PAD, UNK = "<pad>", "<unk>"

#: Sets with fixed splits, under ``<data root>/sentence-classification/``: name -> split -> file.
SENTENCE_SETS: dict[str, dict[str, str]] = {
    "sst2": {"train": "stsa.binary.train", "dev": "stsa.binary.dev"},
    "sst1": {"train": "stsa.fine.train", "dev": "stsa.fine.dev"},
    "trec": {"train": "TREC.train.all", "test": "TREC.test.all"},
}
FOLDER = "sentence-classification"


@dataclass(frozen=True, eq=False)
class LabelledSentences:
    """Labels and token lists of one split; ``source`` names the file they were read from."""

    labels: tuple[int, ...]
    tokens: tuple[tuple[str, ...], ...]
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return max(self.labels) + 1 if self.labels else 0


def read_sentences(path: str | Path) -> LabelledSentences:
    """Parse a ``<label> <sentence>`` file (plain or compressed; UTF-8, else Latin-1). A line without an integer label
    or without words raises :class:`~paperzoo.errors.DataError` naming the file and line."""
    path = Path(path)
    raw = read_decompressed(path, MAX_SENTENCE_BYTES, "the most a sentence file may hold")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:   # TREC's files are Latin-1 (a few accented names)
        text = raw.decode("latin-1")
    labels, tokens = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        label, _, sentence = line.strip().partition(" ")
        words = tuple(sentence.split())
        if not label.isdigit() or not words:
            raise DataError(f"{path}, line {number}: expected '<label> <sentence>' with an integer label, "
                            f"got {line[:60]!r}")
        labels.append(int(label))
        tokens.append(words)
    if not labels:
        raise DataError(f"{path}: no examples in the file")
    return LabelledSentences(tuple(labels), tuple(tokens), str(path))


def load_sentences(name: str, split: str, *, root: str | Path | None = None) -> LabelledSentences:
    """A split of a named set (:data:`SENTENCE_SETS`) from ``<data root>/sentence-classification/``."""
    if name not in SENTENCE_SETS:
        raise UserError(f"unknown sentence set {name!r}; choose {', '.join(SENTENCE_SETS)}")
    splits = SENTENCE_SETS[name]
    if split not in splits:
        raise UserError(f"{name} has no split {split!r}; choose {', '.join(splits)}")
    return read_sentences(data_root(root) / FOLDER / splits[split])


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Words by index: ``<pad>`` is 0, ``<unk>`` 1, then the words by decreasing frequency."""

    itos: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.itos[:2] != (PAD, UNK):
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}")
        object.__setattr__(self, "stoi", {w: i for i, w in enumerate(self.itos)})

    pad_id = 0
    unk_id = 1

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], *, min_freq: int = 1) -> Vocabulary:
        """Every word seen at least ``min_freq`` times; ties in frequency in first-seen order."""
        counts = Counter(w for s in sentences for w in s)
        words = sorted((w for w, c in counts.items() if c >= min_freq and w not in (PAD, UNK)),
                       key=lambda w: -counts[w])
        return cls((PAD, UNK, *words))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, words: Sequence[str]) -> list[int]:
        return [self.stoi.get(w, self.unk_id) for w in words]


def pad_batch(sequences: Sequence[Sequence[int]], *, pad_id: int = 0,
              length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token-id sequences to the longest (or to ``length``): ids (B, L) int64, lengths (B,)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    longest = int(lengths.max()) if len(sequences) else 0
    width = longest if length is None else length
    if width < longest:
        raise ValueError(f"length {width} is shorter than the longest sequence ({longest})")
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids, lengths


def length_mask(lengths: torch.Tensor, length: int) -> torch.Tensor:
    """Boolean (B, L): True at the first ``lengths[b]`` positions of row b (the real tokens)."""
    return torch.arange(length, device=lengths.device) < lengths.unsqueeze(1)
