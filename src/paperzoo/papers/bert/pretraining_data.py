"""BERT's pre-training instances: sentence pairs for next-sentence prediction with masked tokens
(Devlin et al. 2018, Section 3.1 and Appendix A.1), built as google-research/bert's
``create_pretraining_data.py`` builds them.

::

    from paperzoo.data.corpora import pretraining_corpus
    from paperzoo.papers.bert.pretraining_data import PretrainingSettings, load_or_build
    data = load_or_build("cache/bert-128.safetensors", pretraining_corpus(), tokenizer,
                         PretrainingSettings(dupe_factor=10))
    batch = data[0:32]   # input_ids, token_type_ids, attention_mask (32, 128); masked_positions,
                         # masked_ids, masked_weights (32, 20); next_sentence_label (32,)

**Pairs** (``create_instances_from_document``; paper, Section 3.1 Task #2: "when choosing the
sentences A and B for each pre-training example, 50% of the time B is the actual next sentence
that follows A (labeled as IsNext), and 50% of the time it is a random sentence from the corpus
(labeled as NotNext)"). Each document (a list of sentences, each tokenised) is cut into chunks:
sentences are added to a chunk until it holds ``target_length`` tokens or the document ends.
``target_length`` is ``max_seq_length - 3`` (room for ``[CLS]`` and two ``[SEP]``), or, with
probability ``short_seq_prob`` (0.1), a random length in ``[2, max_seq_length - 3]``, drawn once
per document and pass (as the script does: a document's chunks share it). A chunk of two or more
sentences is cut at a random sentence boundary: A is the part before it; B is the rest (IsNext),
or, with probability 0.5 (and always when the chunk is one sentence), a run of sentences from a
random point of a random other document (NotNext), about as long as A leaves room for, the
chunk's unused sentences then going back to start the next chunk. ``truncate_seq_pair`` then
drops tokens from the longer of A and B, each time from its front or back at random, until
``len(A) + len(B) <= max_seq_length - 3``. The instance is ``[CLS] A [SEP] B [SEP]`` with
segment ids 0 for ``[CLS] A [SEP]`` and 1 for ``B [SEP]``. ``dupe_factor`` (10) passes over the
(shuffled) documents give each document different pairs and masks; the instances are shuffled.
``next_sentence_label`` is 0 for IsNext, 1 for NotNext: the script's convention and HF's
``BertForPreTraining`` (``next_sentence_label``: "0 indicates sequence B is a continuation of
sequence A, 1 indicates sequence B is a random sequence"). As one-sentence chunks are always
NotNext, the NotNext share exceeds 1/2 on corpora of short documents: 55% on
:func:`~paperzoo.data.corpora.pretraining_corpus` (webtext's conversations and ABC's stories are
a few sentences long). As in the script, sentences that tokenise to nothing and then documents
left empty are dropped before the documents are shuffled.

**Masks** (``create_masked_lm_predictions``; Section 3.1 Task #1: "The training data generator
chooses 15% of the token positions at random for prediction. If the i-th token is chosen, we
replace the i-th token with (1) the [MASK] token 80% of the time (2) a random token 10% of the
time (3) the unchanged i-th token 10% of the time"). Why not always [MASK]: it "does not appear
during fine-tuning" (Section 3.1), and since the encoder "does not know which words it will be
asked to predict or which have been replaced by random words, it is forced to keep a
distributional contextual representation of every input token"; keeping some unchanged biases
the representation "towards the actual observed word" (Appendix A.1; Appendix C.2 ablates the
mix). Exactly ``min(max_predictions_per_seq, max(1, round(len(tokens) * masked_lm_prob)))``
positions are predicted, ``len(tokens)`` counting ``[CLS]`` and ``[SEP]``: 19 of a full
128-token sequence. They are drawn without replacement from all positions except ``[CLS]`` and
``[SEP]``. With ``whole_word_mask`` the candidates are whole words (a token and the ``##`` pieces after it), and
a word is taken only if all its pieces fit in what is left of the budget (the script's
``do_whole_word_mask``); each piece then gets its own 80/10/10 draw, as in the script.

**Tensors** (:class:`PretrainingData`, the script's ``write_instance_to_example_files`` layout):
``input_ids`` (N, max_seq_length) padded with the tokenizer's ``[PAD]`` id, ``token_type_ids``,
``attention_mask`` (1 real, 0 padding); ``masked_positions``, ``masked_ids`` (N,
max_predictions_per_seq) in position order, padded with 0, and ``masked_weights`` (1.0 real, 0.0
padding); ``next_sentence_labels`` (N,). Ids are stored as int32 and flags as uint8, about 1 kB
an instance (ten passes over :func:`~paperzoo.data.corpora.pretraining_corpus` make about
430,000 instances, 440 MB, in about two minutes on two CPU cores). Indexing
(:meth:`PretrainingData.__getitem__`) returns int64 ids and float32 weights, ready for the model;
:func:`dense_mlm_labels` turns the masked slots into HF-style (N, L) labels with -100 elsewhere.
:meth:`~PretrainingData.save` writes one safetensors file whose metadata holds the settings, the
tokenizer's vocabulary hash and a hash of the corpus, so :func:`load_or_build` reuses a cached
set only when all three match.

**Dynamic masking** (Liu et al. 2019, RoBERTa, Section 4.1: a new mask every time a sequence is
fed): build with ``PretrainingSettings(static_masking=False, dupe_factor=1)`` (no masks stored)
and pass :class:`DynamicMasking` as a DataLoader's ``collate_fn``: it draws the masks of each
batch with the same exact-count rule and 80/10/10 split, from a ``torch.Generator``.

Deviations from the script, all documented where they happen:

- The random 10% replacement draws from the vocabulary *without* the special and ``[unusedN]``
  tokens (the script draws from the whole vocabulary, so a "random" token can be ``[MASK]``,
  ``[CLS]`` or ``[PAD]``); HF's collator draws from the whole vocabulary too.
- With ``whole_word_mask``, a ``##`` piece joins only the token just before it (the script also
  joins a ``##`` piece that opens segment B, after truncation, to the last word of A across the
  ``[SEP]``).
- ``round`` is Python 3's (half to even), as the script's under Python 3: sequences of 30, 70
  and 110 tokens get 4, 10 and 16 predictions; under Python 2 (half away from zero) 5, 11, 17.

Everything is seeded: one ``random.Random(settings.seed)`` drives the document shuffle, the
pairs, the masks and the instance shuffle in the script's order, so a build is reproducible.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...errors import DataError, UserError
from .tokenizer import CONTINUATION_PREFIX, SpecialIds, is_reserved_token, special_ids, vocab_hash, vocabulary

__all__ = [
    "FORMAT",
    "DynamicMasking",
    "Instance",
    "PretrainingData",
    "PretrainingSettings",
    "VocabInfo",
    "build_pretraining_data",
    "corpus_hash",
    "create_instances_from_document",
    "create_masked_lm_predictions",
    "create_training_instances",
    "dense_mlm_labels",
    "load_or_build",
    "mask_batch",
    "num_predictions",
    "tokenize_documents",
    "truncate_seq_pair",
]

#: The format tag in a saved instance file's metadata.
FORMAT = "paperzoo.bert.pretraining_data/1"
IGNORE_INDEX = -100


@dataclass(frozen=True)
class PretrainingSettings:
    """The script's flags, with its defaults (``random_seed`` 12345); the 80/10/10 split and the
    NotNext probability, constants there, are settings here."""

    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    dupe_factor: int = 10
    whole_word_mask: bool = False
    random_next_prob: float = 0.5
    mask_token_prob: float = 0.8
    random_token_prob: float = 0.1
    static_masking: bool = True
    seed: int = 12345

    def __post_init__(self) -> None:
        if self.max_seq_length < 5:
            raise UserError(f"max_seq_length={self.max_seq_length}: needs at least 5 ([CLS] A [SEP] B [SEP])")
        if self.max_predictions_per_seq < 1 or self.dupe_factor < 1:
            raise UserError("max_predictions_per_seq and dupe_factor must be at least 1")
        for name in ("masked_lm_prob", "short_seq_prob", "random_next_prob", "mask_token_prob", "random_token_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"{name}={getattr(self, name)} is not a probability")
        if self.mask_token_prob + self.random_token_prob > 1.0:
            raise UserError(f"mask_token_prob + random_token_prob = "
                            f"{self.mask_token_prob + self.random_token_prob} exceeds 1")

    @property
    def max_num_tokens(self) -> int:
        """Room for A and B: ``max_seq_length - 3``."""
        return self.max_seq_length - 3


def num_predictions(length: int, settings: PretrainingSettings) -> int:
    """Masked positions in a sequence of `length` tokens (``[CLS]``/``[SEP]`` included):
    ``min(max_predictions_per_seq, max(1, round(length * masked_lm_prob)))``."""
    return min(settings.max_predictions_per_seq, max(1, int(round(length * settings.masked_lm_prob))))


@dataclass(frozen=True)
class VocabInfo:
    """What the masking needs to know of a vocabulary: the special ids, its size, the ids a random
    replacement draws from (all but special and ``[unusedN]`` tokens) and which ids are ``##``
    continuation pieces."""

    special: SpecialIds
    size: int
    random_ids: tuple[int, ...]
    continuation: frozenset[int]
    hash: str

    @classmethod
    def from_tokenizer(cls, tokenizer) -> VocabInfo:
        tokens = vocabulary(tokenizer)
        return cls(special_ids(tokenizer), len(tokens),
                   tuple(i for i, t in enumerate(tokens) if not is_reserved_token(t)),
                   frozenset(i for i, t in enumerate(tokens) if t.startswith(CONTINUATION_PREFIX)),
                   vocab_hash(tokenizer))


@dataclass
class Instance:
    """One pre-training example before padding (the script's ``TrainingInstance``), as ids.

    ``tokens`` is ``[CLS] A [SEP] B [SEP]`` after masking; ``masked_positions`` (ascending) and
    ``masked_labels`` the original ids there. ``document``, ``target_length`` and ``forced_random``
    (a one-sentence chunk, whose B must come from another document) record how it was made."""

    tokens: list[int]
    segment_ids: list[int]
    is_random_next: bool
    masked_positions: list[int] = field(default_factory=list)
    masked_labels: list[int] = field(default_factory=list)
    document: int = -1
    target_length: int = 0
    forced_random: bool = False


# --- documents -------------------------------------------------------------------------------


def _sentences(document) -> Sequence[str]:
    return document.sentences if hasattr(document, "sentences") else document


def tokenize_documents(documents: Iterable, tokenizer) -> list[list[list[int]]]:
    """Each document (a :class:`~paperzoo.data.corpora.Document` or a sequence of sentence strings)
    as a list of sentences of WordPiece ids, without special tokens; sentences that tokenise to
    nothing are dropped, and then documents left empty."""
    docs = [list(_sentences(d)) for d in documents]
    flat = [s for d in docs for s in d]
    encoded = iter(tokenizer.encode_batch(flat, add_special_tokens=False)) if flat else iter(())
    out = []
    for doc in docs:
        sentences = [ids for ids in (next(encoded).ids for _ in doc) if ids]
        if sentences:
            out.append(sentences)
    return out


def corpus_hash(documents: Iterable) -> str:
    """SHA-256 (hex) of the documents' sentences, with the document and sentence boundaries."""
    digest = hashlib.sha256()
    for doc in documents:
        for sentence in _sentences(doc):
            digest.update(sentence.encode("utf-8"))
            digest.update(b"\x1f")
        digest.update(b"\x1e")
    return digest.hexdigest()


# --- pairs -----------------------------------------------------------------------------------


def truncate_seq_pair(tokens_a: list[int], tokens_b: list[int], max_num_tokens: int, rng: random.Random) -> None:
    """Truncate A and B in place to ``len(A) + len(B) <= max_num_tokens``, one token at a time
    from the longer (B on a tie), from its front or its back with probability 1/2 each."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        trunc = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del trunc[0]
        else:
            trunc.pop()


def create_instances_from_document(all_documents: Sequence[Sequence[Sequence[int]]], document_index: int,
                                   settings: PretrainingSettings, vocab: VocabInfo,
                                   rng: random.Random) -> list[Instance]:
    """The instances of one document, as the script's function of that name (see the module
    docstring): documents are lists of sentences of ids."""
    document = all_documents[document_index]
    max_num_tokens = settings.max_num_tokens
    target_length = max_num_tokens
    if rng.random() < settings.short_seq_prob:
        target_length = rng.randint(2, max_num_tokens)
    cls, sep = vocab.special.cls, vocab.special.sep

    instances: list[Instance] = []
    chunk: list[Sequence[int]] = []
    chunk_length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_length:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for segment in chunk[:a_end] for t in segment]
            tokens_b: list[int] = []
            forced = len(chunk) == 1
            is_random_next = forced or rng.random() < settings.random_next_prob
            if is_random_next:
                target_b_length = target_length - len(tokens_a)
                # Ten tries at another document (a corpus of one document pairs it with itself).
                for _ in range(10):
                    random_index = rng.randint(0, len(all_documents) - 1)
                    if random_index != document_index:
                        break
                random_document = all_documents[random_index]
                for segment in random_document[rng.randint(0, len(random_document) - 1):]:
                    tokens_b.extend(segment)
                    if len(tokens_b) >= target_b_length:
                        break
                i -= len(chunk) - a_end   # the unused sentences start the next chunk
            else:
                tokens_b = [t for segment in chunk[a_end:] for t in segment]
            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            tokens = [cls, *tokens_a, sep, *tokens_b, sep]
            segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
            instance = Instance(tokens, segment_ids, is_random_next, document=document_index,
                                target_length=target_length, forced_random=forced)
            if settings.static_masking:
                instance.tokens, instance.masked_positions, instance.masked_labels = create_masked_lm_predictions(
                    tokens, settings, vocab, rng)
            instances.append(instance)
            chunk, chunk_length = [], 0
        i += 1
    return instances


# --- masks -----------------------------------------------------------------------------------


def create_masked_lm_predictions(tokens: Sequence[int], settings: PretrainingSettings, vocab: VocabInfo,
                                 rng: random.Random) -> tuple[list[int], list[int], list[int]]:
    """Mask `tokens` (``[CLS] A [SEP] B [SEP]`` ids) as the script's function of that name:
    returns the masked tokens, the predicted positions (ascending) and their original ids."""
    cls, sep = vocab.special.cls, vocab.special.sep
    candidates: list[list[int]] = []
    for index, token in enumerate(tokens):
        if token == cls or token == sep:
            continue
        if (settings.whole_word_mask and candidates and token in vocab.continuation
                and candidates[-1][-1] == index - 1):
            candidates[-1].append(index)
        else:
            candidates.append([index])
    rng.shuffle(candidates)
    budget = num_predictions(len(tokens), settings)
    keep_share = ((1.0 - settings.mask_token_prob - settings.random_token_prob) / (1.0 - settings.mask_token_prob)
                  if settings.mask_token_prob < 1.0 else 0.0)
    output = list(tokens)
    positions: list[int] = []
    for word in candidates:
        if len(positions) >= budget:
            break
        if len(positions) + len(word) > budget:  # a whole word that does not fit: try the next
            continue
        for index in word:
            if rng.random() < settings.mask_token_prob:
                output[index] = vocab.special.mask
            elif rng.random() >= keep_share:
                output[index] = vocab.random_ids[rng.randint(0, len(vocab.random_ids) - 1)]
            positions.append(index)
    positions.sort()
    return output, positions, [tokens[p] for p in positions]


def create_training_instances(token_documents: list[list[list[int]]], settings: PretrainingSettings,
                              vocab: VocabInfo, rng: random.Random | None = None) -> list[Instance]:
    """All instances: the documents shuffled, ``dupe_factor`` passes of
    :func:`create_instances_from_document` over them, the instances shuffled (the script's
    ``create_training_instances``). `token_documents` is shuffled in place; ``Instance.document``
    indexes the shuffled list."""
    rng = random.Random(settings.seed) if rng is None else rng
    if not token_documents:
        raise UserError("no documents to build pre-training instances from")
    rng.shuffle(token_documents)
    instances = []
    for _ in range(settings.dupe_factor):
        for index in range(len(token_documents)):
            instances.extend(create_instances_from_document(token_documents, index, settings, vocab, rng))
    rng.shuffle(instances)
    return instances


# --- tensors ---------------------------------------------------------------------------------

_TENSORS = ("input_ids", "token_type_ids", "attention_mask", "masked_positions", "masked_ids", "masked_weights",
            "next_sentence_labels")


@dataclass(eq=False)
class PretrainingData:
    """Padded pre-training instances (see the module docstring for the layout); a
    ``torch.utils.data.Dataset``: ``data[i]`` or ``data[i:j]`` is a dict of model-ready tensors
    (int64 ids, float32 weights) keyed ``input_ids``, ``token_type_ids``, ``attention_mask``,
    ``masked_positions``, ``masked_ids``, ``masked_weights``, ``next_sentence_label``."""

    input_ids: torch.Tensor         # (N, L) int32
    token_type_ids: torch.Tensor    # (N, L) uint8
    attention_mask: torch.Tensor    # (N, L) uint8
    masked_positions: torch.Tensor  # (N, P) int32
    masked_ids: torch.Tensor        # (N, P) int32
    masked_weights: torch.Tensor    # (N, P) float32
    next_sentence_labels: torch.Tensor  # (N,) uint8
    metadata: dict[str, Any]

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, index) -> dict[str, torch.Tensor]:
        return {"input_ids": self.input_ids[index].long(), "token_type_ids": self.token_type_ids[index].long(),
                "attention_mask": self.attention_mask[index].long(),
                "masked_positions": self.masked_positions[index].long(), "masked_ids": self.masked_ids[index].long(),
                "masked_weights": self.masked_weights[index].float(),
                "next_sentence_label": self.next_sentence_labels[index].long()}

    @classmethod
    def from_instances(cls, instances: Sequence[Instance], settings: PretrainingSettings, vocab: VocabInfo,
                       metadata: dict[str, Any] | None = None) -> PretrainingData:
        n, length, slots = len(instances), settings.max_seq_length, settings.max_predictions_per_seq
        pad = vocab.special.pad
        for row, inst in enumerate(instances):
            if len(inst.tokens) > length or len(inst.masked_positions) > slots:
                raise UserError(f"instance {row} has {len(inst.tokens)} tokens and {len(inst.masked_positions)} "
                                f"predictions, more than {length} and {slots}")
        # Padded Python lists, then one tensor each: far faster than filling rows one at a time.
        input_ids = torch.tensor([i.tokens + [pad] * (length - len(i.tokens)) for i in instances],
                                 dtype=torch.int32).reshape(n, length)
        token_type_ids = torch.tensor([i.segment_ids + [0] * (length - len(i.segment_ids)) for i in instances],
                                      dtype=torch.uint8).reshape(n, length)
        lengths = torch.tensor([len(i.tokens) for i in instances], dtype=torch.int64)
        attention_mask = (torch.arange(length)[None, :] < lengths[:, None]).to(torch.uint8)
        positions = torch.tensor([i.masked_positions + [0] * (slots - len(i.masked_positions)) for i in instances],
                                 dtype=torch.int32).reshape(n, slots)
        labels = torch.tensor([i.masked_labels + [0] * (slots - len(i.masked_labels)) for i in instances],
                              dtype=torch.int32).reshape(n, slots)
        predicted = torch.tensor([len(i.masked_positions) for i in instances], dtype=torch.int64)
        weights = (torch.arange(slots)[None, :] < predicted[:, None]).to(torch.float32)
        nsp = torch.tensor([int(i.is_random_next) for i in instances], dtype=torch.uint8)
        meta = {"format": FORMAT, "settings": dataclasses.asdict(settings), "vocab_hash": vocab.hash,
                "vocab_size": vocab.size, "special_ids": dataclasses.asdict(vocab.special), "instances": n,
                **(metadata or {})}
        return cls(input_ids, token_type_ids, attention_mask, positions, labels, weights, nsp, meta)

    @property
    def settings(self) -> PretrainingSettings:
        return PretrainingSettings(**self.metadata["settings"])

    def save(self, path: str | os.PathLike) -> Path:
        """Write one safetensors file (atomically); the metadata JSON rides in its header."""
        from safetensors.torch import save  # noqa: PLC0415

        from ...data._io import atomic_write  # noqa: PLC0415

        tensors = {name: getattr(self, name).contiguous() for name in _TENSORS}
        blob = save(tensors, metadata={"paperzoo": json.dumps(self.metadata, sort_keys=True)})
        path = atomic_write(Path(path), lambda f: f.write(blob))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> PretrainingData:
        """Read a file written by :meth:`save`; DataError if it is not one."""
        from safetensors import safe_open  # noqa: PLC0415

        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no pre-training instance file there")
        try:
            with safe_open(str(path), framework="pt") as f:
                header = f.metadata() or {}
                tensors = {name: f.get_tensor(name) for name in _TENSORS}
        except Exception as e:  # safetensors raises its own SafetensorError, or OSError
            raise DataError(f"{path}: not a readable safetensors file ({e}); delete it to rebuild") from None
        try:
            metadata = json.loads(header["paperzoo"])
        except (KeyError, json.JSONDecodeError):
            raise DataError(f"{path}: lacks paperzoo's metadata; it was not written by PretrainingData.save") from None
        if metadata.get("format") != FORMAT:
            raise DataError(f"{path}: format {metadata.get('format')!r}, expected {FORMAT!r}; delete it to rebuild")
        return cls(**tensors, metadata=metadata)


def dense_mlm_labels(input_ids: torch.Tensor, masked_positions: torch.Tensor, masked_ids: torch.Tensor,
                     masked_weights: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """(N, L) labels for a loss over every position (HF's ``labels``): the original id at each
    masked position, `ignore_index` elsewhere."""
    labels = torch.full(input_ids.shape, ignore_index, dtype=torch.long)
    real = masked_weights > 0
    rows = torch.arange(len(input_ids))[:, None].expand_as(masked_positions)
    labels[rows[real], masked_positions[real].long()] = masked_ids[real].long()
    return labels


def build_pretraining_data(documents: Iterable, tokenizer, settings: PretrainingSettings | None = None,
                           ) -> PretrainingData:
    """Tokenise `documents` (:class:`~paperzoo.data.corpora.Document` or lists of sentence strings)
    and build the padded instance set of the script from them."""
    settings = PretrainingSettings() if settings is None else settings
    documents = list(documents)
    vocab = VocabInfo.from_tokenizer(tokenizer)
    token_documents = tokenize_documents(documents, tokenizer)
    instances = create_training_instances(token_documents, settings, vocab)
    return PretrainingData.from_instances(instances, settings, vocab, {
        "corpus_hash": corpus_hash(documents), "documents": len(token_documents)})


def load_or_build(path: str | os.PathLike, documents: Iterable, tokenizer,
                  settings: PretrainingSettings | None = None) -> PretrainingData:
    """The instance set cached at `path` if it was built from the same documents, vocabulary and
    settings; else build it (:func:`build_pretraining_data`) and save it there."""
    settings = PretrainingSettings() if settings is None else settings
    documents = list(documents)
    path = Path(path)
    if path.is_file():
        try:
            cached = PretrainingData.load(path)
        except DataError:
            cached = None
        if cached is not None and (cached.metadata.get("settings") == dataclasses.asdict(settings)
                                   and cached.metadata.get("vocab_hash") == vocab_hash(tokenizer)
                                   and cached.metadata.get("corpus_hash") == corpus_hash(documents)):
            return cached
    data = build_pretraining_data(documents, tokenizer, settings)
    data.save(path)
    return data


# --- dynamic masking -------------------------------------------------------------------------


def mask_batch(input_ids: torch.Tensor, attention_mask: torch.Tensor, settings: PretrainingSettings,
               vocab: VocabInfo, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Mask a batch of unmasked sequences (N, L) with the script's rule (exact count per sequence,
    positions without replacement, no ``[CLS]``/``[SEP]``/padding, 80/10/10), drawn from
    `generator`: returns ``input_ids`` (masked), ``masked_positions``, ``masked_ids``,
    ``masked_weights`` (N, max_predictions_per_seq). Whole-word masking is not offered here."""
    input_ids = input_ids.long()
    n, length = input_ids.shape
    slots = settings.max_predictions_per_seq
    real = attention_mask.bool()
    special = real & ((input_ids == vocab.special.cls) | (input_ids == vocab.special.sep))
    candidate = real & ~special
    table = torch.tensor([num_predictions(k, settings) for k in range(length + 1)])
    budget = torch.minimum(table[real.sum(1)], candidate.sum(1))   # (N,)
    keys = torch.rand((n, length), generator=generator)
    keys[~candidate] = 2.0   # never before a candidate
    order = keys.argsort(dim=1)[:, :slots] if slots <= length else keys.argsort(dim=1)
    if order.shape[1] < slots:
        order = torch.cat([order, order.new_zeros((n, slots - order.shape[1]))], 1)
    valid = torch.arange(slots)[None, :] < budget[:, None]
    positions = torch.where(valid, order, torch.full_like(order, length)).sort(dim=1).values
    valid = positions < length
    positions = torch.where(valid, positions, torch.zeros_like(positions))
    labels = torch.where(valid, input_ids.gather(1, positions), torch.zeros_like(positions))
    u = torch.rand((n, slots), generator=generator)
    v = torch.rand((n, slots), generator=generator)
    pick = torch.randint(len(vocab.random_ids), (n, slots), generator=generator)
    random_ids = torch.tensor(vocab.random_ids)[pick]
    keep_share = ((1.0 - settings.mask_token_prob - settings.random_token_prob) / (1.0 - settings.mask_token_prob)
                  if settings.mask_token_prob < 1.0 else 0.0)
    to_mask = valid & (u < settings.mask_token_prob)
    to_random = valid & ~to_mask & (v >= keep_share)
    new = torch.where(to_mask, torch.full_like(labels, vocab.special.mask), labels)
    new = torch.where(to_random, random_ids, new)
    out = input_ids.clone()
    rows = torch.arange(n)[:, None].expand_as(positions)
    out[rows[valid], positions[valid]] = new[valid]
    return {"input_ids": out, "masked_positions": positions, "masked_ids": labels,
            "masked_weights": valid.float()}


class DynamicMasking:
    """A DataLoader ``collate_fn`` that masks each batch afresh (RoBERTa's dynamic masking) with
    :func:`mask_batch`, for a :class:`PretrainingData` built with ``static_masking=False``::

        loader = DataLoader(data, batch_size=32, shuffle=True,
                            collate_fn=DynamicMasking(tokenizer, data.settings, seed=0))
    """

    def __init__(self, tokenizer, settings: PretrainingSettings, *, seed: int = 0) -> None:
        self.vocab = VocabInfo.from_tokenizer(tokenizer) if not isinstance(tokenizer, VocabInfo) else tokenizer
        self.settings = settings
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        batch = {key: torch.stack([item[key] for item in items]) for key in items[0]}
        batch.update(mask_batch(batch["input_ids"], batch["attention_mask"], self.settings, self.vocab,
                                self.generator))
        return batch
