"""The VGG paper's card and its claims, run on CIFAR-10 with the CIFAR variants of configurations A-E.

The paper's evidence is ImageNet top-1/top-5 error (Tables 3-6), which paperzoo cannot ship; every
claim here makes the paper's comparison on CIFAR-10 with the same convolutional stacks
(:mod:`paperzoo.papers.vgg.model`, ``*_cifar``: five 2x2 pools take 32x32 to 1x1, fc6/fc7 of 512
units). The paper's ImageNet numbers are shown beside ours, labelled as such: they are the
targets of the ordering, not of the values.

Recipe (Section 3.1): SGD with momentum 0.9, batch 256, weight decay 5e-4, dropout 0.5 on fc6 and
fc7, learning rate 0.01 divided by 10 when the validation accuracy stops improving (three times
in 74 epochs). ``full`` presets: 74 epochs of the 45k training images (13,000 iterations of 256),
the rate divided by 10 after 5 evaluations (epochs) without improvement of the 5k validation
error, at most three times (the paper gives no patience), random crops of the 4-pixel padded
image and flips as the CIFAR analogue of random 224x224 crops of the rescaled image. Every net
starts from Glorot initialisation, which the paper's footnote reports to work without
pre-training (instead of initialising deeper nets from a trained A, Section 3.1). ``quick``
presets train nets of 8/16/32/64/64 channels with 64-unit fc layers and no dropout for 400
iterations of 64 on a CPU, initialised as He et al. (2015) (with Glorot's, D does not leave chance
within 400 iterations): they show the comparison early in training, not the paper's setting.

Noise: test errors on n images have a binomial standard error sqrt(p (1 - p) / n); a difference
counts when it exceeds two standard errors of the difference (or two standard errors of the
seed means, with several seeds, whichever is larger). The ensemble is compared with its members
on the same images, with the paired (McNemar) standard error.
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from ...claims import Claim, Outcome, RunContext, Target, Verdict
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.classification import (
    Arm,
    ArmResult,
    error_table,
    lower_beyond_noise,
    noise_margin,
    paired_margin,
    record_errors,
    train_arms,
)
from ...claims.figures import bars, error_curves, lines
from ...data.imagenet import random_crop, random_hflip, resize_shorter, scale_jitter
from ...optim import OptimizerConfig, ScheduleConfig
from ...registry import create_model
from ...train.classification import DataConfig, ImageClassificationTask, evaluate_classifier
from ...train.env import resolve_device
from ...train.loop import TrainConfig, Trainer, TrainResult
from .model import WIDTHS

PAPER = register_paper(PaperCard(
    key="vgg",
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Karen Simonyan, Andrew Zisserman",
    year=2014,
    arxiv="1409.1556",
    venue="ICLR 2015",
    problem=("Convolutional networks had improved ImageNet results with many design changes at once (larger "
             "first-layer filters and strides, normalisation, multi-scale testing); how much their depth "
             "matters, with everything else fixed, had not been measured."),
    idea=("Fix the design to stacks of 3x3 convolutions (stride 1, padding 1) and 2x2 max-pooling, and add "
          "depth: configurations A-E with 11 to 19 weight layers. Two 3x3 layers see a 5x5 field and three a "
          "7x7 one, with more non-linearities and fewer parameters than one large filter. Deep nets are "
          "trained from a shallower trained net, with scale jittering, and evaluated densely over the whole "
          "image at several scales; depth lowers the error, to 7.3% top-5 with an ensemble."),
))

#: Table 3, single-scale evaluation on the ImageNet validation set, training and test scale 256:
#: (top-1, top-5) error in %.
TABLE3 = {"A": (29.6, 10.4), "A-LRN": (29.7, 10.5), "B": (28.7, 9.9), "C": (28.1, 9.4), "D": (27.0, 8.8),
          "E": (27.3, 9.0)}
#: Table 3, D: fixed S = 256 (tested at Q = 256) against S jittered in [256, 512] (tested at Q = 384).
TABLE3_JITTER = {"fixed": (27.0, 8.8), "jitter": (25.6, 8.1)}
#: Section 4.1: the shallow 5x5 net's top-1 error is 7% above B's (centre crop).
SHALLOW_INCREASE = 7.0
#: Tables 5 and 6: E alone (multi-scale dense evaluation) and the ensemble of D and E (dense), top-1/top-5.
ENSEMBLE = {"E": (24.8, 7.5), "D+E": (24.0, 7.1)}

#: The CIFAR models of each configuration (``"A-LRN"`` is A with ``lrn=True``).
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "A": ("vgg11_cifar", {}), "A-LRN": ("vgg11_cifar", {"lrn": True}), "B": ("vgg13_cifar", {}),
    "C": ("vgg16_c_cifar", {}), "D": ("vgg16_cifar", {}), "E": ("vgg19_cifar", {}),
    "B-5x5": ("vgg_shallow5x5_cifar", {}),
}
INITS = {"normal": "N(0, 0.01^2)", "glorot": "Glorot", "kaiming": "He (Kaiming)"}
WEIGHT_LAYERS = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19, "B-5x5": 8}

CIFAR_DATA = DataConfig(dataset="cifar10", batch_size=256, augment=True, val_size=5000, eval_batch_size=1000)
#: Section 3.1 on CIFAR-10: 74 epochs of 45k images at batch 256; the rate divided by 10 on plateaus.
EPOCH = 176
PAPER_RECIPE = TrainConfig(
    steps=74 * EPOCH,
    optimizer=OptimizerConfig(name="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4),
    schedule=ScheduleConfig(name="plateau", gamma=0.1, patience=5, min_factor=1e-3, monitor="val_error"),
    eval_every=EPOCH, log_every=44, checkpoint_every=10 * EPOCH, keep_checkpoints=1, best_metric="val_error",
    amp=True, channels_last=True, progress=True)
QUICK_DATA = DataConfig(dataset="cifar10", batch_size=64, augment=True, val_size=0, eval_batch_size=1000)
QUICK_RECIPE = TrainConfig(
    steps=400,
    optimizer=OptimizerConfig(name="sgd", lr=0.02, momentum=0.9, weight_decay=5e-4),
    schedule=ScheduleConfig(name="multistep", milestones=(300,), warmup_steps=50, warmup_factor=0.0,
                            warmup="linear"),
    eval_every=200, log_every=25, checkpoint_every=0, keep_checkpoints=1, amp=False, progress=True)
QUICK_WIDTHS = (8, 16, 32, 64, 64)

#: Shrinks any preset here to a few seconds: the test suite's smoke run of every claim.
SMOKE = {"train.steps": "4", "train.eval_every": "2", "train.log_every": "1", "data.batch_size": "16",
         "data.train_subset": "256", "data.eval_subset": "64"}


@dataclass(frozen=True)
class VggPreset:
    """A comparison of VGG configurations on CIFAR-10: which ones, how wide, on what data, how trained."""

    description: str
    configs: tuple[str, ...]
    data: DataConfig = CIFAR_DATA
    train: TrainConfig = PAPER_RECIPE
    seeds: int = 1
    widths: tuple[int, ...] = WIDTHS
    hidden: int = 512
    dropout: float = 0.5
    init: Literal["normal", "glorot", "kaiming"] = "glorot"
    scale: int = 36                      # vgg.scale-jitter: the fixed training scale S (test Q = S)
    jitter: tuple[int, int] = (36, 72)   # vgg.scale-jitter: S drawn from [Smin, Smax], test Q = (Smin + Smax) / 2
    workers: int = 2                     # vgg.data-parallel: processes sharing each batch
    precision: Literal["float32", "float64"] = "float64"   # vgg.data-parallel: the arithmetic of both runs


def _full(configs: tuple[str, ...], what: str = "", **kw) -> VggPreset:
    kw = {"data": CIFAR_DATA, "train": PAPER_RECIPE, **kw}
    recipe = ("Section 3.1 recipe on CIFAR-10 (74 epochs at batch 256)" if kw["train"] == PAPER_RECIPE else
              f"{kw['train'].steps} iterations at batch {kw['data'].batch_size}")
    return VggPreset(f"{recipe} on one GPU machine: {what or ', '.join(configs)}", configs, **kw)


def _quick(configs: tuple[str, ...], what: str = "", **kw) -> VggPreset:
    kw = {"data": QUICK_DATA, "train": QUICK_RECIPE, **kw}
    return VggPreset(f"{kw['train'].steps} iterations at batch {kw['data'].batch_size} on a CPU, 8-64-channel nets: "
                     f"{what or ', '.join(configs)}", configs, widths=QUICK_WIDTHS, hidden=64, dropout=0.0,
                     init="kaiming", **kw)


def model_kwargs(p: VggPreset, config: str) -> dict[str, Any]:
    return {**MODELS[config][1], "widths": p.widths, "hidden": p.hidden, "dropout": p.dropout, "init": p.init}


def _arms(p: VggPreset) -> list[Arm]:
    return [Arm(c, MODELS[c][0], model_kwargs(p, c)) for c in p.configs]


def _n_test(p: VggPreset) -> int:
    return p.data.eval_subset or 10000


def _listing(out: Outcome, labels: Sequence[str], key: str = "test_error") -> str:
    return ", ".join(f"{label} {out.fmt(f'{key}/{label}')}%" for label in labels)


def _not_learning(out: Outcome, labels: Sequence[str], n: int) -> list[str]:
    """Arms whose test error is within noise of chance (90% on ten classes): they did not learn, and
    comparing them says nothing about the paper's claim."""
    return [label for label in labels
            if out.values[f"test_error/{label}"] >= 90.0 - noise_margin(90.0, 90.0, n)]


