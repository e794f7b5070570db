"""Text for the translation papers: corpus readers, a joint BPE tokenizer, token-count batches.

Readers (sentences as ``str``, aligned across languages)::

    from paperzoo.data.text import read_multi30k, multi30k_pairs, read_tatoeba
    read_multi30k("train", "de")                # 29,000 German captions
    multi30k_pairs("val", src="en", tgt="de")   # 1,014 (English, German) pairs
    read_tatoeba()                              # 167,130 (English, French) pairs in the shared copy

- **Multi30k** task 1 (Elliott et al. 2016): ``<root>/multi30k/task1/raw/{train,val,
  test_2016_flickr}.{en,de,fr,cs}.gz``, one sentence a line, 29,000 / 1,014 / 1,000 lines.
- **Tatoeba** English-French (manythings.org/anki, the d2l book's ``fra-eng``):
  ``<root>/tatoeba/fra-eng.zip`` holding ``fra-eng/fra.txt``, ``English<TAB>French`` a line
  (newer releases add a third, attribution column, which is ignored). It has no official split.

A file that is missing, truncated, not UTF-8, or has the wrong number of lines or columns raises
:class:`~paperzoo.errors.DataError` naming it. :func:`download_corpus` fetches the official files
for users with a network and checks their digests (:data:`CORPORA`).

Tokenisation (Vaswani et al. 2017, Section 5.1: "byte-pair encoding, which has a shared
source-target vocabulary"): :func:`train_bpe` learns one BPE vocabulary from the source *and*
target sentences of the training split; :func:`save_tokenizer` writes it beside a model as
``tokenizer.json``, :func:`load_tokenizer` reads it back. Ids 0-3 are ``<pad> <unk> <s> </s>``.

Batching (Section 5.1: "each training batch contained a set of sentence pairs containing
approximately 25000 source tokens and 25000 target tokens", over 8 GPUs):
:class:`TokenBatchSampler` groups examples of similar length into batches of at most
``max_tokens`` source and ``max_tokens`` target tokens, padding included; :func:`collate_pairs`
pads a batch into tensors.
"""

from __future__ import annotations

import hashlib
import os
import random
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError, UserError, unknown_name
from ._io import REDOWNLOAD, MissingDataError, read_decompressed, read_zip_member
from .root import data_root

__all__ = [
    "BOS",
    "CORPORA",
    "EOS",
    "MULTI30K_LANGUAGES",
    "MULTI30K_SPLITS",
    "PAD",
    "PAPER_BATCH_TOKENS",
    "SPECIAL_TOKENS",
    "TOKENIZER_FILE",
    "UNK",
    "TextCorpus",
    "TextFile",
    "TokenBatchSampler",
    "collate_pairs",
    "download_corpus",
    "encode_pairs",
    "load_tokenizer",
    "multi30k_pairs",
    "random_pairs",
    "read_multi30k",
    "read_tatoeba",
    "save_tokenizer",
    "train_bpe",
]

# --- official files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextFile:
    """One official file: its name under the corpus folder, mirror URLs (tried in order), its
    digest as ``(algorithm, hex)`` and, for line-per-sentence files, its number of lines."""

    name: str
    urls: tuple[str, ...]
    digest: tuple[str, str]
    lines: int | None = None


@dataclass(frozen=True)
class TextCorpus:
    name: str
    title: str
    folder: str
    homepage: str
    files: tuple[TextFile, ...]


MULTI30K_SPLITS: dict[str, int] = {"train": 29000, "val": 1014, "test_2016_flickr": 1000}
MULTI30K_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "cs")

# The multi30k/dataset repository, pinned to commit a3d2e0d2 (then its master branch). The
# digests are the SHA-256 of the project's shared copies, which come from that repository; the
# en and de ones equal those pinned for that commit by an independent project's download
# manifest (found through code search); the fr and cs ones were checked against no other source.
_MULTI30K_BASES = (
    "https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/",
    "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/",
)
_MULTI30K_SHA256 = {
    "train.en": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.de": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.fr": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "train.cs": "a65adb8b32e3bc664f21ecba7a6e7f6950fd1f405e135f7c312faabdb6255077",
    "val.en": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.de": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.fr": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
    "val.cs": "b63226e05c4bd5dd6a42897d74b86a1b9d2c31498252c572b1ea7f7996927fcc",
    "test_2016_flickr.en": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.de": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.fr": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
    "test_2016_flickr.cs": "200a4a74cc9560f051924abb9803be008d1908d77f747e9141aeb86dfd2797f1",
}
_MULTI30K_FILES = tuple(
    TextFile(f"{stem}.gz", tuple(base + f"{stem}.gz" for base in _MULTI30K_BASES), ("sha256", sha),
             MULTI30K_SPLITS[stem.rsplit(".", 1)[0]])
    for stem, sha in _MULTI30K_SHA256.items())

