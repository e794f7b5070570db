"""Pre-training BERT with the shared loop: the task (masked LM + next sentence prediction on
:class:`~paperzoo.papers.bert.pretraining_data.PretrainingData`) and the optimiser of Appendix A.2.

Appendix A.2: "We train with batch size of 256 sequences (256 sequences * 512 tokens = 128,000
tokens/batch) for 1,000,000 steps ... We use Adam with learning rate of 1e-4, β1 = 0.9, β2 = 0.999,
L2 weight decay of 0.01, learning rate warmup over the first 10,000 steps, and linear decay of the
learning rate. We use a dropout probability of 0.1 on all layers. We use a gelu activation ... The
training loss is the sum of the mean masked LM likelihood and the mean next sentence prediction
likelihood." :func:`pretraining_recipe` is that recipe at any length (google's optimiser: Adam without
bias correction, ε 1e-6, decoupled weight decay, no decay on biases and LayerNorm; warm-up then linear
decay, the warm-up a tenth of a short run when 10,000 steps would be most of it).

:class:`PretrainingTask` reports the training losses with the masked-LM and NSP accuracies, and
evaluates on held-out instances: ``mlm_loss`` (nats per masked token; ``exp`` of it is the masked-LM
perplexity), ``mlm_accuracy`` and ``nsp_accuracy`` (%).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import torch

from ...optim import ScheduleConfig
from ...train.loop import TrainConfig
from .heads import google_adam
from .model import BertForPreTraining, pretraining_loss
from .pretraining_data import PretrainingData

Batch = dict[str, torch.Tensor]
#: The order of a training batch's tensors (the loop moves tuples of tensors to the device).
FIELDS = ("input_ids", "token_type_ids", "attention_mask", "masked_positions", "masked_ids", "masked_weights",
          "next_sentence_label")


def pretraining_recipe(steps: int, *, lr: float = 1e-4, warmup: int | None = None, log_every: int = 0,
                       eval_every: int = 0) -> TrainConfig:
    """Appendix A.2's optimiser and schedule for ``steps`` updates: google's Adam (β 0.9/0.999, ε 1e-6,
    no bias correction, decoupled weight decay 0.01, none on biases and LayerNorm) at ``lr``, linear
    warm-up over ``warmup`` steps (10,000, or a tenth of a run shorter than 100,000) then linear decay
    to 0, fp32, gradients clipped at norm 1 (google's ``optimization.py``)."""
    warmup = min(10_000, steps // 10) if warmup is None else warmup
    opt = google_adam(lr)
    schedule = ScheduleConfig(name="linear", warmup_steps=warmup, warmup="linear", warmup_factor=0.0)
    return replace(TrainConfig(), steps=steps, optimizer=opt, schedule=schedule, amp=False, grad_clip=1.0,
                   log_every=log_every or max(1, steps // 20), eval_every=eval_every)


class PretrainingTask:
    """Masked LM + NSP (Section 3.1) over ``data`` for :class:`~paperzoo.train.loop.Trainer`: batches
    of ``batch_size`` instances in a fresh random order each epoch (seeded), the MLM head run only at the
    masked positions. ``nsp=False`` drops the NSP loss (Table 5's "No NSP"). ``evaluate`` scores
    ``eval_data`` (held-out instances) in eval mode."""

    def __init__(self, data: PretrainingData, *, batch_size: int = 32, seed: int = 0, nsp: bool = True,
                 eval_data: PretrainingData | None = None, eval_batch: int = 128,
                 device: torch.device | str = "cpu") -> None:
        self.data, self.eval_data, self.nsp = data, eval_data, nsp
        self.batch_size, self.eval_batch, self.device = batch_size, eval_batch, torch.device(device)
        self.gen = torch.Generator().manual_seed(seed)
        self.epoch, self.offset = 0, 0
        self.order = torch.randperm(len(data), generator=self.gen)

    def train_batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        while True:
            if self.offset + self.batch_size > len(self.order):   # a new epoch, a new order
                self.epoch, self.offset = self.epoch + 1, 0
                self.order = torch.randperm(len(self.data), generator=self.gen)
            index = self.order[self.offset:self.offset + self.batch_size]
            self.offset += self.batch_size
            batch = self.data[index]
            yield tuple(batch[k] for k in FIELDS)

    def _losses(self, model: BertForPreTraining, batch: Batch):
        out = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"], batch["masked_positions"])
        nsp_logits, nsp_labels = (out.nsp_logits, batch["next_sentence_label"]) if self.nsp else (None, None)
        losses = pretraining_loss(out.mlm_logits, batch["masked_ids"], nsp_logits, nsp_labels,
                                  mlm_weights=batch["masked_weights"])
        w = batch["masked_weights"]
        mlm_hits = ((out.mlm_logits.argmax(-1) == batch["masked_ids"]).float() * w).sum()
        nsp_hits = (out.nsp_logits.argmax(-1) == batch["next_sentence_label"]).float().sum()
        return losses, mlm_hits, w.sum(), nsp_hits

    def training_step(self, model: BertForPreTraining, tensors: tuple[torch.Tensor, ...]):
        batch = dict(zip(FIELDS, tensors))
        losses, mlm_hits, masked, nsp_hits = self._losses(model, batch)
        metrics = {"mlm": losses.mlm.detach(), "mlm_acc": 100 * mlm_hits / masked,
                   "nsp_acc": 100 * nsp_hits / len(batch["input_ids"])}
        if losses.nsp is not None:
            metrics["nsp"] = losses.nsp.detach()
        return losses.loss, metrics

    @torch.no_grad()
    def evaluate(self, model: BertForPreTraining) -> dict[str, float]:
        if self.eval_data is None:
            return {}
        was_training = model.training
        model.eval()
        mlm_sum = mlm_hits = masked = nsp_hits = 0.0
        for start in range(0, len(self.eval_data), self.eval_batch):
            batch = {k: v.to(self.device) for k, v in self.eval_data[start:start + self.eval_batch].items()}
            losses, hits, n, nsp = self._losses(model, batch)
            mlm_sum, mlm_hits = mlm_sum + float(losses.mlm) * float(n), mlm_hits + float(hits)
            masked, nsp_hits = masked + float(n), nsp_hits + float(nsp)
        model.train(was_training)
        return {"mlm_loss": mlm_sum / masked, "mlm_accuracy": 100 * mlm_hits / masked,
                "nsp_accuracy": 100 * nsp_hits / len(self.eval_data)}

    def state_dict(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "epoch": self.epoch, "offset": self.offset, "order": self.order}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gen.set_state(state["gen"])
        self.epoch, self.offset, self.order = state["epoch"], state["offset"], state["order"]
