"""Layer normalisation's batch independence, measured on padded batches of real sentences (SST-2).

Four versions of one small sentence classifier (:mod:`.model`) are trained on SST-2 with Adam:
no normalisation, batch normalisation as ``nn.BatchNorm1d`` does it on a padded batch (padding in
the statistics), batch normalisation with statistics over the real tokens only, and layer
normalisation. Then every dev sentence is put into several random batches of other dev sentences
(padded to the longest of each batch), and, separately, given extra padding; we record how much
its output changes with BN in training mode (batch statistics) and with LN. The four classifiers are
arms of the one arm runner (:func:`~paperzoo.claims.arms.run_arms`) with the sentence task
(:func:`.task.sentence_task`), and the probes run on each trained model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.arms import Arm, ArmRun, run_arms
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.presets import Preset
from ...claims.stats import binomial_se
from ...nn import Dropout
from ...optim import OptimizerConfig, ScheduleConfig
from ...train.loop import TrainConfig
from .task import Encoded, SentenceDataConfig, sentence_task

PAPER = register_paper(PaperCard(
    key="layernorm",
    title="Layer Normalization",
    authors="Jimmy Lei Ba, Jamie Ryan Kiros, Geoffrey E. Hinton",
    year=2016,
    arxiv="1607.06450",
    venue="arXiv 2016 (NIPS 2016 Deep Learning Symposium)",
    problem=("Batch normalisation's statistics are sums over the mini-batch: in training each example's output "
             "depends on the other examples, it needs large enough batches, and for recurrent or variable-length "
             "inputs each time step needs its own statistics, which padding and short batches corrupt."),
    idea=("Normalise over the hidden units of one layer for one example instead: mu = 1/H sum_i a_i, "
          "sigma = sqrt(1/H sum_i (a_i - mu)^2), h = f(g / sigma * (a - mu) + b) (Eq. 3-4). The computation is "
          "the same in training and at test time and does not depend on the batch, so it applies unchanged to "
          "RNNs, to variable-length sequences and to batches of one."),
))

SST2 = SentenceDataConfig(dataset="sst2", batch_size=50, eval_batch_size=200, min_freq=1)
RECIPE = TrainConfig(
    steps=1000,   # about 7 epochs of the 6,920 SST-2 training sentences at batch 50
    optimizer=OptimizerConfig(name="adam", lr=3e-3, weight_decay=0.0),
    schedule=ScheduleConfig(name="constant"),
    eval_every=100, log_every=25, checkpoint_every=0, keep_checkpoints=1, amp=False, progress=True)

NORM_LABELS = {"none": "no normalisation", "batch": "BN (padding in the statistics)",
               "masked_batch": "BN (real tokens only)", "layer": "LN"}
SHORT_LABELS = {"none": "none", "batch": "BN\n(with padding)", "masked_batch": "BN\n(real tokens)", "layer": "LN"}



@dataclass(frozen=True, kw_only=True)
class DependencePreset(Preset):
    """Training of the four classifiers, and how their batch dependence is probed.

    Every dev sentence is placed in ``shuffles`` random batches of ``probe_batch_size`` dev
    sentences; ``extra_padding`` pads every batch of the first shuffle by that many more tokens.
    Output changes at or below ``tolerance`` (logits, float32 round-off) count as none.
    """

    data: SentenceDataConfig = SST2
    train: TrainConfig = RECIPE
    norms: tuple[str, ...] = ("none", "batch", "masked_batch", "layer")
    embed_dim: int = 64
    channels: int = 64
    layers: int = 2
    dropout: float = 0.5
    shuffles: int = 8
    probe_batch_size: int = 32
    extra_padding: int = 16
    tolerance: float = 1e-4

    #: The sentence data is this paper's own type: its smoke overrides are given here.
    SMOKE: ClassVar[dict[str, str]] = {"data.batch_size": "16", "data.train_subset": "256", "data.eval_subset": "64",
                                       "shuffles": "2"}


# --- probing ---------------------------------------------------------------------------------

def probe_model(model: nn.Module, *, batch_norm_training: bool) -> nn.Module:
    """A copy of ``model`` for probing: BN in training mode (batch statistics) or evaluation mode,
    dropout off either way. The copy keeps the trained model's running statistics untouched."""
    probe = copy.deepcopy(model)
    probe.train(batch_norm_training)
    for m in probe.modules():
        if isinstance(m, (Dropout, nn.Dropout)):
            m.eval()
    return probe


@torch.no_grad()
def logits_in_batches(model: nn.Module, data: Encoded, *, shuffles: int, batch_size: int, seed: int = 0,
                      extra_padding: int = 0) -> torch.Tensor:
    """(shuffles, N, C): every example's logits when the data is cut into random batches of
    ``batch_size``, once per shuffle, each batch right-padded to its longest sentence plus
    ``extra_padding`` tokens."""
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    out = None
    for k in range(shuffles):
        for rows in torch.randperm(len(data), generator=g).split(batch_size):
            tokens, _ = data.batch(rows.tolist())
            logits = model(F.pad(tokens, (0, extra_padding)).to(device)).float().cpu()  # (b, C)
            if out is None:
                out = torch.empty(shuffles, len(data), logits.shape[1])
            out[k, rows] = logits
    return out