# The d2l book's copy of manythings.org's 2019-04-07 release, with the SHA-1 the book publishes
# (d2l.DATA_HUB['fra-eng']). The shared copy holds the same release re-zipped (its SHA-1 is
# 480ddb62...), so this digest could not be checked here. manythings.org/anki/fra-eng.zip is
# the live source, but it changes with every release and has no published digest.
_TATOEBA_FILES = (TextFile("fra-eng.zip", ("http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip",),
                           ("sha1", "94646ad1522d915e7b0f9296181140edcf86a4f5")),)
TATOEBA_MEMBER = "fra-eng/fra.txt"

#: Largest text each reader accepts, so a damaged or hostile file fails before it fills memory:
#: 15 times the largest official Multi30k file (train.fr, 2.1 MB) and 11 times Tatoeba's fra.txt
#: (11.7 MB in the 2019 release; newer releases, which add an attribution column, are larger).
MAX_MULTI30K_BYTES = 32 << 20
MAX_TATOEBA_BYTES = 128 << 20

CORPORA: dict[str, TextCorpus] = {c.name: c for c in (
    TextCorpus("multi30k", "Multi30k task 1", "multi30k/task1/raw", "https://github.com/multi30k/dataset",
               _MULTI30K_FILES),
    TextCorpus("tatoeba", "Tatoeba English-French (manythings.org)", "tatoeba", "https://www.manythings.org/anki/",
               _TATOEBA_FILES),
)}


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_corpus(name: str, root: str | os.PathLike | None = None, *, progress: bool = True) -> list[Path]:
    """Fetch the official files of corpus `name` (``multi30k``, ``tatoeba``) into
    ``<root>/<folder>/``, checking each file's digest; files already present and matching are kept.

    Raises:
        DataError: a file could not be fetched from any mirror, or its digest differs; the
            message names the file and where to place it by hand.
    """
    from .download import ChecksumError, download_file  # noqa: PLC0415  (tqdm, urllib: on use only)

    if name not in CORPORA:
        raise unknown_name("corpus", name, CORPORA, f"Known corpora: {', '.join(sorted(CORPORA))}.")
    corpus = CORPORA[name]
    folder = data_root(root) / corpus.folder
    paths = []
    for remote in corpus.files:
        dest = folder / remote.name
        algorithm, expected = remote.digest
        if dest.is_file() and _digest(dest, algorithm) == expected:
            paths.append(dest)
            continue
        errors = []
        for url in remote.urls:
            try:
                with warnings.catch_warnings():  # a SHA-1 is checked below, after the download
                    warnings.simplefilter("ignore")
                    download_file(url, dest, sha256=expected if algorithm == "sha256" else None, progress=progress)
            except DataError as e:
                errors.append(str(e))
                continue
            if algorithm != "sha256" and _digest(dest, algorithm) != expected:
                dest.unlink()
                raise ChecksumError(f"{dest}: checksum mismatch for {url}: expected {algorithm} {expected}; "
                                    "the download is corrupted or the file changed upstream (removed)")
            paths.append(dest)
            break
        else:
            raise DataError(f"{dest}: could not download {corpus.title} ({'; '.join(errors)}). Without a "
                            f"network, fetch {remote.urls[0]} elsewhere and place it at {dest}")
    return paths


# --- readers -----------------------------------------------------------------------------------