def _notes(out: Outcome, p: VggPreset) -> list[str]:
    notes = [f"Nets of widths {'/'.join(map(str, p.widths))} with {p.hidden}-unit fc6/fc7 (dropout {p.dropout:g}), "
             f"{INITS[p.init]} initialisation; {p.train.steps:,} iterations of {p.data.batch_size} with SGD (momentum "
             f"{p.train.optimizer.momentum:g}, weight decay {p.train.optimizer.weight_decay:g}, learning rate "
             f"{p.train.optimizer.lr:g}, schedule {p.train.schedule.name}); test error on {_n_test(p):,} CIFAR-10 "
             "test images at the last iteration."]
    if p.init == "kaiming":
        notes.append("He et al.'s (2015) initialisation replaces the paper's (Glorot's, its footnote; or a trained "
                     "A): with Glorot's, D stays at chance (90% test error) through 400 iterations at learning rate "
                     "0.02 or 0.05 (measured); with Glorot weights each ReLU layer halves the signal's second moment, "
                     "about 2^-8 in standard deviation over 16 layers.")
    if p.train.steps < PAPER_RECIPE.steps:
        notes.append("This is a short CPU run (a quick preset): it shows the comparison early in training, with "
                     "narrow nets, far from the paper's setting. Run `--preset full` on a GPU for the Section 3.1 "
                     "recipe.")
    notes.append("The paper's numbers are ImageNet top-1/top-5 validation errors (1000 classes, 224x224 crops); "
                 "ours are CIFAR-10 top-1 test errors. Only the ordering is comparable, not the values.")
    if "JPEG" in out.data:
        notes.append("Our CIFAR-10 is a JPEG (quality 75) copy: absolute errors sit above those on the original "
                     "images.")
    return notes


def after_training(verdict: Callable[[Outcome, VggPreset], Verdict]) -> Callable[[Outcome, VggPreset], Verdict]:
    """The verdict, its reason prefixed with how long the nets trained (a quick preset's verdict
    speaks of early training)."""

    def decide(out: Outcome, p: VggPreset) -> Verdict:
        v = verdict(out, p)
        images = p.data.train_subset or 50000 - p.data.val_size
        epochs = p.train.steps * p.data.batch_size / images
        return Verdict(v.status, f"After {p.train.steps:,} iterations of {p.data.batch_size} ({epochs:.1f} epochs): "
                       f"{v.reason}")

    decide.__name__ = verdict.__name__
    return decide


def _paper_table(out: Outcome, labels: Sequence[str], paper: Mapping[str, tuple[float, float]],
                 what: str = "Table 3") -> str:
    rows = ["| configuration | weight layers | CIFAR-10 test error, ours (%) | "
            f"ImageNet top-1 / top-5 error, paper ({what}, %) |", "|---|---|---|---|"]
    for label in labels:
        ref = paper.get(label)
        layers = WEIGHT_LAYERS.get(label, "—")
        rows.append(f"| {label} | {layers} | {out.fmt(f'test_error/{label}')} | "
                    f"{f'{ref[0]:g} / {ref[1]:g}' if ref else '—'} |")
    return "\n".join(rows)


def _figures(ctx: RunContext, out: Outcome, results: Mapping[str, ArmResult], name: str, title: str) -> None:
    labels = list(results)
    out.figures.append(bars(ctx.run_dir / f"{name}.png", {k: out.values[f"test_error/{k}"] for k in labels},
                            {k: out.std[f"test_error/{k}"] for k in labels}, title=title))
    curves = {k: {"train": r.curve("train", "error"), "test": r.curve("eval", "test_error")}
              for k, r in results.items()}
    out.figures.append(error_curves(ctx.run_dir / f"{name}_curves.png", curves, title=f"{title}: training"))


def compare_configs(ctx: RunContext, *, paper: Mapping[str, tuple[float, float]], name: str,
                    title: str) -> tuple[Outcome, dict[str, ArmResult]]:
    """Train every configuration of the preset for every seed; errors, the table beside the paper's, figures."""
    p: VggPreset = ctx.preset
    results = train_arms(ctx, _arms(p), p.data, p.train)
    out = Outcome()
    record_errors(out, results)
    out.tables.append(error_table(out, list(results)))
    out.tables.append(_paper_table(out, list(results), paper))
    _figures(ctx, out, results, name, title)
    out.notes += _notes(out, p)
    return out, results


