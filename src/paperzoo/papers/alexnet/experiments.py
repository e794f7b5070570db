"""The AlexNet paper's card and claims, run on CIFAR-10 with the paper's CIFAR net.

ImageNet cannot ship with paperzoo, so each design claim is the same comparison on CIFAR-10 with the
"four-layer CNN" of Section 3.3 (``cifar_convnet``) on 24x24 patches of the 32x32 images, one option
switched per arm: ``activation`` (Fig. 1), ``lrn`` (3.3), ``pool`` (3.4), ``dropout`` (4.2) or the input
pipeline (4.1: :func:`train_transform`; tests on the central patch, or ten patches after training). The
training error is measured in eval mode on a fixed sample of training images (split ``trainset``).
Every test image's error is recorded, so comparisons on the same images are paired.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import torch

from ...claims import Claim, Outcome, RunContext, Target, Verdict
from ...claims import rules as R
from ...claims.arms import Arm, ArmResult, curves, data_notes, error_table, record_errors, run_arms, test_outputs
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.figures import bars, error_curves, line_panels
from ...claims.presets import CIFAR_50K, SGD_001, Preset
from ...claims.speed import record_crossing, steps_to_reach
from ...claims.stats import binomial_se
from ...data import ImageArrays, imagenet
from ...optim import ScheduleConfig
from ...train.classification import DataConfig, ImageClassificationTask, TrainTransform
from ...train.loop import TrainConfig
from .model import CifarInit

PAPER = register_paper(PaperCard(
    key="alexnet",
    title="ImageNet Classification with Deep Convolutional Neural Networks",
    authors="Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton",
    year=2012,
    arxiv="",
    venue="NeurIPS 2012",
    problem=("Recognising objects among 1000 ImageNet classes from 1.2 million labelled photographs needs a "
             "model with a large capacity and strong priors about images, but big convolutional networks were "
             "too expensive to train on high-resolution images and overfit a training set of that size."),
    idea=("Train a deep convolutional network (five convolutional and three fully connected layers, 60 million "
          "parameters) on raw pixels with a fast two-GPU implementation: non-saturating ReLUs train several "
          "times faster than tanh units, local response normalisation and overlapping max-pooling lower the "
          "error, and label-preserving data augmentation (random crops, reflections, PCA colour noise) and "
          "dropout in the fully connected layers fight overfitting."),
))


# --- presets ------------------------------------------------------------------------------------

Augment = Literal["none", "crop-flip", "crop-flip-pca"]
AUGMENT_LABELS = {"none": "central patch", "crop-flip": "random patches + flips",
                  "crop-flip-pca": "patches + flips + PCA colour"}

# Section 5: batch 128, SGD with momentum 0.9 and weight decay 5e-4 at rate 0.01 (``torch.optim.SGD`` computes
# the paper's update while the rate is constant), divided by 10 "when the validation error rate stopped
# improving", three times in "roughly 90 cycles"; when is not stated, so ``full`` drops it at 50% and 75% of 80.
CIFAR_TRAIN = 50000
FULL_EPOCHS = 80
FULL_STEPS = FULL_EPOCHS * CIFAR_TRAIN // 128   # 31,250
CIFAR_DATA = replace(CIFAR_50K, batch_size=128, augment=False)   # the patches are the task's transforms
FULL_RECIPE = TrainConfig(
    steps=FULL_STEPS, optimizer=SGD_001,
    schedule=ScheduleConfig(name="multistep", milestones=(FULL_STEPS // 2, FULL_STEPS * 3 // 4), gamma=0.1),
    eval_every=FULL_STEPS // 40, log_every=100, checkpoint_every=0, keep_checkpoints=1, amp=True,
    channels_last=True, progress=True)
# Quick presets: a CPU, a few epochs of a training subset, 2,000 test images; a narrower net (32 kernels
# per layer, shared 3x3 third and fourth layers) with fan-in initialisation, which learns within a few
# hundred iterations (the files' tiny initial weights need thousands).
QUICK_DATA = replace(CIFAR_DATA, batch_size=64, train_subset=5000, eval_subset=2000, eval_batch_size=500)
QUICK_RECIPE = replace(FULL_RECIPE, steps=400, schedule=ScheduleConfig(name="multistep", milestones=(300,)),
                       eval_every=100, log_every=20, amp=False, channels_last=False)

#: The training a comparison of trained nets needs: a tenth of the full recipe (3,125 iterations, 8
#: epochs at batch 128), past the first epochs in which one net merely learns faster than the other.
TRAINED = FULL_STEPS // 10
TRAINED_WHY = "a tenth of the full recipe's 80 epochs, so that the nets are past their first epochs"


def trained(arms: Sequence[str], *rules: R.Rule) -> R.Rule:
    """``rules``, judged only on a run of at least :data:`TRAINED` iterations in which every arm learned."""
    return R.all_of(R.long_enough(TRAINED, why=TRAINED_WHY), R.learned(list(arms)), *rules)


@dataclass(frozen=True, kw_only=True)
class AlexNetPreset(Preset):
    """One comparison on CIFAR-10: the base net (changed per arm by the claim), data, recipe, seeds."""

    data: DataConfig = CIFAR_DATA
    train: TrainConfig = FULL_RECIPE
    paper_steps: int = FULL_STEPS                   # our full recipe (the paper's 90 epochs are ImageNet's)
    crop: int = 24                                  # the net's input: 24x24 patches of the 32x32 images
    widths: tuple[int, ...] = (64, 64, 32, 32)      # conv1, conv2, local3, local4 (the paper's net)
    local: bool = True                              # unshared local3/local4 (the paper's net)
    lrn: bool = True
    augment: Augment = "crop-flip"
    train_eval: int = 10000                         # training images on which the training error is measured
    threshold: float = 25.0                         # training error (%) that counts as reached
    lrs: tuple[float, ...] = ()                     # alexnet.relu-vs-tanh: learning rates tried per activation
    init: CifarInit = "cuda-convnet"                # the cuda-convnet files' weights, or "fan-in" (model.py)

    SMOKE: ClassVar[dict[str, str]] = {"train_eval": "64", "widths": "8,8,8,8", "lrs": "0.01"}


def describe(p: AlexNetPreset, where: str, inputs: str = "") -> str:
    """The preset's one-line description, from its settings (``inputs``: the pipeline, if not ``augment``'s)."""
    net = ("the paper's CIFAR net" if tuple(p.widths) == (64, 64, 32, 32) and p.local and p.init == "cuda-convnet"
           else f"the CIFAR net at width {'/'.join(map(str, p.widths))} "
                f"({'unshared' if p.local else 'shared 3x3'} third/fourth layers, {p.init} init)")
    images = p.data.train_subset or CIFAR_TRAIN
    return (f"{net}{'' if p.lrn else ' without normalisation'}, {p.crop}x{p.crop} {inputs or AUGMENT_LABELS[p.augment]}"
            f"; {p.train.steps:,} iterations of {p.data.batch_size} ({p.train.steps * p.data.batch_size / images:.0f} "
            f"epochs of {images:,} training images), test on {p.data.eval_subset or 10000:,} images; {where}")


def preset(where: Literal["quick", "full"], what: str, inputs: str = "", **settings: Any) -> AlexNetPreset:
    """A ``quick`` (a CPU; see QUICK_RECIPE) or ``full`` (one GPU) preset of the comparison ``what``."""
    base = (dict(data=QUICK_DATA, train=QUICK_RECIPE, widths=(32, 32, 32, 32), local=False, init="fan-in",
                 train_eval=2000) if where == "quick" else {})
    p = AlexNetPreset(description="", **(base | settings))
    return replace(p, description=f"{what}: {describe(p, 'on a CPU' if where == 'quick' else 'on one GPU', inputs)}")


# --- the input pipeline, the arms and what is recorded ------------------------------------------

def train_transform(augment: Augment, size: int, pca: tuple[torch.Tensor, torch.Tensor] | None = None
                    ) -> TrainTransform:
    """Section 4.1's augmentation of a normalised 32x32 batch cut to ``size`` patches: the central one
    (``"none"``), or a random one mirrored with probability 1/2, plus PCA colour noise (std 0.1) along ``pca``."""
    if augment == "none":
        return lambda x, y, generator: (imagenet.center_crop(x, size), y)

    def transform(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x = imagenet.random_hflip(imagenet.random_crop(x, size, generator=generator), generator=generator)
        if pca is not None:
            x = imagenet.pca_colour_noise(x, *pca, generator=generator)
        return x.contiguous(), y
    return transform


def patch_task(p: AlexNetPreset, augment: Augment):
    """An arm's task: ``augment``'s pipeline (the colour noise along the PCA of up to 10,000 training images'
    normalised pixels), tests on the central patch, and ``p.train_eval`` training images evaluated too."""
    if augment not in AUGMENT_LABELS:
        raise ValueError(f"unknown augmentation {augment!r}; choose one of {', '.join(AUGMENT_LABELS)}")

    def make(data: DataConfig, *, run_dir: Any = None, **common: Any) -> ImageClassificationTask:
        task = ImageClassificationTask(replace(data, augment=False, train_eval=p.train_eval), **common,
                                       eval_transform=lambda x: imagenet.center_crop(x, p.crop))
        pca, train = None, task.train_loader
        if augment == "crop-flip-pca":
            images = ImageArrays(train.images.cpu(), train.labels.cpu(), task.classes, data.dataset, task.source)
            mean, std = (torch.tensor(v, dtype=torch.float64).view(1, -1, 1, 1) for v in (task.mean, task.std))
            pca = imagenet.pca_colour_basis((images.sample(10000).images.double() / 255 - mean) / std)
        task.train_transform = train_transform(augment, p.crop, pca)
        return task
    return make


def arm(p: AlexNetPreset, label: str, *, augment: Augment | None = None, lr: float | None = None, **model: Any) -> Arm:
    """The preset's net with ``model``'s changes, ``augment``'s input pipeline and rate ``lr`` (None: the preset's)."""
    train = None if lr is None else replace(p.train, optimizer=replace(p.train.optimizer, lr=lr))
    kwargs = {"image_size": p.crop, "widths": tuple(p.widths), "local": p.local, "lrn": p.lrn, "init": p.init}
    return Arm(label, "cifar_convnet", kwargs | model, train=train, task=patch_task(p, augment or p.augment))


def train_and_record(ctx: RunContext, arms: Sequence[Arm], after=None) -> tuple[Outcome, dict[str, ArmResult]]:
    """Every arm and seed; per arm the test error and the training error (eval mode, on the fixed sample, in
    place of the running error on batches), image by image, and their gap."""
    results = run_arms(ctx, arms, data=ctx.preset.data, train=ctx.preset.train, after=after)
    out = Outcome()
    record_errors(out, results)
    for label, res in results.items():
        out.value_se.pop(f"train_error/{label}", None)
        out.add_items(f"train_error/{label}", res.errors("trainset"))
        record_gap(out, label)
    return out, results


def record_gap(out: Outcome, label: str) -> None:
    """``gap/<label>``, test minus training error per seed, with the noise of its two binomial samples."""
    pairs = list(zip(out.per_seed[f"test_error/{label}"], out.per_seed[f"train_error/{label}"]))
    n_test, n_train = (len(out.items[f"{m}/{label}"][0]) for m in ("test_error", "train_error"))
    out.add(f"gap/{label}", [a - b for a, b in pairs])
    out.value_se[f"gap/{label}"] = [math.hypot(binomial_se(a, n_test), binomial_se(b, n_train)) for a, b in pairs]


def gap_difference_se(out: Outcome, a: str, b: str) -> list[float]:
    """Per seed, the standard error of ``gap/a - gap/b``: its test and training parts each paired image by image."""
    def variance(metric: str, seed: int) -> float:
        d = [x - y for x, y in zip(out.items[f"{metric}/{a}"][seed], out.items[f"{metric}/{b}"][seed])]
        return statistics.variance(d) / len(d)
    return [math.sqrt(variance("test_error", s) + variance("train_error", s))
            for s in range(len(out.items[f"test_error/{a}"]))]


def comparison(arms: Any, labels: Mapping[str, str], figure: str, title: str, note: str,
               paper: Mapping[str, float] | None = None, then: Any = None):
    """The experiment comparing ``arms(preset)``: errors, table, curves, notes; ``then(ctx, out, results)``: more."""
    def experiment(ctx: RunContext) -> Outcome:
        out, results = train_and_record(ctx, arms(ctx.preset))
        out.tables.append(error_table(out, list(labels), paper, names=labels) + "\n\nTest - training gap (points): "
                          + ", ".join(f"{name} {out.fmt(f'gap/{k}')}" for k, name in labels.items()) + ".")
        if then is not None:
            then(ctx, out, results)
        out.figures.append(error_curves(ctx.run_dir / figure, curves(results, labels, train=("eval", "trainset_error")),
                                        title=title))
        out.notes += [note] + _notes(ctx.preset, out, results)
        return out
    return experiment


def _notes(p: AlexNetPreset, out: Outcome, results: Mapping[str, ArmResult]) -> list[str]:
    opt, first, s = p.train.optimizer, next(iter(results.values())), p.train.schedule
    drops = f", divided by {1 / s.gamma:g} after iterations {', '.join(f'{m:,}' for m in s.milestones)}" \
        if s.name == "multistep" and s.milestones else f" ({s.name})"
    notes = [f"Setting: {p.description}. SGD with momentum {opt.momentum:g}, weight decay {opt.weight_decay:g}, "
             f"learning rate {opt.lr:g}{drops}. Test error on the central patches of {first.eval_size:,} test images, "
             f"paired image by image; training error in eval mode on {first.runs[0].task.sizes['trainset']:,} "
             "training images."]
    if p.train.steps < FULL_STEPS or p.data.train_subset:
        notes.append(f"A short run on a training subset (a CPU preset; fan-in initialisation, since the files' tiny "
                     f"weights learn slowly), far from converged numbers; claims about trained nets need {TRAINED:,} "
                     "iterations. Run `--preset full` on a GPU for the paper's setting.")
    return notes + data_notes(out)


# --- alexnet.relu-vs-tanh (Fig. 1) --------------------------------------------------------------

ACTIVATION_LABELS = {"relu": "ReLU", "tanh": "tanh"}
FIG1_SPEEDUP = 6.0     # "six times faster" (Fig. 1 caption)
SPEEDUP_HOLDS = 3.0    # "several times faster" (Section 3.1): half the paper's factor
SPEEDUP_FAILS = 1.5


def relu_experiment(ctx: RunContext) -> Outcome:
    p: AlexNetPreset = ctx.preset
    labels = {(a, lr): f"{a}-lr{lr:g}" for a in ACTIVATION_LABELS for lr in p.lrs}
    results = run_arms(ctx, [arm(p, name, lr=lr, activation=a) for (a, lr), name in labels.items()], data=p.data,
                       train=p.train)
    first = next(iter(results.values()))
    out = Outcome(data=first.source)
    steps = {name: [steps_to_reach(*res.curve("train", "error", i), p.threshold) for i in range(len(res.runs))]
             for name, res in results.items()}
    # the paper chose each net's rate "to make training as fast as possible": the rate reaching the
    # threshold in the fewest iterations (mean over seeds), then the lowest final training error
    best = {a: labels[a, min(p.lrs, key=lambda lr, a=a: (statistics.fmean(steps[labels[a, lr]]), statistics.fmean(
        results[labels[a, lr]].final_train_error(3))))] for a in ACTIVATION_LABELS}
    record_crossing(out, "speedup", {a: results[best[a]] for a in ("tanh", "relu")}, ("train", "error"), p.threshold,
                 p.train.steps, p.train.log_every)
    epoch = first.runs[0].task.sizes["train"] / p.data.batch_size   # iterations per epoch
    for a in ACTIVATION_LABELS:
        out.add(f"epochs/{a}", [v / epoch for v in out.per_seed[f"steps/{a}"]])
    tried = "; ".join(f"{name}: " + ", ".join("never" if math.isinf(s) else f"{s:,.0f}" for s in steps[name])
                      for name in labels.values())
    out.tables.append(f"Iterations to {p.threshold:g}% training error per seed ({tried}). Fastest: {best['relu']} "
                      f"{out.fmt('steps/relu', 0)} ({out.fmt('epochs/relu', 1)} epochs), {best['tanh']} "
                      f"{out.fmt('steps/tanh', 0)}{'' if out.values['reached/tanh'] == 1 else ' or more'} "
                      f"({out.fmt('epochs/tanh', 1)} epochs); tanh / ReLU = {out.fmt('speedup', 1)} (paper: about "
                      f"{FIG1_SPEEDUP:g}).")
    line = f"{p.threshold:g}% threshold"
    lines = {name: res.curve("train", "error") for name, res in results.items()}
    out.figures.append(line_panels(
        ctx.run_dir / "fig1_relu_tanh.png", {"every rate tried (cf. Fig. 1)": lines | {line: (
            [0, p.train.steps], [p.threshold] * 2)}}, xlabel="iter.", ylabel="training error rate (%)",
        styles={line: ":"} | {k: "--" for k in lines if k.startswith("tanh")}, colors={line: "grey"}, ylim=(0, 100),
        title="Four-layer CNN on CIFAR-10: ReLU (solid) vs tanh (dashed)"))
    out.notes.append(f"Training error: the training batches' error averaged over each log interval of "
                     f"{p.train.log_every} iterations, whose crossing of {p.threshold:g}% carries a reading error of "
                     f"{p.train.log_every} / sqrt(12) iterations (the ratio's measurement noise, beside the seeds'). "
                     "No regularisation and no normalisation, as in Fig. 1.")
    out.notes.append(f"Learning-rate search: each activation was trained at {', '.join(f'{lr:g}' for lr in p.lrs)} "
                     "and gets the rate reaching the threshold in the fewest iterations (mean over seeds; ties by the "
                     "final training error): the paper's criterion ('to make training as fast as possible').")
    out.notes += _notes(p, out, results)
    if p.threshold != 25.0:
        out.notes.append(f"This preset's threshold is {p.threshold:g}% training error, not the paper's 25%, so that "
                         "both networks can reach it in a short run.")
    return out


register_claim(Claim(
    id="alexnet.relu-vs-tanh", paper="alexnet", source="Fig. 1, Section 3.1",
    title="ReLUs train several times faster than tanh units",
    statement=("A four-layer convolutional network with ReLUs reaches a 25% training error rate on CIFAR-10 six "
               "times faster than an equivalent network with tanh neurons, each with the learning rate that "
               "trains it fastest and no regularisation."),
    presets={
        "quick": preset(
            "quick", "ReLU vs tanh, rate 0.01 each", data=replace(QUICK_DATA, batch_size=32, train_subset=2000),
            train=replace(QUICK_RECIPE, steps=1000, optimizer=replace(QUICK_RECIPE.optimizer, weight_decay=0.0),
                          schedule=ScheduleConfig(name="constant"), eval_every=0, log_every=25),
            lrn=False, augment="none", lrs=(0.01,)),
        "full": preset(
            "full", "ReLU vs tanh, the fastest of rates 0.003/0.01/0.03 each",
            train=replace(FULL_RECIPE, steps=40 * CIFAR_TRAIN // 128, optimizer=replace(
                FULL_RECIPE.optimizer, weight_decay=0.0), schedule=ScheduleConfig(name="constant"), eval_every=0,
                          log_every=50),
            lrn=False, augment="none", init="fan-in", lrs=(0.003, 0.01, 0.03)),
    },
    experiment=relu_experiment,
    # a ratio of training-curve readings, not a trained net's accuracy: no run-length guard; the threshold
    # is the need (too short for ReLU: inconclusive; too short for tanh: a lower bound of the ratio)
    verdict=R.all_of(R.custom(lambda out, p: Verdict("holds", "") if len(p.lrs) > 1 else Verdict(
        "inconclusive", f"one learning rate ({p.lrs[0]:g}) for both nets, so neither has the rate that trains it "
                        "fastest, which the claim compares: the ratio is reported, not judged"),
        "inconclusive unless each activation's rate was chosen from at least two", guard=True),
        R.censored(R.at_least("speedup", SPEEDUP_HOLDS, fails_below=SPEEDUP_FAILS, unit="x",
                              words="iterations to the threshold, tanh / ReLU"), fast="relu", slow="tanh")),
    targets=(Target("speedup", FIG1_SPEEDUP, "Fig. 1", None, "iterations to the threshold, tanh / ReLU", "x"),),
))


# --- alexnet.lrn (Section 3.3) and alexnet.overlapping-pooling (Section 3.4) -----------------------

LRN_LABELS = {"lrn": "with response normalisation", "no-lrn": "without"}
LRN_PAPER = {"lrn": 11.0, "no-lrn": 13.0}
POOL_LABELS = {"overlap": "3x3, stride 2 (overlapping)", "no-overlap": "2x2, stride 2"}
POOL_PAPER_TOP1 = 0.4

register_claim(Claim(
    id="alexnet.lrn", paper="alexnet", source="Section 3.3",
    title="Local response normalisation lowers the CIFAR-10 test error (13% -> 11%)",
    statement=("Response normalisation aids generalisation: on CIFAR-10 a four-layer CNN achieved a 13% test error "
               "rate without normalisation and 11% with it."),
    presets={"quick": preset("quick", "with vs without response normalisation", train=replace(
                 QUICK_RECIPE, steps=300, schedule=replace(QUICK_RECIPE.schedule, milestones=(225,)))),
             "full": preset("full", "with vs without response normalisation", seeds=2)},
    experiment=comparison(
        lambda p: [arm(p, "lrn", lrn=True), arm(p, "no-lrn", lrn=False)], LRN_LABELS, "lrn_cifar10.png",
        "Response normalisation on CIFAR-10 (Section 3.3)", paper=LRN_PAPER,
        note=("Section 3.3's 13% and 11% are cuda-convnet's `layers-conv-local-13pct` and `-11pct` runs (their own "
              "schedule, multi-patch testing); later work (Simonyan & Zisserman 2015, Section 4.1) found no gain.")),
    verdict=trained(LRN_LABELS, R.lower("lrn", than="no-lrn", ruled_out=LRN_PAPER["no-lrn"] - LRN_PAPER["lrn"])),
    targets=(Target("test_error/lrn", LRN_PAPER["lrn"], "Section 3.3", 2.0, "test error with normalisation"),
             Target("test_error/no-lrn", LRN_PAPER["no-lrn"], "Section 3.3", 2.0, "test error without")),
))

register_claim(Claim(
    id="alexnet.overlapping-pooling", paper="alexnet", source="Section 3.4",
    title="Overlapping pooling lowers the error and overfits slightly less",
    statement=("Pooling with overlapping 3x3 windows at stride 2 instead of non-overlapping 2x2 windows at stride 2 "
               "reduces the top-1 and top-5 error rates by 0.4% and 0.3% (on ImageNet), and networks with "
               "overlapping pooling are slightly more difficult to overfit."),
    presets={"quick": preset("quick", "3x3/2 vs 2x2/2 max-pooling", lrn=False),
             "full": preset("full", "3x3/2 vs 2x2/2 max-pooling", seeds=2)},
    experiment=comparison(
        lambda p: [arm(p, "overlap", pool=3), arm(p, "no-overlap", pool=2)], POOL_LABELS, "pooling_cifar10.png",
        "Overlapping vs non-overlapping pooling on CIFAR-10 (Section 3.4)",
        note=("The paper compares the pools in AlexNet on ImageNet; in the CIFAR net both pools give the same map "
              "sizes and parameters. 'Overfits slightly less' is read as a smaller test - training gap, reported "
              "beside the verdict, not required by it.")),
    verdict=trained(POOL_LABELS, R.lower("overlap", than="no-overlap", ruled_out=POOL_PAPER_TOP1)),
))


# --- alexnet.dropout (Section 4.2) --------------------------------------------------------------

DROPOUT_LABELS = {"no-dropout": "without dropout", "dropout": "dropout 0.5"}
DROPOUT_SLOWDOWN = 2.0      # "roughly doubles the number of iterations required to converge"
SLOWDOWN_HOLDS = 1.5        # at least this much slower counts as "slower to converge"


def slowdown(ctx: RunContext, out: Outcome, results: Mapping[str, ArmResult]) -> None:
    """Iterations until the training error (eval mode, at the evaluations) reaches the threshold, dropout / none."""
    p: AlexNetPreset = ctx.preset
    record_crossing(out, "slowdown", {k: results[k] for k in ("dropout", "no-dropout")}, ("eval", "trainset_error"),
                 p.threshold, p.train.steps, p.train.eval_every or 1)
    out.add_difference_se("gap", "dropout", "no-dropout", gap_difference_se(out, "dropout", "no-dropout"))
    out.tables.append(f"Iterations to {p.threshold:g}% training error (eval mode): without dropout "
                      f"{out.fmt('steps/no-dropout', 0)}, with {out.fmt('steps/dropout', 0)}"
                      f"{'' if out.values['reached/dropout'] == 1 else ' or more'}; ratio {out.fmt('slowdown', 2)} "
                      f"(paper: roughly {DROPOUT_SLOWDOWN:g}).")


register_claim(Claim(
    id="alexnet.dropout", paper="alexnet", source="Section 4.2",
    title="Without dropout the network overfits substantially; dropout doubles the iterations to converge",
    statement=("Without dropout, the network exhibits substantial overfitting. Dropout roughly doubles the number of "
               "iterations required to converge."),
    presets={"quick": preset("quick", "dropout 0.5 vs none", data=replace(QUICK_DATA, train_subset=2000),
                             train=replace(QUICK_RECIPE, eval_every=50), lrn=False, augment="none", local=True,
                             threshold=50.0),
             "full": preset("full", "dropout 0.5 vs none", seeds=2, threshold=10.0)},
    experiment=comparison(
        lambda p: [arm(p, "no-dropout", dropout=0.0), arm(p, "dropout", dropout=0.5)], DROPOUT_LABELS,
        "dropout_cifar10.png", "Dropout in the CIFAR net (Section 4.2)", then=slowdown,
        note=("Dropout (p = 0.5) drops the outputs of the net's two unshared layers, its analogue of AlexNet's two "
              "hidden fully-connected layers. 'Iterations to converge': until the training error (eval mode, read at "
              "the evaluations) reaches the threshold. 'Overfits': a test - training gap above 0 beyond its noise.")),
    verdict=trained(
        DROPOUT_LABELS, R.at_least("gap/no-dropout", 0.0, unit=" points", words="test - training gap without dropout"),
        R.lower("dropout", than="no-dropout", metric="gap", unit=" points"),
        R.censored(R.at_least("slowdown", SLOWDOWN_HOLDS, fails_below=1.0, unit="x",
                            words="iterations to the threshold, dropout / none"), fast="no-dropout", slow="dropout")),
    targets=(Target("slowdown", DROPOUT_SLOWDOWN, "Section 4.2", None, "iterations to converge, dropout / none", "x"),),
))


# --- alexnet.augmentation and alexnet.ten-crop (Section 4.1) ------------------------------------

AUG_PAPER_PCA = 1.0     # "reduces the top-1 error rate by over 1%"
AUGMENT_WHAT = "central patch vs random patches + flips vs + PCA colour noise"

register_claim(Claim(
    id="alexnet.augmentation", paper="alexnet", source="Section 4.1",
    title="Random patches and flips lower the test error; PCA colour noise lowers it further",
    statement=("Label-preserving augmentation reduces overfitting: training on random patches and their horizontal "
               "reflections (without which the network overfits substantially), and altering the intensities of "
               "the RGB channels along their principal components, which reduces the top-1 error rate by over 1%."),
    presets={"quick": preset("quick", AUGMENT_WHAT, "patches", data=replace(QUICK_DATA, train_subset=2000), lrn=False),
             "full": preset("full", AUGMENT_WHAT, "patches", seeds=2)},
    experiment=comparison(
        lambda p: [arm(p, a, augment=a) for a in AUGMENT_LABELS], AUGMENT_LABELS, "augmentation_cifar10.png",
        "Data augmentation on CIFAR-10 (Section 4.1)",
        note=("The paper cuts 224x224 patches of ImageNet's 256x256 images; here 24x24 patches of CIFAR's 32x32. "
              "The PCA is computed on the normalised training pixels, the space the noise is added in.")),
    verdict=trained(AUGMENT_LABELS, R.lower("crop-flip", than="none"),
                     R.lower("crop-flip-pca", than="crop-flip", ruled_out=AUG_PAPER_PCA)),
))


TEN_CROP_WHAT = "ten-patch vs central-patch testing of one net"


def ten_crop_experiment(ctx: RunContext) -> Outcome:
    p: AlexNetPreset = ctx.preset

    def after(run) -> dict[str, list[float]]:   # each test image's error, two ways, in the same precision
        ways = {"centre": lambda m, x: m(imagenet.center_crop(x, p.crop)),
                "ten-crop": lambda m, x: imagenet.ten_crop_predict(m, x, p.crop)}
        return {k: (100.0 * (o.argmax(1) != y).double()).tolist() for k, (o, y) in
                ((k, test_outputs(run, f)) for k, f in ways.items())}

    out, results = train_and_record(ctx, [arm(p, "net")], after=after)
    for key in ("centre", "ten-crop"):
        out.add_items(f"test_error/{key}", results["net"].extras[key])
    out.tables.append(f"Test error, central patch: {out.fmt('test_error/centre')}%; softmax averaged over ten "
                      f"patches: {out.fmt('test_error/ten-crop')}%.")
    out.figures.append(bars(ctx.run_dir / "ten_crop_bars.png",
                            {k: out.values[f"test_error/{k}"] for k in ("centre", "ten-crop")},
                            {k: out.std[f"test_error/{k}"] for k in ("centre", "ten-crop")},
                            title="Test error of one trained net, two ways of testing"))
    out.notes.append("One net, trained with random patches, flips and colour noise, is tested on the same images two "
                     "ways: its central patch, and the softmax averaged over the four corner and the central patches "
                     "and their reflections, compared image by image. The paper gives no number for the gain.")
    out.notes += _notes(p, out, results)
    return out


register_claim(Claim(
    id="alexnet.ten-crop", paper="alexnet", source="Section 4.1",
    title="Averaging the softmax over ten patches beats testing the central patch",
    statement=("At test time the network makes a prediction by extracting five patches (the four corners and the "
               "centre) and their horizontal reflections and averaging its softmax predictions over the ten; this "
               "predicts better than a single central patch."),
    presets={"quick": preset("quick", TEN_CROP_WHAT, data=replace(QUICK_DATA, train_subset=2000), lrn=False,
                             train=replace(QUICK_RECIPE, eval_every=200), augment="crop-flip-pca", train_eval=500),
             "full": preset("full", TEN_CROP_WHAT, seeds=2, augment="crop-flip-pca")},
    experiment=ten_crop_experiment,
    verdict=trained(["centre"], R.lower("ten-crop", than="centre")),
))
