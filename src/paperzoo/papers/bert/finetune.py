"""Fine-tuning BERT on sentence classification with the shared loop (Section 4.1, Fig. 4b).

:class:`SentenceTask` feeds ``[CLS] sentence [SEP]`` (WordPiece, at most ``max_length`` tokens) of one
of the sentence-classification sets in ``<data root>/sentence-classification/`` (SST-2, SST-1, TREC:
:data:`paperzoo.data.sentences.SENTENCE_SETS`) to a :class:`~paperzoo.papers.bert.heads.SequenceClassifier`,
and evaluates accuracy on a held-out split, keeping each example's 0/100 so that two models scored on
the same examples are compared example by example. ``holdout`` > 0 holds back that share of the
training split (a fixed, seeded choice) and evaluates on it instead: the split on which learning rates
are selected, never the reported one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from ...data.sentences import LabelledSentences, load_sentences
from ...train.loop import TrainConfig
from .heads import SequenceClassifier, finetune_schedule_config, google_adam
from .tokenizer import special_ids

#: The split each set reports (SST's test split is not in the shared data; the paper's ablations use dev).
EVAL_SPLIT = {"sst2": "dev", "sst1": "dev", "trec": "test"}


def encode_sentences(tokenizer, sentences: Sequence[Sequence[str]], max_length: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """``[CLS] tokens [SEP]`` of each (already word-split) sentence, truncated to ``max_length`` and padded:
    input ids and attention mask, (N, max_length) each."""
    sp = special_ids(tokenizer)
    ids = torch.full((len(sentences), max_length), sp.pad, dtype=torch.long)
    for i, enc in enumerate(tokenizer.encode_batch([" ".join(s) for s in sentences], add_special_tokens=False)):
        row = [sp.cls, *enc.ids[:max_length - 2], sp.sep]
        ids[i, :len(row)] = torch.tensor(row)
    return ids, (ids != sp.pad).long()


def finetune_recipe(steps: int, *, lr: float, warmup_fraction: float = 0.1) -> TrainConfig:
    """The fine-tuning recipe (Section 4.1, Appendix A.3) as a TrainConfig: google's Adam (ε 1e-6, no bias
    correction, decoupled weight decay 0.01, none on biases and LayerNorm), linear warm-up over
    ``warmup_fraction`` then linear decay to 0, fp32 (the loop's version of :func:`heads.finetune_optimizer`)."""
    opt = google_adam(lr)
    return replace(TrainConfig(), steps=steps, optimizer=opt, amp=False, log_every=max(1, steps // 10),
                   schedule=finetune_schedule_config(steps, warmup_fraction=warmup_fraction), progress=False)


class SentenceTask:
    """Cross-entropy on ``[CLS] sentence [SEP]`` of set ``name`` for :class:`~paperzoo.train.loop.Trainer`;
    ``evaluate`` gives ``accuracy`` (%) on the reported split (or the held-back part of the training split
    when ``holdout`` > 0) and keeps each example's 0/100 in ``self.correct``."""

    def __init__(self, name: str, tokenizer, *, max_length: int = 64, batch_size: int = 32, seed: int = 0,
                 holdout: float = 0.0, root: str | None = None, device: torch.device | str = "cpu") -> None:
        train = load_sentences(name, "train", root=root)
        labels = torch.tensor(train.labels)
        ids, mask = encode_sentences(tokenizer, train.tokens, max_length)
        if holdout:
            order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1234))  # fixed, not `seed`
            cut = int(len(labels) * holdout)
            held, kept = order[:cut], order[cut:]
            self.eval_set = (ids[held], mask[held], labels[held])
            ids, mask, labels = ids[kept], mask[kept], labels[kept]
            self.source = f"{train.source} (a held-back {holdout:.0%} of it)"
        else:
            test: LabelledSentences = load_sentences(name, EVAL_SPLIT[name], root=root)
            self.eval_set = (*encode_sentences(tokenizer, test.tokens, max_length), torch.tensor(test.labels))
            self.source = test.source
        self.train_set = (ids, mask, labels)
        self.num_classes = max(train.num_classes, int(self.eval_set[2].max()) + 1)
        self.batch_size, self.device = batch_size, torch.device(device)
        self.gen = torch.Generator().manual_seed(seed)
        self.order, self.offset = torch.randperm(len(labels), generator=self.gen), 0
        self.correct: list[float] = []

    def __len__(self) -> int:
        return len(self.train_set[2])

    def train_batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        while True:
            if self.offset + self.batch_size > len(self.order):
                self.order, self.offset = torch.randperm(len(self.order), generator=self.gen), 0
            index = self.order[self.offset:self.offset + self.batch_size]
            self.offset += self.batch_size
            yield tuple(t[index] for t in self.train_set)

    def training_step(self, model: SequenceClassifier, batch: tuple[torch.Tensor, ...]):
        ids, mask, labels = batch
        logits = model(ids, None, mask)  # (B, K)
        return F.cross_entropy(logits, labels), {}

    @torch.no_grad()
    def evaluate(self, model: SequenceClassifier) -> dict[str, float]:
        ids, mask, labels = (t.to(self.device) for t in self.eval_set)
        preds = torch.cat([model(ids[i:i + 256], None, mask[i:i + 256]).argmax(-1) for i in range(0, len(ids), 256)])
        self.correct = (100.0 * (preds == labels).double()).tolist()
        return {"accuracy": sum(self.correct) / len(self.correct)}

    def state_dict(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "order": self.order, "offset": self.offset}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gen.set_state(state["gen"])
        self.order, self.offset = state["order"], state["offset"]