def _paper_targets(paper: Mapping[str, tuple[float, float]], source: str, what: str) -> tuple[Target, ...]:
    return tuple(Target(f"test_error/{k}", v[0], source,
                        label=f"{k} top-1 error (paper: ImageNet {what}; ours: CIFAR-10 test)")
                 for k, v in paper.items())


# --- vgg.depth ----------------------------------------------------------------------------------

def depth_experiment(ctx: RunContext) -> Outcome:
    return compare_configs(ctx, paper=TABLE3, name="table3_depth", title="VGG configurations on CIFAR-10 "
                           "(cf. Table 3)")[0]


def ordered_verdict(out: Outcome, labels: Sequence[str], n: int, *, what: str) -> Verdict:
    """Error falls along ``labels``: the last below the first beyond noise, and no later neighbour
    worse beyond noise (a difference within noise is saturation, as D and E in Table 3)."""
    listing = _listing(out, labels)
    stuck = _not_learning(out, labels, n)
    if stuck:
        return Verdict("inconclusive", f"{', '.join(stuck)} did not learn (test error within noise of chance): "
                       f"{listing}.")
    overall = lower_beyond_noise(out, "test_error", n, model=labels[-1], than=labels[0])
    reversals = [f"{b} worse than {a}" for a, b in zip(labels, labels[1:])
                 if lower_beyond_noise(out, "test_error", n, model=b, than=a) == "no"]
    if overall == "yes" and not reversals:
        return Verdict("holds", f"Test error falls {what}: {listing}.")
    if overall == "no" or reversals:
        return Verdict("does not hold", f"Error does not fall {what} ({'; '.join(reversals) or 'the last is worse'}): "
                       f"{listing}.")
    return Verdict("inconclusive", f"{labels[-1]} and {labels[0]} differ by less than the noise: {listing}.")


def depth_verdict(out: Outcome, p: VggPreset) -> Verdict:
    return ordered_verdict(out, p.configs, _n_test(p), what="with depth")


register_claim(Claim(
    id="vgg.depth",
    paper="vgg",
    title="The error falls with depth, from A (11 weight layers) to E (19)",
    statement=("With everything else fixed, the classification error decreases with the increased ConvNet depth: "
               "from 11 layers in A to 19 layers in E; the error saturates when the depth reaches 19 layers."),
    source="Table 3, Section 4.1",
    presets={"quick": _quick(("A", "B", "D")), "full": _full(("A", "B", "D", "E"))},
    experiment=depth_experiment,
    smoke=SMOKE,
    verdict=after_training(depth_verdict),
    targets=_paper_targets({k: TABLE3[k] for k in "ABDE"}, "Table 3", "val, S = Q = 256"),
    rule=("holds if the deepest configuration's test error is below the shallowest's by more than two standard "
          "errors of the difference and no deeper neighbour is worse by that margin (a tie between neighbours is "
          "saturation, as D and E in Table 3); does not hold on a significant reversal; inconclusive otherwise, or "
          "if a net did not learn (test error within noise of chance)."),
))


# --- vgg.lrn ------------------------------------------------------------------------------------

def lrn_experiment(ctx: RunContext) -> Outcome:
    out, _ = compare_configs(ctx, paper=TABLE3, name="table3_lrn", title="A and A-LRN on CIFAR-10 (cf. Table 3)")
    out.notes.append("A-LRN has AlexNet's local response normalisation (k=2, n=5, alpha=1e-4, beta=0.75) after "
                     "the first layer, as the paper specifies. With k = 2 it divides every response by at least "
                     "2^0.75 = 1.68, so in a net without other normalisation it also rescales the signal the later "
                     "layers see at initialisation, which a short run may feel more than the normalisation itself.")
    return out


def lrn_verdict(out: Outcome, p: VggPreset) -> Verdict:
    n = _n_test(p)
    listing = _listing(out, ("A", "A-LRN"))
    stuck = _not_learning(out, ("A", "A-LRN"), n)
    if stuck:
        return Verdict("inconclusive", f"{', '.join(stuck)} did not learn: {listing}.")
    if lower_beyond_noise(out, "test_error", n, model="A-LRN", than="A") == "yes":
        return Verdict("does not hold", f"LRN lowers the error beyond noise: {listing}.")
    return Verdict("holds", f"LRN does not lower the error beyond noise: {listing}.")


register_claim(Claim(
    id="vgg.lrn",
    paper="vgg",
    title="Local response normalisation does not improve A",
    statement=("Local response normalisation (A-LRN network) does not improve on the model A without any "
               "normalisation layers; it is therefore not used in the deeper architectures (B-E)."),
    source="Table 3, Section 4.1",
    presets={"quick": _quick(("A", "A-LRN")), "full": _full(("A", "A-LRN"))},
    experiment=lrn_experiment,
    smoke=SMOKE,
    verdict=after_training(lrn_verdict),
    targets=_paper_targets({k: TABLE3[k] for k in ("A", "A-LRN")}, "Table 3", "val, S = Q = 256"),
    rule=("does not hold if A-LRN's test error is below A's by more than two standard errors of the difference; "
          "holds otherwise (no improvement, or A-LRN worse); inconclusive if a net did not learn."),
))


# --- vgg.1x1 ------------------------------------------------------------------------------------