def _decode_lines(raw: bytes, where: str) -> list[str]:
    """Lines of UTF-8 text, split on ``\\n`` only (captions may hold other Unicode separators);
    a final newline does not make an extra empty line, and a ``\\r`` before it is dropped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{where}: not UTF-8 text ({e}); {REDOWNLOAD}") from e
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_multi30k(split: str, lang: str, root: str | os.PathLike | None = None) -> list[str]:
    """The sentences of one Multi30k task-1 file: `split` in ``train``, ``val``,
    ``test_2016_flickr`` (``test`` is accepted for the last), `lang` in en, de, fr, cs."""
    split = "test_2016_flickr" if split == "test" else split
    if split not in MULTI30K_SPLITS:
        raise unknown_name("Multi30k split", split, MULTI30K_SPLITS, f"Splits: {', '.join(MULTI30K_SPLITS)}.")
    if lang not in MULTI30K_LANGUAGES:
        raise unknown_name("Multi30k language", lang, MULTI30K_LANGUAGES,
                           f"Languages: {', '.join(MULTI30K_LANGUAGES)}.")
    path = data_root(root) / CORPORA["multi30k"].folder / f"{split}.{lang}.gz"
    try:
        raw = read_decompressed(path, MAX_MULTI30K_BYTES, "the most a Multi30k file may hold")
    except MissingDataError as e:
        raise MissingDataError(f"{e}; run `paperzoo.data.text.download_corpus('multi30k')` with a network, "
                               f"or place the official files in {path.parent}") from None
    lines = _decode_lines(raw, str(path))
    expected = MULTI30K_SPLITS[split]
    if len(lines) != expected:
        raise DataError(f"{path}: {len(lines)} lines, expected {expected}; the file is truncated or not the "
                        f"official one; {REDOWNLOAD}")
    return lines


def multi30k_pairs(split: str, *, src: str = "en", tgt: str = "de",
                   root: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """Aligned (source, target) sentence pairs of one Multi30k split."""
    return list(zip(read_multi30k(split, src, root), read_multi30k(split, tgt, root)))


def read_tatoeba(root: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(English, French) pairs from ``<root>/tatoeba/fra-eng.zip`` (member ``fra-eng/fra.txt``),
    in file order."""
    path = data_root(root) / CORPORA["tatoeba"].folder / "fra-eng.zip"
    if not path.is_file():
        raise MissingDataError(f"{path}: file not found; run `paperzoo.data.text.download_corpus('tatoeba')` "
                               f"with a network, or place fra-eng.zip (manythings.org/anki) there")
    raw = read_zip_member(path, TATOEBA_MEMBER, MAX_TATOEBA_BYTES, "the most a Tatoeba file may hold")
    pairs = []
    for number, line in enumerate(_decode_lines(raw, f"{path}:{TATOEBA_MEMBER}"), start=1):
        fields = line.split("\t")
        if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
            raise DataError(f"{path}:{TATOEBA_MEMBER} line {number}: expected 'English<TAB>French', got "
                            f"{line[:80]!r}; the file is damaged or not the fra-eng set; {REDOWNLOAD}")
        pairs.append((fields[0], fields[1]))
    return pairs


# --- tokenizer ---------------------------------------------------------------------------------

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, BOS, EOS)   # ids 0, 1, 2, 3
TOKENIZER_FILE = "tokenizer.json"


