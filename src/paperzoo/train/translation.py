"""Machine translation as a task of the training loop, shared by the seq2seq and Transformer papers.

    from paperzoo.train.translation import TranslationData, train_translator, translate
    result, model, task = train_translator(model_entry("transformer_small"), TranslationData(), cfg,
                                           run_dir="runs/t")
    translate("runs/t", ["Ein Mann fährt Fahrrad."], create_model)   # beam search, the saved tokenizer

- **Data** (:class:`TranslationData`): Multi30k task 1 (train / val / test_2016_flickr, any two of
  en, de, fr, cs) or Tatoeba English-French, which has no official split: its distinct English
  sentences are shuffled with a fixed seed, the first ``holdout`` go to the test set, the next
  ``holdout`` to validation (one pair each: the first translation in the file), and every pair
  of the others to training, so that no test sentence is seen in training with another
  translation.
- **Tokenizer**: one joint BPE vocabulary learnt from the source and target sentences of the
  training split only (Vaswani et al. Section 5.1), written as ``tokenizer.json`` in the run folder
  beside ``checkpoints/``; a resumed run reads it back.
- **Batches**: :class:`~paperzoo.data.text.TokenBatchSampler`, at most ``max_tokens`` source and
  target tokens (padding included) per batch; training pairs longer than ``max_len`` tokens on
  either side are left out (validation and test pairs never are).
- **Loss**: the model's own criterion ``criterion(logits, target)``, which ignores padding: the
  seq2seq papers' ``masked_cross_entropy``, the Transformer's ``label_smoothed_cross_entropy``.
- **Evaluation** (each ``eval_every`` steps): validation loss per target token (cross-entropy
  without smoothing, whatever the training criterion) and its perplexity, and corpus BLEU of the
  first ``bleu_sentences`` validation sentences, decoded greedily or with beam search
  (``eval_beam``), as sacreBLEU computes it on detokenised text. The task also
  records the training time before each evaluation (evaluations excluded, as the loop counts it)
  and keeps each evaluation's translations (:attr:`TranslationTask.evaluations`).
- **Checkpoints**: the loop writes the weights with the model's registry name and keyword
  arguments and the corpus; :func:`load_translator` rebuilds model and tokenizer from a run
  folder, a checkpoint folder or a ``model.safetensors``; :func:`translate` translates text with it.

Scores and their significance (sacreBLEU and tokenised BLEU, the paired bootstrap) are in
:mod:`paperzoo.metrics.bleu`; the corpus splits in :func:`paperzoo.data.text.corpus_splits`.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.text import (
    BOS,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    TOKENIZER_FILE,
    Pairs,
    TokenBatchSampler,
    collate_pairs,
    corpus_splits,
    encode_pairs,
    load_tokenizer,
    save_tokenizer,
    train_bpe,
)
from ..errors import UserError
from ..metrics.bleu import corpus_bleu
from ..nn.decoding import decode
from .checkpoint import MODEL_FILE, load_model_file, rebuild_model
from .env import resolve_device
from .loop import TrainConfig, Trainer, TrainResult
from .spec import Build, ModelSpec

__all__ = [
    "AVERAGED",
    "Criterion",
    "TranslationData",
    "TranslationTask",
    "Translator",
    "load_corpus",
    "load_translator",
    "train_translator",
    "translate",
    "translate_texts",
]

PAD_ID, BOS_ID, EOS_ID = (SPECIAL_TOKENS.index(t) for t in (PAD, BOS, EOS))
#: The folder of a run that holds the averaged final weights (Vaswani et al. Section 6.1).
AVERAGED = "averaged"
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (logits (B, T, V), target (B, T)) -> loss


@dataclass(frozen=True)
class TranslationData:
    """Which sentence pairs, how they are tokenised and batched, and how evaluation decodes.

    ``train_subset`` samples that many training pairs (0: all); ``val_subset`` keeps the first so
    many validation pairs (0: all); ``bleu_sentences`` caps the validation sentences translated at
    each evaluation (0: all), and ``eval_beam`` is the beam used there (1: greedy; the final test
    translation is the caller's choice).
    """

    corpus: Literal["multi30k", "tatoeba"] = "multi30k"
    src: str = "de"
    tgt: str = "en"
    vocab_size: int = 8000
    max_tokens: int = 4096
    max_len: int = 100
    train_subset: int = 0
    val_subset: int = 0
    holdout: int = 1000          # tatoeba: sentences in each of val and test
    bleu_sentences: int = 500
    eval_beam: int = 1
    eval_alpha: float = 0.0
    max_extra: int = 50          # output at most source length + max_extra tokens (Section 6.1)
    eval_max_tokens: int = 8000  # batches of the validation loss

    def describe(self) -> str:
        return f"{self.corpus} {self.src}->{self.tgt}"


def load_corpus(cfg: TranslationData, root: str | os.PathLike | None = None) -> dict[str, Pairs]:
    """``{"train", "val", "test"}`` -> (source, target) sentence pairs of ``cfg``'s corpus
    (:func:`paperzoo.data.text.corpus_splits`)."""
    return corpus_splits(cfg.corpus, src=cfg.src, tgt=cfg.tgt, holdout=cfg.holdout, root=root)


# --- the task ----------------------------------------------------------------------------------

def masked_nll_sum(logits: torch.Tensor, target: torch.Tensor) -> tuple[float, int]:
    """Summed cross-entropy over the non-padding target tokens, and their number."""
    loss = F.cross_entropy(logits.flatten(0, 1).float(), target.flatten(), ignore_index=PAD_ID, reduction="sum")
    return loss.item(), int((target != PAD_ID).sum())


@dataclass
class Evaluation:
    """One evaluation during training: training seconds before it, and the validation translations."""

    train_seconds: float
    hypotheses: list[str]


class TranslationTask:
    """Teacher-forced training of an encoder-decoder on token batches (see the module docstring).

    Args:
        cfg: the data settings.
        splits: ``{"train", "val", "test"}`` sentence pairs (:func:`load_corpus`).
        tokenizer: the joint BPE tokenizer (learnt on ``splits["train"]``).
        criterion: the training loss, ``criterion(logits, target)``, ignoring padding.
    """

    def __init__(self, cfg: TranslationData, splits: dict[str, Pairs], tokenizer, criterion: Criterion, *,
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        self.cfg, self.tokenizer, self.criterion = cfg, tokenizer, criterion
        self.device = torch.device(device)
        train = splits["train"]
        if cfg.train_subset and cfg.train_subset < len(train):
            train = random.Random(seed).sample(train, cfg.train_subset)
        encoded = encode_pairs(tokenizer, train)
        keep = [i for i, (s, t) in enumerate(encoded) if len(s) <= cfg.max_len and len(t) - 1 <= cfg.max_len]
        self.train_pairs = [train[i] for i in keep]
        self.train_ids = [encoded[i] for i in keep]
        if not self.train_ids:
            raise UserError(f"no training pair is at most max_len={cfg.max_len} tokens long")
        self.sampler = TokenBatchSampler([(len(s), len(t) - 1) for s, t in self.train_ids],
                                         max_tokens=cfg.max_tokens, seed=seed)
        self.val, self.test = splits["val"][:cfg.val_subset or None], splits["test"]
        self.val_ids = encode_pairs(tokenizer, self.val)
        self.bleu_pairs = self.val[:cfg.bleu_sentences] if cfg.bleu_sentences else self.val
        self.sizes = {"train": len(self.train_ids), "train_dropped": len(train) - len(keep), "val": len(self.val),
                      "test": len(self.test)}
        self.evaluations: list[Evaluation] = []
        self.train_seconds = 0.0
        self._clock: float | None = None

    def meta(self) -> dict[str, Any]:
        """What checkpoints store about the data (read back by :func:`load_translator`)."""
        return {"task": "translation", "corpus": self.cfg.corpus, "src": self.cfg.src, "tgt": self.cfg.tgt,
                "vocab_size": self.tokenizer.get_vocab_size(), "tokenizer": TOKENIZER_FILE}

    def model_kwargs(self, spec: ModelSpec) -> dict[str, int]:
        """The builder's vocabulary arguments: one shared vocabulary, or source and target ones."""
        vocab_size, params = self.tokenizer.get_vocab_size(), spec.signature().parameters
        if "vocab_size" in params:
            return {"vocab_size": vocab_size}
        if "src_vocab_size" in params and "tgt_vocab_size" in params:
            return {"src_vocab_size": vocab_size, "tgt_vocab_size": vocab_size}
        raise UserError(f"{spec.name} is not a translation model (it takes no vocabulary size)")

    # --- the loop's interface ------------------------------------------------------------------

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        while True:
            for indices in self.sampler:
                yield collate_pairs([self.train_ids[i] for i in indices], pad_id=PAD_ID)

    def training_step(self, model: nn.Module, batch):
        now = time.perf_counter()
        if self._clock is not None:  # the previous step's backward and update, and this batch's loading
            self.train_seconds += now - self._clock
        self._clock = now
        src, tgt_in, tgt_out = batch
        logits = model(src, tgt_in)  # (B, T, V)
        tokens = (tgt_out != PAD_ID).sum()
        return self.criterion(logits, tgt_out), {"tokens": tokens.float()}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        self._stop_clock()
        loss, tokens = 0.0, 0
        for indices in TokenBatchSampler([(len(s), len(t) - 1) for s, t in self.val_ids],
                                         max_tokens=max(self.cfg.eval_max_tokens, self._longest()), shuffle=False):
            src, tgt_in, tgt_out = (t.to(self.device) for t in collate_pairs([self.val_ids[i] for i in indices]))
            batch_loss, n = masked_nll_sum(model(src, tgt_in), tgt_out)
            loss, tokens = loss + batch_loss, tokens + n
        hypotheses = translate_texts(model, self.tokenizer, [s for s, _ in self.bleu_pairs],
                                     beam_size=self.cfg.eval_beam, alpha=self.cfg.eval_alpha,
                                     max_extra=self.cfg.max_extra, device=self.device)
        bleu = corpus_bleu(hypotheses, [t for _, t in self.bleu_pairs])
        self.evaluations.append(Evaluation(self.train_seconds, hypotheses))
        self._clock = time.perf_counter()
        loss /= max(tokens, 1)
        return {"val_loss": loss, "val_ppl": math.exp(min(loss, 50.0)), "val_bleu": bleu.score,
                "train_seconds": self.train_seconds}

    def _stop_clock(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        if self._clock is not None:
            self.train_seconds += time.perf_counter() - self._clock
            self._clock = None

    def _longest(self) -> int:
        return max(max(len(s), len(t) - 1) for s, t in self.val_ids)

    def state_dict(self) -> dict[str, Any]:
        return {"sampler": self.sampler.state_dict(), "train_seconds": self.train_seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state["sampler"])
        self.train_seconds = float(state["train_seconds"])


# --- training ----------------------------------------------------------------------------------

def train_translator(spec: ModelSpec, data: TranslationData, train: TrainConfig, *, criterion: Criterion,
                     model_kwargs: dict[str, Any] | None = None, run_dir: str | Path | None = None,
                     data_root: str | Path | None = None, splits: dict[str, Pairs] | None = None,
                     resume: bool = False) -> tuple[TrainResult, nn.Module, TranslationTask]:
    """Learn the tokenizer on the training split (or read it back from `run_dir` when resuming),
    build the model ``spec`` describes (e.g. ``model_entry("transformer_small")``) with its
    vocabulary, and train it with the one loop.

    `splits` (from :func:`load_corpus`) saves reading the corpus again when several models train
    on the same data; the tokenizer is learnt afresh for each run (deterministic, and small).
    """
    splits = splits if splits is not None else load_corpus(data, data_root)
    run_dir = Path(run_dir) if run_dir is not None else None
    if resume and run_dir is not None and (run_dir / TOKENIZER_FILE).is_file():
        tokenizer = load_tokenizer(run_dir)
    else:
        tokenizer = train_bpe([s for pair in splits["train"] for s in pair], vocab_size=data.vocab_size)
        if run_dir is not None:
            save_tokenizer(tokenizer, run_dir)
    device = resolve_device(train.device)
    task = TranslationTask(data, splits, tokenizer, criterion, device=device, seed=train.seed)
    model_kwargs = {**dict(model_kwargs or {}), **task.model_kwargs(spec)}
    torch.manual_seed(train.seed)  # the initialisation depends on the run's seed only
    model = spec.build(**model_kwargs)
    meta = {"model": spec.name, "model_kwargs": model_kwargs, "data": task.meta(),
            "criterion": getattr(criterion, "__name__", repr(criterion))}
    trainer = Trainer(model, task, train, run_dir=run_dir, model_meta=meta)
    return trainer.fit(resume=resume), trainer.model, task


# --- translating -------------------------------------------------------------------------------

@torch.no_grad()
def translate_texts(model: nn.Module, tokenizer, texts: Sequence[str], *, beam_size: int = 4, alpha: float = 0.6,
                    max_extra: int = 50, batch_size: int = 64, device: str | torch.device = "cpu") -> list[str]:
    """Detokenised translations of `texts` (beam search; greedy with ``beam_size=1``), in order.

    Sources are sorted by length and translated `batch_size` at a time; the model is put in
    eval mode and left there."""
    model.eval()
    ids = [e.ids + [EOS_ID] for e in tokenizer.encode_batch(list(texts))]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: list[str] = [""] * len(ids)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        src = collate_pairs([(ids[i], [BOS_ID]) for i in chunk], pad_id=PAD_ID)[0].to(device)  # (B, S)
        hyps = decode(model, src, bos=BOS_ID, eos=EOS_ID, pad=PAD_ID, beam_size=beam_size,
                      alpha=alpha if beam_size > 1 else 0.0, max_extra=max_extra)  # (B, T)
        for i, row in zip(chunk, hyps.tolist()):
            out[i] = tokenizer.decode(row[:row.index(EOS_ID)] if EOS_ID in row else row)
    return out


@dataclass
class Translator:
    """A trained model with its tokenizer, as :func:`load_translator` rebuilds it."""

    model: nn.Module
    tokenizer: Any
    meta: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __call__(self, texts: Sequence[str], *, beam_size: int = 4, alpha: float = 0.6,
                 max_extra: int = 50) -> list[str]:
        return translate_texts(self.model, self.tokenizer, texts, beam_size=beam_size, alpha=alpha,
                               max_extra=max_extra, device=self.device)


def _model_path(path: Path) -> Path:
    """The weights to load from `path`: a ``model.safetensors``, a folder holding one, a run
    folder's averaged weights if it has them, else its newest checkpoint."""
    if path.is_file():
        return path
    for candidate in (path / MODEL_FILE, path / AVERAGED / MODEL_FILE):
        if candidate.is_file():
            return candidate
    return path  # a run or checkpoints folder: load_model_file picks the newest checkpoint


def _find_tokenizer(weights: Path) -> Path:
    """``tokenizer.json`` in the folder of the weights or up to three folders above it (run folder)."""
    folder = weights if weights.is_dir() else weights.parent
    for candidate in [folder, *folder.parents][:4]:
        if (candidate / TOKENIZER_FILE).is_file():
            return candidate / TOKENIZER_FILE
    raise UserError(f"no {TOKENIZER_FILE} found beside {weights} or in the run folder above it; "
                    "translation checkpoints are written by paperzoo.train.translation.train_translator")


def load_translator(checkpoint: str | os.PathLike, build: Build, *, device: str = "cpu") -> Translator:
    """Model and tokenizer from a run folder (its averaged weights, else its newest checkpoint),
    a checkpoint folder or a ``model.safetensors`` written by :func:`train_translator`; the model
    is rebuilt with ``build`` (e.g. :func:`paperzoo.registry.create_model`)."""
    path = Path(checkpoint)
    if not path.exists():
        raise UserError(f"no checkpoint at {path}")
    weights_path = _model_path(path)
    _, meta = load_model_file(weights_path)
    if meta.get("data", {}).get("task") != "translation" or "model" not in meta:
        raise UserError(f"{checkpoint} is not a translation model written by paperzoo (no model name and corpus "
                        "in its metadata)")
    tokenizer = load_tokenizer(_find_tokenizer(weights_path))
    model, meta = rebuild_model(weights_path, build)
    dev = resolve_device(device)
    return Translator(model.to(dev).eval(), tokenizer, meta, dev)


def translate(checkpoint: str | os.PathLike, texts: str | Sequence[str], build: Build, *, beam_size: int = 4,
              alpha: float = 0.6, device: str = "cpu") -> list[str]:
    """Translate `texts` (one string or several) with the model saved at `checkpoint` (see
    :func:`load_translator`): beam search, beam 4 and length penalty 0.6 by default."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    return load_translator(checkpoint, build, device=device)(texts, beam_size=beam_size, alpha=alpha)