def stacked_arithmetic(channels: int) -> dict[str, dict[str, int]]:
    """Section 2.3, counted on real modules: weights and receptive field of a stack of ``k``
    x ``k`` convolutions (C channels in and out, no bias) against one convolution with the same field.

    The receptive field is measured, not derived: the input pixels that reach the centre output
    pixel, found as the non-zero support of its gradient with all-positive weights (so that no
    path cancels) through the stack with ReLUs (which pass positive signals).
    """
    stacks = {"3x3 x2": (3, 3), "5x5": (5,), "3x3 x3": (3, 3, 3), "7x7": (7,), "1x1": (1,)}
    result = {}
    for name, kernels in stacks.items():
        layers: list[nn.Module] = []
        for k in kernels:
            layers += [nn.Conv2d(channels, channels, k, padding=k // 2, bias=False), nn.ReLU()]
        stack = nn.Sequential(*layers)
        weights = sum(p.numel() for p in stack.parameters())
        with torch.no_grad():
            for p in stack.parameters():
                p.fill_(1.0 / p[0].numel())
        size = 2 * sum(k // 2 for k in kernels) + 5
        x = torch.rand(1, channels, size, size, requires_grad=True)
        stack(x)[0, 0, size // 2, size // 2].backward()
        seen = x.grad.abs().sum(dim=(0, 1)) > 0  # (size, size)
        rows, cols = seen.any(dim=1).nonzero(), seen.any(dim=0).nonzero()
        result[name] = {"weights": weights, "weights_per_c2": weights // channels ** 2, "layers": len(kernels),
                        "field": int(rows.max() - rows.min() + 1), "field_w": int(cols.max() - cols.min() + 1)}
    return result


#: Section 2.3: "3 (3^2 C^2) = 27 C^2 weights" against "7^2 C^2 = 49 C^2", a 7x7 field either way.
SECTION23 = {"3x3 x3": (27, 7), "7x7": (49, 7), "3x3 x2": (18, 5), "5x5": (25, 5), "1x1": (1, 1)}
ARITHMETIC_CHANNELS = 64


def arithmetic_check(out: Outcome, channels: int = ARITHMETIC_CHANNELS) -> list[str]:
    """Record Section 2.3's counts measured on real modules; return the mismatches (none if exact)."""
    measured = stacked_arithmetic(channels)
    rows = [f"| stack (C = {channels} channels in and out) | weight layers | weights | weights / C^2 | paper | "
            "receptive field | paper |", "|---|---|---|---|---|---|---|"]
    wrong = []
    for name, m in measured.items():
        per_c2, field = SECTION23[name]
        out.values[f"weights_per_c2/{name}"] = m["weights_per_c2"]
        out.values[f"field/{name}"] = m["field"]
        if m["weights"] != per_c2 * channels ** 2 or m["field"] != field or m["field_w"] != field:
            wrong.append(f"{name}: {m['weights_per_c2']} C^2 and a {m['field']}x{m['field_w']} field, "
                         f"paper {per_c2} C^2 and {field}x{field}")
        rows.append(f"| {name} | {m['layers']} | {m['weights']:,} | {m['weights_per_c2']} | {per_c2} | "
                    f"{m['field']}x{m['field_w']} | {field}x{field} |")
    ratio = measured["7x7"]["weights"] / measured["3x3 x3"]["weights"] - 1
    out.values["extra_weights_7x7_pct"] = 100 * ratio
    out.tables.append("\n".join(rows) + f"\n\nOne 7x7 layer has {100 * ratio:.0f}% more weights than three 3x3 "
                      "layers with the same field (the paper: \"81% more\").")
    return wrong


def conv1x1_experiment(ctx: RunContext) -> Outcome:
    out, _ = compare_configs(ctx, paper=TABLE3, name="table3_1x1", title="B, C (1x1) and D (3x3) on CIFAR-10 "
                             "(cf. Table 3)")
    wrong = arithmetic_check(out)
    out.values["arithmetic_mismatches"] = len(wrong)
    out.notes += [f"Section 2.3 arithmetic mismatch: {w}" for w in wrong]
    out.notes.append("C and D have the same depth; C's third layer in stages 3-5 is 1x1 where D's is 3x3.")
    return out


def conv1x1_verdict(out: Outcome, p: VggPreset) -> Verdict:
    n = _n_test(p)
    labels = ("B", "C", "D")
    if out.values.get("arithmetic_mismatches", 0):
        return Verdict("does not hold", "Section 2.3's weight or receptive-field arithmetic does not match the "
                       "modules (see the notes).")
    arithmetic = ("Section 2.3 checked on modules: three 3x3 layers have 27C^2 weights and a 7x7 field, one 7x7 "
                  "layer 49C^2")
    stuck = _not_learning(out, labels, n)
    listing = _listing(out, labels)
    if stuck:
        return Verdict("inconclusive", f"{arithmetic}; {', '.join(stuck)} did not learn: {listing}.")
    c_beats_b = lower_beyond_noise(out, "test_error", n, model="C", than="B")
    d_beats_c = lower_beyond_noise(out, "test_error", n, model="D", than="C")
    if c_beats_b == "yes" and d_beats_c == "yes":
        return Verdict("holds", f"{arithmetic}. C beats B and D beats C beyond noise: {listing}.")
    if "no" in (c_beats_b, d_beats_c):
        return Verdict("does not hold", f"{arithmetic}, but the training comparison reverses the paper's order "
                       f"(C vs B: {c_beats_b}, D vs C: {d_beats_c}): {listing}.")
    return Verdict("inconclusive", f"{arithmetic}; C vs B: {c_beats_b}, D vs C: {d_beats_c} (tie: within noise): "
                   f"{listing}.")


register_claim(Claim(
    id="vgg.1x1",
    paper="vgg",
    title="1x1 layers help (C beats B), 3x3 layers help more (D beats C)",
    statement=("C (with three extra 1x1 conv. layers) performs better than B, but worse than D (3x3 instead of 1x1) "
               "of the same depth: additional non-linearity helps, and capturing spatial context with conv. filters "
               "of non-trivial receptive fields is also important. A stack of three 3x3 layers has a 7x7 effective "
               "receptive field with 3(3^2 C^2) = 27 C^2 weights, against 7^2 C^2 = 49 C^2 for one 7x7 layer."),
    source="Table 3, Sections 2.3 and 4.1",
    presets={"quick": _quick(("B", "C", "D")), "full": _full(("B", "C", "D"))},
    experiment=conv1x1_experiment,
    smoke=SMOKE,
    verdict=after_training(conv1x1_verdict),
    targets=_paper_targets({k: TABLE3[k] for k in "BCD"}, "Table 3", "val, S = Q = 256") + tuple(
        Target(f"weights_per_c2/{k}", v[0], "Section 2.3", 0.0, f"weights of {k} (C^2)", "")
        for k, v in SECTION23.items() if k in ("3x3 x3", "7x7")) + (
        Target("field/3x3 x3", 7, "Section 2.3", 0.0, "receptive field of three 3x3 layers", " px"),),
    rule=("does not hold if the parameter and receptive-field arithmetic measured on real modules differs from "
          "Section 2.3 (it must be exact); otherwise holds if C's test error is below B's and D's below C's, each by "
          "more than two standard errors of the difference; does not hold if either is reversed by that margin; "
          "inconclusive otherwise, or if a net did not learn."),
))


# --- vgg.shallow-5x5 ----------------------------------------------------------------------------

def shallow_experiment(ctx: RunContext) -> Outcome:
    out, _ = compare_configs(ctx, paper=TABLE3, name="shallow_5x5", title="B against its 5x5 shallow net on "
                             "CIFAR-10 (cf. Section 4.1)")
    out.add("error_increase", [s - b for s, b in zip(out.per_seed["test_error/B-5x5"], out.per_seed["test_error/B"])])
    out.notes.append("The shallow net replaces each pair of B's 3x3 layers by one 5x5 layer (same receptive field): "
                     "five convolutions instead of ten, more weights per stage.")
    return out


def shallow_verdict(out: Outcome, p: VggPreset) -> Verdict:
    n = _n_test(p)
    listing = _listing(out, ("B", "B-5x5"))
    stuck = _not_learning(out, ("B", "B-5x5"), n)
    if stuck:
        return Verdict("inconclusive", f"{', '.join(stuck)} did not learn: {listing}.")
    deeper = lower_beyond_noise(out, "test_error", n, model="B", than="B-5x5")
    gap = f"the shallow net's error is {out.values['error_increase']:+.2f} points vs B"
    if deeper == "yes":
        return Verdict("holds", f"Replacing pairs of 3x3 layers by 5x5 layers raises the error beyond noise ({gap}; "
                       f"paper: +{SHALLOW_INCREASE:g} top-1 on ImageNet): {listing}.")
    if deeper == "no":
        return Verdict("does not hold", f"The shallow 5x5 net is better beyond noise ({gap}): {listing}.")
    return Verdict("inconclusive", f"The difference is within noise ({gap}): {listing}.")


register_claim(Claim(
    id="vgg.shallow-5x5",
    paper="vgg",
    title="A shallow net of 5x5 layers is worse than B",
    statement=("Replacing each pair of 3x3 conv. layers of B by a single 5x5 conv. layer (the same receptive field) "
               "gives a shallow net whose top-1 error is 7% higher than B's: a deep net with small filters "
               "outperforms a shallow net with larger filters."),
    source="Section 4.1",
    presets={"quick": _quick(("B", "B-5x5")), "full": _full(("B", "B-5x5"))},
    experiment=shallow_experiment,
    smoke=SMOKE,
    verdict=after_training(shallow_verdict),
    targets=(Target("error_increase", SHALLOW_INCREASE, "Section 4.1",
                    label="error of the 5x5 net minus B's (paper: ImageNet top-1, centre crop; ours: CIFAR-10)",
                    unit=" points"),),
    rule=("holds if the shallow 5x5 net's test error exceeds B's by more than two standard errors of the difference; "
          "does not hold if it is lower by that margin; inconclusive otherwise, or if a net did not learn."),
))


# --- vgg.scale-jitter ---------------------------------------------------------------------------

class ScaleTask:
    """Section 3.1's training scale on CIFAR-10, around an :class:`ImageClassificationTask` whose
    loader does not augment: each training image is rescaled so its shorter side is S (drawn per
    image from ``scales``, both ends included: :func:`~paperzoo.data.imagenet.scale_jitter`), then
    a random ``crop`` x ``crop`` patch is taken and flipped with probability 1/2; test images are
    rescaled to ``test_scale`` and seen whole (the model averages its final map: the spatial
    averaging of Section 3.2's dense evaluation)."""

    def __init__(self, task: ImageClassificationTask, *, scales: tuple[int, int], test_scale: int, crop: int = 32,
                 seed: int = 0):
        self.task, self.scales, self.test_scale, self.crop = task, scales, test_scale, crop
        self.generator = torch.Generator().manual_seed(seed)

    def __getattr__(self, name: str) -> Any:   # training_step, sizes, source, ...
        return getattr(self.task, name)

    def augment(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, crop, crop)
        g = self.generator
        crops = [random_crop(scale_jitter(image, scale_range=self.scales, generator=g), self.crop, generator=g)
                 for image in x]
        return random_hflip(torch.stack(crops), generator=g)

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.task.train_batches():
            yield self.augment(x), y

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {f"{name}_{k}": v for name, loader in self.task.eval_loaders.items()
                for k, v in evaluate_classifier(model, ((resize_shorter(x, self.test_scale), y)
                                                        for x, y in loader)).items()}

    def state_dict(self) -> dict[str, Any]:
        return {**self.task.state_dict(), "scale_rng": self.generator.get_state().tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.task.load_state_dict(state)
        self.generator.set_state(torch.tensor(state["scale_rng"], dtype=torch.uint8))


def scale_arms(p: VggPreset) -> dict[str, tuple[tuple[int, int], int]]:
    """Per arm, the training scale range and the test scale: fixed S tested at Q = S; jittered S in
    [Smin, Smax] tested at Q = (Smin + Smax) / 2, as Table 3."""
    return {"fixed": ((p.scale, p.scale), p.scale), "jitter": (p.jitter, (p.jitter[0] + p.jitter[1]) // 2)}


def train_scaled(ctx: RunContext, p: VggPreset, label: str, scales: tuple[int, int], test_scale: int,
                 seed: int) -> tuple[TrainResult, str]:
    cfg = replace(p.train, seed=seed, device=ctx.device, progress=ctx.progress and p.train.progress)
    base = ImageClassificationTask(replace(p.data, augment=False), device=resolve_device(cfg.device), seed=seed,
                                   root=ctx.data_root, channels_last=cfg.channels_last)
    task = ScaleTask(base, scales=scales, test_scale=test_scale, seed=seed)
    config = p.configs[0]
    kwargs = {**model_kwargs(p, config), "num_classes": len(base.classes)}
    torch.manual_seed(seed)
    model = create_model(MODELS[config][0], **kwargs)
    meta = {"model": MODELS[config][0], "model_kwargs": kwargs, "data": base.meta(),
            "scales": list(scales), "test_scale": test_scale}
    trainer = Trainer(model, task, cfg, run_dir=ctx.subdir("runs", f"{label}-seed{seed}"), model_meta=meta)
    return trainer.fit(), base.source


def scale_jitter_experiment(ctx: RunContext) -> Outcome:
    p: VggPreset = ctx.preset
    results: dict[str, ArmResult] = {}
    for seed in ctx.seeds:
        for label, (scales, test_scale) in scale_arms(p).items():
            res = results.setdefault(label, ArmResult(label))
            result, source = train_scaled(ctx, p, label, scales, test_scale, seed)
            res.runs.append(result)
            res.extras.setdefault("data", []).append(source)
            res.eval_size = _n_test(p)
    out = Outcome()
    record_errors(out, results)
    out.add("jitter_gain", [f - j for f, j in zip(out.per_seed["test_error/fixed"], out.per_seed["test_error/jitter"])])
    arms = scale_arms(p)
    rows = ["| training scale S | test scale Q | CIFAR-10 test error, ours (%) | paper, D on ImageNet "
            "(top-1 / top-5 %, Table 3) |", "|---|---|---|---|"]
    for label, (scales, q) in arms.items():
        s = str(scales[0]) if scales[0] == scales[1] else f"[{scales[0]}; {scales[1]}]"
        ref = TABLE3_JITTER[label]
        rows.append(f"| {s} | {q} | {out.fmt(f'test_error/{label}')} | {ref[0]:g} / {ref[1]:g} |")
    out.tables.append(error_table(out, list(results)))
    out.tables.append("\n".join(rows))
    _figures(ctx, out, results, "table3_scale_jitter", f"{p.configs[0]}: fixed vs jittered training scale "
             "(cf. Table 3)")
    out.notes += _notes(out, p)
    out.notes.append(f"CIFAR analogue of Section 3.1's scales: the paper crops 224x224 from images rescaled to a "
                     f"shorter side S of 256 (fixed) or S in [256, 512] (jittered); we crop 32x32 from images "
                     f"rescaled to S = {p.scale} or S in [{p.jitter[0]}, {p.jitter[1]}] (crop/S = {32 / p.scale:.3f} "
                     f"against 224/256 = 0.875, S_max/S_min = {p.jitter[1] / p.jitter[0]:g} against 2), with random "
                     "flips, "
                     "S drawn per image. Test images are rescaled to Q = S (fixed) or Q = (S_min + S_max)/2 "
                     "(jittered) and seen whole, as Table 3's single-scale evaluation. The paper's D was "
                     f"trained with jittering from a net trained at S = 384; ours start from scratch. Model: "
                     f"configuration {p.configs[0]}.")
    return out


def scale_jitter_verdict(out: Outcome, p: VggPreset) -> Verdict:
    n = _n_test(p)
    listing = _listing(out, ("fixed", "jitter"))
    stuck = _not_learning(out, ("fixed", "jitter"), n)
    if stuck:
        return Verdict("inconclusive", f"{', '.join(stuck)} did not learn: {listing}.")
    better = lower_beyond_noise(out, "test_error", n, model="jitter", than="fixed")
    gain = f"gain {out.values['jitter_gain']:+.2f} points"
    if better == "yes":
        return Verdict("holds", f"Scale jittering lowers the test error beyond noise ({gain}): {listing}.")
    if better == "no":
        return Verdict("does not hold", f"Scale jittering raises the test error beyond noise ({gain}): {listing}.")
    return Verdict("inconclusive", f"The difference is within noise ({gain}): {listing}.")


register_claim(Claim(
    id="vgg.scale-jitter",
    paper="vgg",
    title="Scale jittering at training time lowers the error",
    statement=("Scale jittering at training time (S in [256; 512]) leads to significantly better results than "
               "training on images with fixed smallest side (S = 256 or S = 384), even though a single scale is "
               "used at test time: training set augmentation by scale jittering helps capture multi-scale image "
               "statistics."),
    source="Table 3, Sections 3.1 and 4.1",
    presets={"quick": _quick(("A",), "configuration A, S = 36 vs S in [36, 72]"),
             "full": _full(("D",), "configuration D, S = 36 vs S in [36, 72]")},
    experiment=scale_jitter_experiment,
    smoke=SMOKE,
    verdict=after_training(scale_jitter_verdict),
    targets=(Target("jitter_gain", round(TABLE3_JITTER["fixed"][0] - TABLE3_JITTER["jitter"][0], 2), "Table 3",
                    label="fixed-scale error minus jittered (paper: D, ImageNet top-1; ours: CIFAR-10)",
                    unit=" points"),),
    rule=("holds if the net trained with jittered scales has a test error below the fixed-scale net's by more than "
          "two standard errors of the difference; does not hold if above by that margin; inconclusive otherwise, or "
          "if a net did not learn."),
))


# --- vgg.ensemble -------------------------------------------------------------------------------

@torch.no_grad()
def posteriors_on_test(model: nn.Module, task: ImageClassificationTask) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax class posteriors (N, K) on the test images and their labels (N,), on the CPU."""
    probs, labels = [], []
    for x, y in task.eval_loaders["test"]:
        probs.append(model(x).float().softmax(dim=1).cpu())
        labels.append(y.cpu())
    return torch.cat(probs), torch.cat(labels)


def ensemble_outcome(out: Outcome, posteriors: Mapping[str, Sequence[torch.Tensor]],
                     labels: Sequence[torch.Tensor]) -> None:
    """Section 4.4: average the members' softmax posteriors; record, per seed, the ensemble's error, the
    best member's, the gain and its paired noise margin (two McNemar standard errors)."""
    ens, best, gain, margin = [], [], [], []
    for s, y in enumerate(labels):
        members = {k: v[s] for k, v in posteriors.items()}
        correct = {k: p.argmax(1) == y for k, p in members.items()}
        averaged = torch.stack(list(members.values())).mean(0).argmax(1) == y
        top = max(correct, key=lambda k: correct[k].float().mean().item())
        n = y.numel()
        fixes = (averaged & ~correct[top]).float().mean().item()
        breaks = (~averaged & correct[top]).float().mean().item()
        ens.append(100 * (1 - averaged.float().mean().item()))
        best.append(100 * (1 - correct[top].float().mean().item()))
        gain.append(best[-1] - ens[-1])
        margin.append(paired_margin(fixes, breaks, n))
    out.add("test_error/ensemble", ens)
    out.add("test_error/best_single", best)
    out.add("ensemble_gain", gain)
    # the margin of the mean gain over seeds: the per-seed margins add in quadrature
    out.values["gain_margin"] = math.sqrt(sum(m * m for m in margin)) / len(margin)


def ensemble_experiment(ctx: RunContext) -> Outcome:
    p: VggPreset = ctx.preset

    def after(label, seed, model, task):
        probs, y = posteriors_on_test(model, task)
        return {"probs": probs, "labels": y}

    results = train_arms(ctx, _arms(p), p.data, p.train, after=after)
    out = Outcome()
    record_errors(out, results)
    first = results[p.configs[0]]
    ensemble_outcome(out, {k: r.extras["probs"] for k, r in results.items()}, first.extras["labels"])
    out.tables.append(error_table(out, list(results)))
    rows = ["| model | CIFAR-10 test error, ours (%) |", "|---|---|"]
    rows += [f"| {k} | {out.fmt(f'test_error/{k}')} |" for k in p.configs]
    rows.append(f"| ensemble of {' + '.join(p.configs)} (averaged posteriors) | {out.fmt('test_error/ensemble')} |")
    out.tables.append("\n".join(rows) + f"\n\nPaper (ImageNet val top-1 / top-5, Tables 5-6): E alone "
                      f"{ENSEMBLE['E'][0]:g} / {ENSEMBLE['E'][1]:g}, ensemble of D and E {ENSEMBLE['D+E'][0]:g} / "
                      f"{ENSEMBLE['D+E'][1]:g} (dense multi-scale evaluation).")
    values = {**{k: out.values[f"test_error/{k}"] for k in p.configs}, "ensemble": out.values["test_error/ensemble"]}
    errors = {**{k: out.std[f"test_error/{k}"] for k in p.configs}, "ensemble": out.std["test_error/ensemble"]}
    out.figures.append(bars(ctx.run_dir / "ensemble.png", values, errors,
                            title="Single nets and their ensemble on CIFAR-10 (cf. Section 4.4)"))
    out.notes += _notes(out, p)
    out.notes.append("The ensemble averages the members' softmax posteriors on each test image (Section 4.4). Its "
                     "gain over the best member is judged with the paired (McNemar) standard error, since both are "
                     "measured on the same images.")
    return out


def ensemble_verdict(out: Outcome, p: VggPreset) -> Verdict:
    n = _n_test(p)
    stuck = _not_learning(out, p.configs, n)
    gain, margin = out.values["ensemble_gain"], out.values["gain_margin"]
    text = (f"ensemble {out.fmt('test_error/ensemble')}%, best single net {out.fmt('test_error/best_single')}% "
            f"(gain {gain:+.2f} points, noise ±{margin:.2f}); {_listing(out, p.configs)}")
    if stuck:
        return Verdict("inconclusive", f"{', '.join(stuck)} did not learn: {text}.")
    if gain > margin:
        return Verdict("holds", f"Averaging the posteriors beats every single net beyond noise: {text}.")
    if gain < -margin:
        return Verdict("does not hold", f"The ensemble is worse than its best member beyond noise: {text}.")
    return Verdict("inconclusive", f"The ensemble's gain is within noise: {text}.")


register_claim(Claim(
    id="vgg.ensemble",
    paper="vgg",
    title="Averaging the softmax posteriors of several nets beats each of them",
    statement=("Combining the outputs of several models by averaging their soft-max class posteriors improves the "
               "performance due to complementarity of the models: the ensemble of D and E has a lower error than "
               "the best single model."),
    source="Section 4.4, Tables 5-7",
    presets={"quick": _quick(("A", "B")), "full": _full(("D", "E"))},
    experiment=ensemble_experiment,
    smoke=SMOKE,
    verdict=after_training(ensemble_verdict),
    targets=(Target("ensemble_gain", round(ENSEMBLE["E"][0] - ENSEMBLE["D+E"][0], 2), "Tables 5-6",
                    label="best single error minus ensemble (paper: E vs D+E, ImageNet top-1; ours: CIFAR-10)",
                    unit=" points"),),
    rule=("holds if the ensemble's test error is below its best member's by more than two paired (McNemar) standard "
          "errors on the same test images; does not hold if above by that margin; inconclusive otherwise, or if a "
          "member did not learn."),
))


# --- vgg.data-parallel --------------------------------------------------------------------------

class GlobalLossTask:
    """Delegates to a task, with images in ``dtype``, and also reports, at every step, the loss of the
    whole global batch and the number of examples this worker computed on. Under data parallelism
    each worker's loss is its own share's; their mean over the workers (equal shares) is the global
    batch's."""

    def __init__(self, task: ImageClassificationTask, dtype: torch.dtype = torch.float32):
        self.task, self.dtype = task, dtype

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.task.train_batches():
            yield x.to(self.dtype), y

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {f"{name}_{k}": v for name, loader in self.task.eval_loaders.items()
                for k, v in evaluate_classifier(model, ((x.to(self.dtype), y) for x, y in loader)).items()}

    def training_step(self, model: nn.Module, batch):
        loss, metrics = self.task.training_step(model, batch)
        total = loss.detach().double().clone()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(total)
            total /= dist.get_world_size()
        return loss, {**metrics, "batch_loss": total, "worker_batch": torch.tensor(float(batch[0].shape[0]))}


def equivalence_run(p: VggPreset, data_root: str | None, run_dir: Path | None, seed: int
                    ) -> tuple[Trainer, TrainResult]:
    """Train the preset's first configuration on CPU in ``p.precision`` with the shared loop
    (data-parallel when launched in a process group); dropout off, so that the workers' random masks
    cannot differ from one process's."""
    cfg = replace(p.train, seed=seed, device="cpu", amp=False, channels_last=False, compile=False, progress=False)
    dtype = getattr(torch, p.precision)
    task = GlobalLossTask(ImageClassificationTask(p.data, device="cpu", seed=seed, root=data_root), dtype)
    config = p.configs[0]
    torch.manual_seed(seed)
    model = create_model(MODELS[config][0], **{**model_kwargs(p, config), "dropout": 0.0}).to(dtype)
    trainer = Trainer(model, task, cfg, run_dir=run_dir)
    return trainer, trainer.fit()


def _worker(rank: int, world: int, port: int, p: VggPreset, data_root: str | None, run_dir: str, out_dir: str,
            seed: int) -> None:
    """One data-parallel worker (started by :func:`torch.multiprocessing.spawn`): joins the gloo group
    the way torchrun would describe it, trains, and saves its weights (rank 0 also its log)."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    try:
        trainer, result = equivalence_run(p, data_root, Path(run_dir), seed)
        torch.save({"state": trainer.model.state_dict(), "records": result.records, "final": result.final,
                    "world": trainer.dist.world_size}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_parallel_weights(p: VggPreset, data_root: str | None, run_dir: Path, seed: int
                          ) -> tuple[list[dict[str, torch.Tensor]], list[dict[str, Any]]]:
    """Run ``p.workers`` CPU processes (gloo) data-parallel; every worker's final weights and rank 0's log."""
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(p.workers, _free_port(), p, data_root, str(run_dir), tmp, seed), nprocs=p.workers,
                 join=True)
        saved = [torch.load(Path(tmp) / f"rank{r}.pt", weights_only=True) for r in range(p.workers)]
    return [s["state"] for s in saved], saved[0]["records"]


#: Largest weight (or loss) difference between data-parallel and one-process training, relative to
#: how far training moved the weights (to the loss): round-off of the summation order, nothing more.
#: In float32 training amplifies it beyond this within tens of iterations (the quick preset: 1e-2
#: after 40), so the check runs in float64 (``precision``).
EQUIVALENCE_TOLERANCE = 1e-6


def _max_diff(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> float:
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())


def data_parallel_experiment(ctx: RunContext) -> Outcome:
    p: VggPreset = ctx.preset
    out = Outcome()
    curves: dict[str, tuple[list[int], list[float]]] = {}
    diffs: dict[str, tuple[list[int], list[float]]] = {}
    for seed in ctx.seeds:
        torch.manual_seed(seed)
        config = p.configs[0]
        initial = create_model(MODELS[config][0], **{**model_kwargs(p, config), "dropout": 0.0}).state_dict()
        single, single_result = equivalence_run(p, ctx.data_root, ctx.subdir("runs", f"single-seed{seed}"), seed)
        states, records = data_parallel_weights(p, ctx.data_root, ctx.subdir("runs", f"data-parallel-seed{seed}"),
                                                seed)
        one = single.model.state_dict()
        steps, loss_one = single_result.history("train", "batch_loss")
        loss_dp = [r["batch_loss"] for r in records if r["split"] == "train" and "batch_loss" in r]
        shares = [r["worker_batch"] for r in records if r["split"] == "train" and "worker_batch" in r]
        final_dp = [r for r in records if r["split"] == "eval"][-1]
        movement = _max_diff(one, initial)
        out.add("weight_diff_max", [_max_diff(states[0], one)])
        out.add("weight_movement_max", [movement])
        out.add("relative_weight_diff", [_max_diff(states[0], one) / max(movement, 1e-30)])
        out.add("replica_diff_max", [max(_max_diff(s, states[0]) for s in states)])
        out.add("loss_diff_max", [max(abs(a - b) for a, b in zip(loss_one, loss_dp)) if loss_dp else math.inf])
        out.add("relative_loss_diff", [out.values["loss_diff_max"] / max(max(loss_one), 1e-30)])
        out.add("worker_batch", [statistics.fmean(shares) if shares else 0.0])
        out.add("logged_steps", [min(len(loss_one), len(loss_dp))])
        out.add("test_error/single", [100 * single_result.final["test_error"]])
        out.add("test_error/data-parallel", [100 * final_dp["test_error"]])
        out.add("test_loss/single", [single_result.final["test_loss"]])
        out.add("test_loss/data-parallel", [final_dp["test_loss"]])
        if seed == ctx.seeds[0]:
            one_label = f"1 process, batch {p.data.batch_size}"
            dp_label = f"{p.workers} processes, {p.data.batch_size // p.workers} each"
            curves = {one_label: (steps, loss_one), dp_label: (steps[:len(loss_dp)], loss_dp)}
            diffs = {"|data-parallel - 1 process|": (steps[:len(loss_dp)],
                                                     [abs(a - b) for a, b in zip(loss_one, loss_dp)])}
    out.data = single.task.source
    b = p.data.batch_size
    rows = ["| quantity | value |", "|---|---|",
            f"| workers (gloo, CPU processes) | {p.workers} |",
            f"| global batch / examples per worker per step | {b} / {out.fmt('worker_batch', 0)} |",
            f"| steps | {p.train.steps} |",
            f"| largest weight change from initialisation | {out.values['weight_movement_max']:.3e} |",
            f"| largest weight difference, data-parallel vs 1 process | {out.values['weight_diff_max']:.3e} |",
            f"| ... relative to the change | {out.values['relative_weight_diff']:.3e} |",
            f"| largest weight difference between the workers' replicas | {out.values['replica_diff_max']:.3e} |",
            f"| largest difference of the global batch loss over the steps | {out.values['loss_diff_max']:.3e} |",
            f"| test error, 1 process / data-parallel (%) | {out.fmt('test_error/single')} / "
            f"{out.fmt('test_error/data-parallel')} |",
            f"| test loss, 1 process / data-parallel | {out.fmt('test_loss/single', 6)} / "
            f"{out.fmt('test_loss/data-parallel', 6)} |"]
    out.tables.append("\n".join(rows))
    out.figures.append(lines(ctx.run_dir / "data_parallel_loss.png", curves, xlabel="iteration",
                             ylabel="training loss of the global batch", styles={list(curves)[-1]: "--"},
                             title=f"{p.configs[0]} on CIFAR-10: synchronous data parallelism vs one process"))
    positive = any(d > 0 for _, ds in diffs.values() for d in ds)
    out.figures.append(lines(ctx.run_dir / "data_parallel_loss_difference.png", diffs, xlabel="iteration",
                             ylabel="|loss difference|", logy=positive,
                             title="Difference of the global batch loss" + (" (zeros not drawn)" if positive else "")))
    out.notes.append(f"Configuration {p.configs[0]} (widths {'/'.join(map(str, p.widths))}, dropout off: each "
                     "worker would draw its own dropout masks), trained with the shared loop's data parallelism: "
                     f"{p.workers} CPU processes in a gloo process group (torch.multiprocessing.spawn), each "
                     "drawing the same global batch and computing on its contiguous share, gradients averaged "
                     "before every update (DistributedDataParallel); against one process on the whole batch from "
                     f"the same initial weights and data order. SGD with momentum and weight decay, no AMP, in "
                     f"{p.precision}: in float32 the two runs start apart by round-off (the order of the summations "
                     "differs) and training amplifies it (quick preset in float32, measured: 1e-2 of the weight "
                     "change after 40 iterations), which says nothing about the method.")
    out.notes.append("The workers run as CPU processes even on a GPU machine: one GPU cannot host several NCCL "
                     "ranks. The paper trains on 4 GPUs and reports a 3.75x speed-up over one GPU (Section 3.3); "
                     "we check the equivalence of the result, not the speed.")
    return out


def data_parallel_verdict(out: Outcome, p: VggPreset) -> Verdict:
    share = p.data.batch_size / p.workers
    rel_w, rel_l = out.values["relative_weight_diff"], out.values["relative_loss_diff"]
    replicas = out.values["replica_diff_max"] / max(out.values["weight_movement_max"], 1e-30)
    text = (f"weights differ by {rel_w:.1e} of their change from initialisation, replicas by {replicas:.1e}, the "
            f"global batch loss by {rel_l:.1e} relative (tolerance {EQUIVALENCE_TOLERANCE:g}); test error "
            f"{out.fmt('test_error/single')}% vs {out.fmt('test_error/data-parallel')}%")
    if out.values["worker_batch"] != share or out.values["weight_movement_max"] == 0:
        return Verdict("inconclusive", f"The check is vacuous: each worker computed on "
                       f"{out.values['worker_batch']:g} examples (expected {share:g}) and the weights moved by "
                       f"{out.values['weight_movement_max']:.1e}.")
    if out.values["logged_steps"] < p.train.steps / p.train.log_every:
        return Verdict("inconclusive", "The data-parallel run logged fewer steps than it trained.")
    if max(rel_w, rel_l, replicas) <= EQUIVALENCE_TOLERANCE:
        return Verdict("holds", f"{p.workers} synchronous workers on {share:g} examples each end where one process "
                       f"on the whole batch of {p.data.batch_size} ends: {text}.")
    return Verdict("does not hold", f"Data-parallel training departs from one process beyond float tolerance: "
                   f"{text}.")


register_claim(Claim(
    id="vgg.data-parallel",
    paper="vgg",
    title="Synchronous data-parallel training equals training on the whole batch",
    statement=("Multi-GPU training splits each batch of training images into several GPU batches processed in "
               "parallel on each GPU; after the GPU batch gradients are computed, they are averaged to obtain the "
               "gradient of the full batch. Gradient computation is synchronous across the GPUs, so the result is "
               "exactly the same as when training on a single GPU."),
    source="Section 3.3",
    presets={"quick": _quick(("A",), "configuration A, 2 gloo CPU workers vs 1 process",
                             train=replace(QUICK_RECIPE, steps=40, eval_every=0, log_every=1,
                                           schedule=ScheduleConfig(name="constant")),
                             data=replace(QUICK_DATA, eval_subset=1000)),
             "full": _full(("D",), "configuration D at full width, 4 gloo CPU workers vs 1 process", workers=4,
                           dropout=0.0,
                           train=replace(PAPER_RECIPE, steps=40, eval_every=0, log_every=1, checkpoint_every=0,
                                         best_metric="", schedule=ScheduleConfig(name="constant")),
                           data=replace(CIFAR_DATA, batch_size=128, eval_subset=1000))},
    experiment=data_parallel_experiment,
    smoke=SMOKE,
    verdict=data_parallel_verdict,
    rule=(f"holds if, after the same iterations from the same weights and batches, the data-parallel weights differ "
          f"from one process's by at most {EQUIVALENCE_TOLERANCE:g} of the largest weight change from "
          "initialisation, the workers' replicas agree to the same tolerance, and the global batch loss agrees at "
          "every step to that relative tolerance; does not hold otherwise; inconclusive if the check is vacuous "
          "(weights did not move, or the workers did not split the batch)."),
))