def train_bpe(texts: Iterable[str], *, vocab_size: int = 37000, min_frequency: int = 2):
    """A byte-pair-encoding tokenizer (Sennrich et al. 2016) learnt from `texts` with HF
    ``tokenizers``: pass the source *and* target sentences of the training split for the
    Transformer's shared vocabulary (37,000 tokens for WMT En-De in the paper).

    Text is NFC-normalised and split at spaces with SentencePiece's ``▁`` marker (Metaspace), so
    ``decode(encode(s).ids) == s`` for any NFC text whose characters occur in training; other
    characters become ``<unk>``, which ``decode`` drops. The paper's BPE ran on Moses-tokenised
    text instead; here punctuation is split by BPE itself and no detokeniser is needed.
    Returns a ``tokenizers.Tokenizer`` with ids 0-3 ``<pad> <unk> <s> </s>``.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: PLC0415

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def save_tokenizer(tokenizer, directory: str | os.PathLike) -> Path:
    """Write `tokenizer` as ``<directory>/tokenizer.json`` (beside the model's weights)."""
    path = Path(directory) / TOKENIZER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
    return path


def read_tokenizer_file(path: Path):
    """The HF ``tokenizers`` tokenizer in the JSON file `path`; a DataError if it is not a valid one."""
    from tokenizers import Tokenizer  # noqa: PLC0415

    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises plain Exception on malformed JSON
        raise DataError(f"{path}: not a valid tokenizer file ({e})") from None


def load_tokenizer(path: str | os.PathLike):
    """The tokenizer saved at `path` (a ``tokenizer.json`` or a folder holding one); checks that
    it has paperzoo's special tokens at ids 0-3."""
    path = Path(path)
    path = path / TOKENIZER_FILE if path.is_dir() else path
    if not path.is_file():
        raise DataError(f"{path}: no tokenizer file; it is saved beside the model as {TOKENIZER_FILE}")
    tokenizer = read_tokenizer_file(path)
    ids = [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
    if ids != list(range(len(SPECIAL_TOKENS))):
        raise DataError(f"{path}: special tokens {SPECIAL_TOKENS} should have ids 0-3, found {ids}")
    return tokenizer


def encode_pairs(tokenizer, pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    """Token ids of each (source, target) pair; targets are wrapped in ``<s> ... </s>``, sources
    end with ``</s>``."""
    bos, eos = SPECIAL_TOKENS.index(BOS), SPECIAL_TOKENS.index(EOS)
    src = tokenizer.encode_batch([s for s, _ in pairs])
    tgt = tokenizer.encode_batch([t for _, t in pairs])
    return [(s.ids + [eos], [bos] + t.ids + [eos]) for s, t in zip(src, tgt)]


# --- batches -----------------------------------------------------------------------------------

#: Section 5.1: ~25,000 source and ~25,000 target tokens per training batch (over 8 GPUs).
PAPER_BATCH_TOKENS = 25000


class TokenBatchSampler:
    """Batches of example indices holding at most `max_tokens` source and `max_tokens` target
    tokens each, padding included (``batch size * longest sequence <= max_tokens`` on each side).

    Every epoch the examples are sorted by (source length, target length), ties in a fresh
    random order, cut greedily into batches, and the batches are shuffled: each example is in
    exactly one batch per epoch, and batches waste little padding. The order depends only on
    `seed` and the epoch number. The paper's ~25k + 25k tokens per batch was spread over 8 GPUs;
    on one device use ``max_tokens=25000`` where it fits, or accumulate gradients over k
    batches of ``25000 / k``.

    A ``torch.utils.data.DataLoader(batch_sampler=...)`` accepts it. ``iter`` yields the rest of
    the current epoch, then the next epoch starts; :meth:`state_dict` / :meth:`load_state_dict`
    save and restore the position for exact resume (JSON-serialisable).

    Args:
        lengths: (source length, target length) of each example, in tokens.
        max_tokens: the bound on each side; an example longer than it is an error (filter
            long examples first).
        shuffle: random tie order and batch order (else sorted order, deterministic).
        seed: seeds the per-epoch orders.
    """

    def __init__(self, lengths: Sequence[tuple[int, int]], *, max_tokens: int, shuffle: bool = True,
                 seed: int = 0) -> None:
        self.lengths = torch.as_tensor(lengths, dtype=torch.long).reshape(-1, 2)
        if len(self.lengths) == 0:
            raise UserError("no examples to batch")
        longest = int(self.lengths.max())
        if longest > max_tokens:
            raise UserError(f"an example has {longest} tokens, more than max_tokens={max_tokens}; "
                            "filter long examples or raise max_tokens")
        self.max_tokens, self.shuffle, self.seed = max_tokens, shuffle, seed
        self._epoch, self._position = 0, 0
        self._num_batches = len(self._batches(0))

    def __len__(self) -> int:
        """Batches per epoch (the same every epoch: only the order of equal lengths changes)."""
        return self._num_batches

    @property
    def epoch(self) -> int:
        return self._epoch

    def _batches(self, epoch: int) -> list[list[int]]:
        """The batches of `epoch`, in the order they are drawn."""
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        n = len(self.lengths)
        order = torch.randperm(n, generator=rng) if self.shuffle else torch.arange(n)
        key = self.lengths[order, 0] * (int(self.lengths[:, 1].max()) + 1) + self.lengths[order, 1]
        order = order[torch.sort(key, stable=True).indices]  # by length; ties in random order
        src_len, tgt_len = self.lengths[:, 0].tolist(), self.lengths[:, 1].tolist()
        batches, current, longest = [], [], 0
        for index in order.tolist():
            grown = max(longest, src_len[index], tgt_len[index])
            if current and (len(current) + 1) * grown > self.max_tokens:
                batches.append(current)
                current, grown = [], max(src_len[index], tgt_len[index])
            current.append(index)
            longest = grown
        batches.append(current)
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=rng).tolist()]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        if self._position >= self._num_batches:  # the previous epoch is finished
            self._epoch, self._position = self._epoch + 1, 0
        batches = self._batches(self._epoch)
        for index in range(self._position, len(batches)):
            self._position = index + 1  # counted before yielding: a state saved now resumes after it
            yield batches[index]

    def _signature(self) -> dict[str, Any]:
        return {"n": len(self.lengths), "max_tokens": self.max_tokens, "shuffle": self.shuffle,
                "seed": self.seed, "lengths_sum": int(self.lengths.sum())}

    def state_dict(self) -> dict[str, Any]:
        """The position (epoch, batches drawn in it) and the settings it must be restored into."""
        return {"epoch": self._epoch, "position": self._position, **self._signature()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        mismatched = {k: (state.get(k), v) for k, v in self._signature().items() if state.get(k) != v}
        if mismatched:
            raise UserError(f"batch sampler state does not fit these examples (saved, current): {mismatched}")
        self._epoch, self._position = int(state["epoch"]), int(state["position"])


def collate_pairs(examples: Sequence[tuple[Sequence[int], Sequence[int]]], *,
                  pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a batch of (source ids, target ids) into ``(src, tgt_in, tgt_out)``, each (B, T) int64:
    `tgt_in` is the target without its last token (the decoder's input under teacher forcing),
    `tgt_out` without its first (what it must predict)."""
    src = _pad([s for s, _ in examples], pad_id)  # (B, S)
    tgt = _pad([t for _, t in examples], pad_id)  # (B, T + 1)
    return src, tgt[:, :-1], tgt[:, 1:]


def _pad(sequences: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    out = torch.full((len(sequences), max(len(s) for s in sequences)), pad_id, dtype=torch.long)
    for row, seq in zip(out, sequences):
        row[:len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out


def random_pairs(n: int, *, vocab_size: int, src_len: int = 10, tgt_len: int = 8,
                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random (source, target input) id batches shaped as :func:`collate_pairs` gives them:
    src (n, src_len) ending in ``</s>``, tgt_in (n, tgt_len) starting with ``<s>``, random lengths
    (the first example full length), right-padded. For tests and the model registry's examples."""
    g = torch.Generator().manual_seed(seed)
    pad, bos, eos = (SPECIAL_TOKENS.index(t) for t in (PAD, BOS, EOS))

    def batch(length: int, *, start: bool, end: bool) -> torch.Tensor:
        ids = torch.randint(len(SPECIAL_TOKENS), vocab_size, (n, length), generator=g)  # (n, length)
        lengths = torch.randint(2, length + 1, (n,), generator=g)
        lengths[0] = length
        if start:
            ids[:, 0] = bos
        if end:
            ids[torch.arange(n), lengths - 1] = eos
        return ids.masked_fill(torch.arange(length)[None, :] >= lengths[:, None], pad)

    return batch(src_len, start=False, end=True), batch(tgt_len, start=True, end=False)


Pairs = list[tuple[str, str]]


def corpus_splits(corpus: str, *, src: str, tgt: str, holdout: int = 1000,
                  root: str | os.PathLike | None = None) -> dict[str, Pairs]:
    """``{"train", "val", "test"}`` -> (source, target) sentence pairs.

    Multi30k: its official train / val / test_2016_flickr splits. Tatoeba (English-French) has no
    official split: its distinct English sentences are shuffled with a fixed seed, the first
    ``holdout`` go to the test set, the next ``holdout`` to validation (one pair each: the first
    translation in the file), and every pair of the others to training, so that no test sentence
    is seen in training with another translation.
    """
    if corpus == "multi30k":
        names = {"train": "train", "val": "val", "test": "test_2016_flickr"}
        return {k: multi30k_pairs(v, src=src, tgt=tgt, root=root) for k, v in names.items()}
    if corpus != "tatoeba":
        raise UserError(f"unknown corpus {corpus!r}; choose multi30k or tatoeba")
    if {src, tgt} != {"en", "fr"}:
        raise UserError(f"Tatoeba here is English-French; got {src}->{tgt}")
    by_english: dict[str, list[str]] = {}
    for en, fr in read_tatoeba(root):
        by_english.setdefault(en, []).append(fr)
    english = list(by_english)
    random.Random(0).shuffle(english)
    if len(english) <= 2 * holdout:
        raise UserError(f"holdout={holdout} leaves no Tatoeba sentences for training")
    test, val, train = english[:holdout], english[holdout:2 * holdout], english[2 * holdout:]

    def oriented(en: str, fr: str) -> tuple[str, str]:
        return (en, fr) if src == "en" else (fr, en)

    return {"train": [oriented(en, fr) for en in train for fr in by_english[en]],
            "val": [oriented(en, by_english[en][0]) for en in val],
            "test": [oriented(en, by_english[en][0]) for en in test]}
