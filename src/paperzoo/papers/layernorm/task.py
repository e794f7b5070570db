"""Sentence classification as a task of the training loop: padded batches of token ids.

Each training batch is ``(tokens, labels)``: ``batch_size`` sentences drawn without replacement
(a new permutation every epoch), right-padded with 0 to the longest of the batch. Evaluation runs
the dev split in fixed batches. The vocabulary comes from the training split.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...data.sentences import LabelledSentences, Vocabulary, load_sentences, pad_batch


@dataclass(frozen=True)
class SentenceDataConfig:
    """Which sentence set and how it is batched. ``min_freq``: words seen fewer times in the
    training split map to ``<unk>``."""

    dataset: str = "sst2"
    train_split: str = "train"
    eval_split: str = "dev"
    batch_size: int = 50
    eval_batch_size: int = 200
    min_freq: int = 1
    train_subset: int = 0    # 0: every training sentence
    eval_subset: int = 0


class Encoded:
    """A split as token-id lists and a label tensor."""

    def __init__(self, data: LabelledSentences, vocab: Vocabulary, limit: int = 0):
        n = min(limit, len(data)) if limit else len(data)
        self.ids = [vocab.encode(s) for s in data.tokens[:n]]
        self.labels = torch.tensor(data.labels[:n], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, rows: Sequence[int], *, length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        tokens, _ = pad_batch([self.ids[i] for i in rows], length=length)
        return tokens, self.labels[list(rows)]


class SentenceClassificationTask:
    """Cross-entropy on padded sentence batches; reports loss and error (a fraction) on the eval split."""

    def __init__(self, cfg: SentenceDataConfig, *, device: str | torch.device = "cpu", seed: int = 0,
                 root: str | Path | None = None):
        self.cfg, self.device = cfg, torch.device(device)
        train = load_sentences(cfg.dataset, cfg.train_split, root=root)
        dev = load_sentences(cfg.dataset, cfg.eval_split, root=root)
        self.vocab = Vocabulary.build(train.tokens, min_freq=cfg.min_freq)
        self.num_classes = max(train.num_classes, dev.num_classes)
        self.train, self.dev = Encoded(train, self.vocab, cfg.train_subset), Encoded(dev, self.vocab, cfg.eval_subset)
        self.source = f"{cfg.dataset} ({train.source}: {len(self.train)} sentences; {dev.source}: {len(self.dev)})"
        self._rng = torch.Generator().manual_seed(seed)
        self._epoch_start = self._rng.get_state()
        self._order, self._position = torch.randperm(len(self.train), generator=self._rng), 0

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        b = self.cfg.batch_size
        while True:
            if self._position + b > len(self._order):  # a new epoch (the last incomplete batch is dropped)
                self._epoch_start = self._rng.get_state()
                self._order, self._position = torch.randperm(len(self.train), generator=self._rng), 0
            rows = self._order[self._position:self._position + b].tolist()
            self._position += b
            yield tuple(t.to(self.device) for t in self.train.batch(rows))

    def training_step(self, model: nn.Module, batch):
        tokens, labels = batch
        logits = model(tokens)
        return F.cross_entropy(logits, labels), {"error": (logits.argmax(1) != labels).float().mean()}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        loss = errors = 0.0
        for start in range(0, len(self.dev), self.cfg.eval_batch_size):
            tokens, labels = self.dev.batch(range(start, min(start + self.cfg.eval_batch_size, len(self.dev))))
            logits = model(tokens.to(self.device)).float()
            labels = labels.to(self.device)
            loss += F.cross_entropy(logits, labels, reduction="sum").item()
            errors += (logits.argmax(1) != labels).sum().item()
        return {"dev_loss": loss / len(self.dev), "dev_error": errors / len(self.dev)}

    def meta(self) -> dict[str, Any]:
        return {"dataset": self.cfg.dataset, "source": self.source, "vocab_size": len(self.vocab)}

    def model_kwargs(self, spec: Any) -> dict[str, Any]:
        """The builder arguments the data fixes: the vocabulary and the number of classes."""
        return {"vocab_size": len(self.vocab), "num_classes": self.num_classes}

    def state_dict(self) -> dict[str, Any]:
        return {"epoch_start": self._epoch_start.clone(), "position": self._position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._rng.set_state(state["epoch_start"])
        self._order = torch.randperm(len(self.train), generator=self._rng)
        self._position = state["position"]


def sentence_task(cfg: SentenceDataConfig, *, device: str | torch.device, seed: int, root: str | Path | None,
                  **_: Any) -> SentenceClassificationTask:
    """The task for an arm of :func:`paperzoo.claims.arms.run_arm` (``Arm(task=sentence_task)``),
    which also passes the run folder and ``channels_last``; neither matters here."""
    return SentenceClassificationTask(cfg, device=device, seed=seed, root=root)