def dependence(model: nn.Module, data: Encoded, p: DependencePreset, *, seed: int) -> dict[str, Any]:
    """How much each example's output moves with its batch, in BN's training and evaluation modes:
    summaries over the examples, and each example's change (``*_items``) for the noise of the means."""
    kw = dict(shuffles=p.shuffles, batch_size=p.probe_batch_size, seed=seed)
    train_mode = probe_model(model, batch_norm_training=True)
    across = logits_in_batches(train_mode, data, **kw)  # (K, N, C)
    padded = logits_in_batches(train_mode, data, **{**kw, "shuffles": 1}, extra_padding=p.extra_padding)
    evaluated = logits_in_batches(probe_model(model, batch_norm_training=False), data, **kw)
    spread = (across.max(0).values - across.min(0).values).amax(-1)  # (N,): range over batchings
    pad_shift = (padded[0] - across[0]).abs().amax(-1)  # (N,)
    eval_spread = (evaluated.max(0).values - evaluated.min(0).values).amax(-1)
    predictions = across.argmax(-1)  # (K, N)
    return {
        "batch_change": spread.mean().item(), "batch_change_max": spread.max().item(),
        "flips": 100 * (predictions != predictions[0]).any(0).float().mean().item(),
        "pad_change": pad_shift.mean().item(), "pad_change_max": pad_shift.max().item(),
        "pad_flips": 100 * (padded[0].argmax(-1) != predictions[0]).float().mean().item(),
        "eval_change_max": eval_spread.max().item(),
        "batch_change_items": spread.tolist(), "pad_change_items": pad_shift.tolist(),
    }


# --- training and probing ------------------------------------------------------------------------

def _arms(p: DependencePreset) -> list[Arm]:
    """One sentence classifier per normalisation, on the sentence task."""
    common = dict(embed_dim=p.embed_dim, channels=p.channels, layers=p.layers, dropout=p.dropout)
    return [Arm(norm, "sentence_conv", {"norm": None if norm == "none" else norm, **common}, task=sentence_task)
            for norm in p.norms]


METRICS = ("batch_change", "batch_change_max", "flips", "pad_change", "pad_change_max", "pad_flips",
           "eval_change_max")
#: The mean changes, recorded with each dev sentence's change (the items of their noise).
MEAN_CHANGES = ("batch_change", "pad_change")
#: LN's largest change of a logit over every dev sentence, batching, padding and seed, in 1e-6 logits.
LN_CHANGE = "largest_change_e6/layer"


def batch_independence_experiment(ctx: RunContext) -> Outcome:
    p: DependencePreset = ctx.preset

    def probe(run: ArmRun) -> dict[str, Any]:
        return dependence(run.model, run.task.dev, p, seed=run.seed)

    results = run_arms(ctx, _arms(p), data=p.data, train=p.train, after=probe)
    out = Outcome(data=next(iter(results.values())).source)
    for norm, res in results.items():
        for k in METRICS:
            if k in MEAN_CHANGES:
                out.add_items(f"{k}/{norm}", res.extras[f"{k}_items"])
            else:
                out.add(f"{k}/{norm}", res.extras[k])
        out.add(f"dev_accuracy/{norm}", [100 * (1 - r.result.final["dev_error"]) for r in res.runs])
    if "layer" in results:
        largest = max(max(out.per_seed["batch_change_max/layer"]), max(out.per_seed["pad_change_max/layer"]))
        out.add_exact(LN_CHANGE, 1e6 * largest)
    curves = {}
    for norm, res in results.items():
        steps, errors = res.runs[0].result.history("eval", "dev_error")
        curves[norm] = (steps, [100 * (1 - e) for e in errors])
    out.tables.append(_table(out, p))
    out.figures.append(dependence_figure(ctx.run_dir / "batch_dependence.png", out, p, curves))
    out.notes += _notes(p)
    return out


def _table(out: Outcome, p: DependencePreset) -> str:
    rows = ["| normalisation | dev accuracy (%) | output change across batchings: mean / max (logits) | "
            "predictions flipped (%) | output change with extra padding: mean / max | flipped (%) | "
            "eval-mode change, max |", "|---|---|---|---|---|---|---|"]
    for n in p.norms:
        rows.append(f"| {NORM_LABELS[n]} | {out.fmt(f'dev_accuracy/{n}')} | {out.values[f'batch_change/{n}']:.2g} / "
                    f"{out.values[f'batch_change_max/{n}']:.2g} | {out.fmt(f'flips/{n}')} | "
                    f"{out.values[f'pad_change/{n}']:.2g} / {out.values[f'pad_change_max/{n}']:.2g} | "
                    f"{out.fmt(f'pad_flips/{n}')} | {out.values[f'eval_change_max/{n}']:.2g} |")
    return "\n".join(rows)


def _notes(p: DependencePreset) -> list[str]:
    return [
        f"Each dev sentence is put into {p.shuffles} random batches of {p.probe_batch_size} dev sentences (padded to "
        "the longest of the batch); 'output change across batchings' is, per sentence, the largest range of a "
        f"logit over those batchings, averaged (mean) or maximised (max) over sentences. 'Extra padding' adds "
        f"{p.extra_padding} padding tokens to every batch of the first batching. BN layers are in training mode "
        "(batch statistics), dropout is off; the last column repeats the batchings with BN in evaluation mode "
        "(running statistics).",
        "Dev accuracy is measured at the last step in evaluation mode (BN with its running statistics), on the 872 "
        f"SST-2 dev sentences (one model's binomial standard error at 83% is about {binomial_se(17, 872):.1f} points); "
        "it is reported, not judged. SST-2 here is the sentence-level set of Kim (2014), 6,920 training "
        "sentences, not GLUE's 67k phrases.",
        "The classifier (embedding, two Conv1d-norm-ReLU blocks, masked mean pooling, linear) is ours; the paper "
        "makes this argument for RNNs, where BN would need statistics per time step.",
    ]


def dependence_figure(path: Path, out: Outcome, p: DependencePreset,
                      curves: dict[str, tuple[list[int], list[float]]]) -> Path:
    import matplotlib.pyplot as plt  # the Agg backend is selected by paperzoo.claims.figures

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=150)
    xs = range(len(p.norms))
    floor = p.tolerance / 10   # zero changes drawn at the floor of the log scale
    for offset, (key, label) in enumerate((("batch_change", "other sentences in the batch"),
                                           ("pad_change", "extra padding"))):
        left.bar([x + 0.4 * offset - 0.2 for x in xs], [max(out.values[f"{key}/{n}"], floor) for n in p.norms],
                 width=0.4, label=label)
    left.axhline(p.tolerance, color="grey", linestyle=":", linewidth=0.8)
    left.set_yscale("log")
    left.set_ylim(bottom=floor / 2)
    left.set_xticks(list(xs), [SHORT_LABELS[n] for n in p.norms], fontsize=7)
    left.set_ylabel("mean output change (logits)")
    left.set_title(f"Change of one sentence's output with its batch\n(dotted: tolerance; bars at {floor:g}: "
                   "at or below it)", fontsize=8)
    left.legend(fontsize=7)
    for n, (steps, acc) in curves.items():
        right.plot(steps, acc, label=NORM_LABELS[n])
    right.set_xlabel("training steps")
    right.set_ylabel("SST-2 dev accuracy (%)")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


#: LN's outputs may move by float32 round-off only: a deterministic check of the largest change (no
#: noise model is needed: the same computation repeated). BN's mean change over the dev sentences
#: (noise: each sentence's change, and the seeds) must be far above round-off, by 100 tolerances,
#: and it does not hold when its interval lies below one tolerance (no dependence at all).
TOLERANCE = R.Of(lambda p: p.tolerance, "the tolerance")
ROUND_OFF_E6 = R.Of(lambda p: 1e6 * p.tolerance, "the tolerance (float32 round-off)")
FAR_ABOVE = R.Of(lambda p: 100 * p.tolerance, "100 tolerances")


register_claim(Claim(
    id="layernorm.batch-independence",
    paper="layernorm",
    title="LN's output for a sequence does not depend on the rest of the batch; BN's does",
    statement=("Batch normalisation in training mode normalises with statistics of the whole mini-batch, so one "
               "sequence's output changes with the other sequences in the batch and with their padding; layer "
               "normalisation normalises each example on its own, so its output does not change."),
    source="Section 1 and Section 3 (Eq. 3-4: statistics over the hidden units of one case); Section 6 on RNNs",
    presets={
        "quick": DependencePreset(
            description="4 sentence classifiers (none, BN, BN on real tokens, LN), 300 Adam steps of 50 SST-2 "
                        "sentences each (about 2 epochs), dependence probed on the 872 dev sentences in 8 batchings; "
                        "21 s on 2 idle CPU cores",
            train=replace(RECIPE, steps=300, eval_every=60, log_every=20)),
        "full": DependencePreset(
            description="4 sentence classifiers, 1,000 Adam steps of 50 sentences (about 7 epochs), 3 seeds, "
                        "dependence probed on the 872 dev sentences in 8 batchings; 12 min on 2 busy CPU cores with "
                        "1 torch thread", seeds=3),
    },
    experiment=batch_independence_experiment,
    verdict=R.all_of(
        R.at_most(LN_CHANGE, ROUND_OFF_E6, words="LN's largest change of a logit (in 1e-6 logits) over every dev "
                                                 "sentence, batching, padding and seed"),
        R.at_least("batch_change/batch", FAR_ABOVE, fails_below=TOLERANCE,
                   words="the mean change of BN's logits (training mode, padding in the statistics) across batchings"),
        R.at_least("pad_change/batch", FAR_ABOVE, fails_below=TOLERANCE,
                   words="the mean change of BN's logits with extra padding")),
    notes=("A property of the equations rather than an empirical finding; the measurement shows how large BN's "
           "batch dependence is on real padded text (how many predictions flip) and checks LN's independence "
           "numerically."),
))
