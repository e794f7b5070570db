"""The AlexNet paper's card, training recipe and claims, run on CIFAR-10 with the paper's CIFAR net.

The paper makes most of its design claims on ImageNet, which paperzoo cannot ship; every claim
here is the same comparison made on CIFAR-10 with the "four-layer CNN" of Section 3.3
(:class:`~paperzoo.papers.alexnet.model.CifarConvNet`, cuda-convnet's ``layers-conv-local``
net), with one option switched per arm: ``activation`` (Fig. 1), ``lrn`` (Section 3.3), ``pool``
(Section 3.4), ``dropout`` (Section 4.2), and the input pipeline (Section 4.1).

Input pipeline (:class:`CropTask`): AlexNet takes 224x224 patches of 256x256 images; on CIFAR
the net takes 24x24 patches of the 32x32 images, as cuda-convnet's CIFAR nets did. Without
augmentation a network trains and tests on the central patch; "crop-flip" trains on random
patches and their mirror images, "crop-flip-pca" adds the PCA colour noise of Section 4.1
(:mod:`paperzoo.data.imagenet`). Tests use the central patch, or the ten patches of Section 4.1
(``alexnet.ten-crop``). The training error reported beside the test error is measured in eval
mode on the central patches of a fixed sample of training images.

Recipe: Section 5's SGD (batch 128, momentum 0.9, weight decay 5e-4, learning rate 0.01;
:data:`PAPER_RECIPE`). The paper divides the rate by 10 when the validation error stops
improving, three times in about 90 epochs, without saying when; ``full`` presets divide it by
10 after 50% and 75% of a fixed 80 epochs, the same for every arm, and report the test error at
the last iteration (no model selection on the test set). ``quick`` presets train smaller nets
for a few epochs on a subset of the training set on a CPU and evaluate on a subset of the test
set; their reports say so, and their verdicts are decided against their own (larger) noise.

Noise: an error rate measured on n images has a binomial standard error sqrt(p (1 - p) / n);
two networks differ "beyond noise" when the gap exceeds two standard errors of the difference,
or two standard errors of the difference of the seed means when there are several seeds,
whichever is larger (:func:`effect`). Ten-crop and centre-crop are evaluated on the same images
and compared with the paired (McNemar) standard error (:func:`paired_margin`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import torch
import torch.nn as nn

from ...claims import Claim, Outcome, RunContext, Target, Verdict
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.classification import ArmResult, noise_margin, paired_margin
from ...claims.figures import bars, error_curves, line_panels
from ...data import DeviceLoader, ImageArrays
from ...data.imagenet import center_crop, pca_colour_basis, pca_colour_noise, random_crop, random_hflip, ten_crop
from ...optim import OptimizerConfig, ScheduleConfig
from ...registry import create_model
from ...train.classification import DataConfig, ImageClassificationTask, evaluate_classifier
from ...train.env import resolve_device
from ...train.loop import TrainConfig, Trainer
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


@dataclass(frozen=True)
class Recipe:
    """Section 5's training recipe, as the paper states it.

    The paper's update is ``v <- 0.9 v - 0.0005 eps w - eps dL/dw; w <- w + v`` with one learning
    rate eps for all layers; ``torch.optim.SGD`` (momentum 0.9, weight decay 5e-4) computes the
    same steps while eps is constant (its buffer is -v / eps) and rescales the velocity when eps
    changes. The learning rate is divided by 10 "when the validation error rate stopped improving",
    three times in about 90 epochs; when is not stated, so no step schedule is given here.
    """

    batch_size: int = 128
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(
        name="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4))
    lr_factor: float = 0.1     # on a plateau of the validation error
    lr_drops: int = 3          # "reduced three times prior to termination"
    epochs: int = 90           # "roughly 90 cycles through the training set"


PAPER_RECIPE = Recipe()

# --- presets ------------------------------------------------------------------------------------

Augment = Literal["none", "crop-flip", "crop-flip-pca"]
AUGMENT_LABELS = {"none": "central patch", "crop-flip": "random patches + flips",
                  "crop-flip-pca": "patches + flips + PCA colour"}

CIFAR_TRAIN = 50000
FULL_EPOCHS = 80
FULL_STEPS = FULL_EPOCHS * CIFAR_TRAIN // PAPER_RECIPE.batch_size   # 31,250
CIFAR_DATA = DataConfig(dataset="cifar10", batch_size=PAPER_RECIPE.batch_size, augment=False, val_size=0,
                        eval_batch_size=1000)
FULL_RECIPE = TrainConfig(
    steps=FULL_STEPS, optimizer=PAPER_RECIPE.optimizer,
    schedule=ScheduleConfig(name="multistep", milestones=(FULL_STEPS // 2, FULL_STEPS * 3 // 4), gamma=0.1),
    eval_every=FULL_STEPS // 40, log_every=100, checkpoint_every=0, keep_checkpoints=1, amp=True,
    channels_last=True, progress=True)
# Quick presets: a CPU, a few epochs of a training subset, evaluation on 2,000 test images; a narrower
# net (32 kernels per layer, shared 3x3 third and fourth layers) with fan-in initialisation, which
# learns within a few hundred iterations (the files' tiny initial weights need thousands).
QUICK_DATA = replace(CIFAR_DATA, batch_size=64, train_subset=5000, eval_subset=2000, eval_batch_size=500)
QUICK_RECIPE = replace(FULL_RECIPE, steps=400, schedule=ScheduleConfig(name="multistep", milestones=(300,)),
                       eval_every=100, log_every=20, amp=False, channels_last=False)


def shortened(train: TrainConfig, steps: int) -> TrainConfig:
    """``train`` cut to ``steps`` iterations, its rate divided by 10 for the last quarter (as QUICK_RECIPE)."""
    return replace(train, steps=steps, schedule=replace(train.schedule, milestones=(steps * 3 // 4,)))


#: Shrinks any preset here to a few seconds: the test suite's smoke run of every claim.
SMOKE = {"train.steps": "4", "train.eval_every": "2", "train.log_every": "1", "data.batch_size": "16",
         "data.train_subset": "256", "data.eval_subset": "64", "train_eval": "64", "widths": "8,8,8,8",
         "lrs": "0.01"}


@dataclass(frozen=True)
class CifarPreset:
    """One comparison on CIFAR-10: the base net (changed per arm by the claim), data, recipe, seeds."""

    description: str
    data: DataConfig = CIFAR_DATA
    train: TrainConfig = FULL_RECIPE
    seeds: int = 1
    crop: int = 24                                  # the net's input: 24x24 patches of the 32x32 images
    widths: tuple[int, ...] = (64, 64, 32, 32)      # conv1, conv2, local3, local4 (the paper's net)
    local: bool = True                              # unshared local3/local4 (the paper's net)
    lrn: bool = True
    augment: Augment = "crop-flip"
    train_eval: int = 10000                         # training images on which the training error is measured
    threshold: float = 25.0                         # training error (%) that counts as reached
    lrs: tuple[float, ...] = ()                     # alexnet.relu-vs-tanh: learning rates tried per activation
    init: CifarInit = "cuda-convnet"                # the cuda-convnet files' weights, or "fan-in" (model.py)


def describe(p: CifarPreset, where: str, inputs: str = "") -> str:
    """The preset's one-line description, written from its settings (``inputs``: the input pipeline, if
    not the preset's ``augment``)."""
    net = ("the paper's CIFAR net" if tuple(p.widths) == (64, 64, 32, 32) and p.local and p.init == "cuda-convnet"
           else f"the CIFAR net at width {'/'.join(map(str, p.widths))} "
                f"({'unshared' if p.local else 'shared 3x3'} third/fourth layers, {p.init} init)")
    images = p.data.train_subset or CIFAR_TRAIN
    epochs = p.train.steps * p.data.batch_size / images
    inputs = inputs or AUGMENT_LABELS[p.augment]
    return (f"{net}{'' if p.lrn else ' without normalisation'}, {p.crop}x{p.crop} {inputs}; "
            f"{p.train.steps:,} iterations of {p.data.batch_size} ({epochs:.0f} epochs of {images:,} training "
            f"images), test on {p.data.eval_subset or 10000:,} images; {where}")


def preset(where: Literal["quick", "full"], what: str, inputs: str = "", **settings: Any) -> CifarPreset:
    """A preset of this paper's claims, ``quick`` (a CPU; see QUICK_RECIPE) or ``full`` (one GPU), described
    as ``what`` (the comparison) and its settings."""
    base = (dict(data=QUICK_DATA, train=QUICK_RECIPE, widths=(32, 32, 32, 32), local=False, init="fan-in",
                 train_eval=2000) if where == "quick" else {})
    p = CifarPreset("", **(base | settings))
    return replace(p, description=f"{what}: {describe(p, 'on a CPU' if where == 'quick' else 'on one GPU', inputs)}")


@dataclass(frozen=True)
class Variant:
    """One arm: changes to the preset's net (model keyword arguments), its input pipeline, its rate."""

    label: str
    model: Mapping[str, Any] = field(default_factory=dict)
    augment: Augment | None = None      # None: the preset's
    lr: float | None = None             # None: the preset's


# --- the input pipeline -------------------------------------------------------------------------

class CropTask(ImageClassificationTask):
    """CIFAR-10 classification on ``crop`` x ``crop`` patches, with Section 4.1's augmentation.

    Batches come normalised (per-channel mean and std of the training images) from the parent's
    loader at 32x32; training batches are then cut to patches: the central one (``"none"``), or
    a random one mirrored with probability 1/2 (``"crop-flip"``), plus PCA colour noise
    (``"crop-flip-pca"``, std 0.1, eigenvectors and eigenvalues of the RGB covariance of up to
    10,000 training images in the normalised units the noise is added in). The augmentation
    draws from a generator of its own, seeded by the run's seed.

    :meth:`evaluate` reports the error and loss on the central patches of the test images
    (``test_*``) and of ``train_eval`` fixed training images (``trainset_*``, eval mode); with
    ``ten_crop`` also the error of the softmax averaged over the ten patches (``test_error_10crop``)
    and the fractions of test images that ten-crop gets right and the centre wrong
    (``test_10crop_fixes``) and the reverse (``test_10crop_breaks``).
    """

    def __init__(self, cfg: DataConfig, *, crop: int, augment: Augment, train_eval: int, ten_crop: bool = False,
                 device: str | torch.device = "cpu", seed: int = 0, root: str | None = None,
                 channels_last: bool = False) -> None:
        super().__init__(replace(cfg, augment=False), device=device, seed=seed, root=root, channels_last=channels_last)
        if augment not in AUGMENT_LABELS:
            raise ValueError(f"unknown augmentation {augment!r}; choose one of {', '.join(AUGMENT_LABELS)}")
        self.crop, self.augment, self.ten_crop = crop, augment, ten_crop
        self.rng = torch.Generator().manual_seed(seed)
        train = self.train_loader
        images = ImageArrays(train.images.cpu(), train.labels.cpu(), self.classes, cfg.dataset, self.source)
        sample = images.sample(train_eval)
        self.eval_loaders["trainset"] = DeviceLoader(sample, batch_size=cfg.eval_batch_size, shuffle=False,
                                                     drop_last=False, device=self.device, mean=self.mean, std=self.std)
        self.sizes["trainset"] = len(sample)
        if augment == "crop-flip-pca":
            pixels = images.sample(10000).images.double() / 255
            mean, std = (torch.tensor(s, dtype=torch.float64).view(1, -1, 1, 1) for s in (self.mean, self.std))
            self.eigvals, self.eigvecs = pca_colour_basis((pixels - mean) / std)

    def train_batches(self):
        for x, y in self.train_loader.forever():  # (B, C, 32, 32), normalised
            if self.augment == "none":
                yield center_crop(x, self.crop), y
                continue
            x = random_hflip(random_crop(x, self.crop, generator=self.rng), generator=self.rng)
            if self.augment == "crop-flip-pca":
                x = pca_colour_noise(x, self.eigvals, self.eigvecs, generator=self.rng)
            yield x.contiguous(), y

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        out = {}
        for name, loader in self.eval_loaders.items():
            out |= {f"{name}_{k}": v for k, v in evaluate_classifier(model, CentreCrops(loader, self.crop)).items()}
        if self.ten_crop:
            out |= ten_crop_errors(model, self.eval_loaders["test"], self.crop)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "augment_rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.rng.set_state(state["augment_rng"])


@dataclass
class CentreCrops:
    """A loader's batches cut to their central ``size`` x ``size`` patches."""

    loader: Any
    size: int

    def __iter__(self):
        for x, y in self.loader:
            yield center_crop(x, self.size), y


def ten_crop_errors(model: nn.Module, loader, size: int) -> dict[str, float]:
    """Centre-patch and ten-patch error (softmax averaged over the ten patches, Section 4.1), with
    the fractions of images each gets right where the other does not (for the paired test)."""
    n = centre_wrong = ten_wrong = fixes = breaks = 0
    for x, y in loader:
        crops = ten_crop(x, size)  # (B, 10, C, size, size); index 4 is the centre patch
        probs = model(crops.flatten(0, 1)).float().softmax(1).view(x.shape[0], 10, -1)  # (B, 10, K)
        centre = probs[:, 4].argmax(1) != y
        ten = probs.mean(1).argmax(1) != y
        n += y.numel()
        centre_wrong += centre.sum().item()
        ten_wrong += ten.sum().item()
        fixes += (centre & ~ten).sum().item()
        breaks += (ten & ~centre).sum().item()
    return {"test_error_centre": centre_wrong / n, "test_error_10crop": ten_wrong / n,
            "test_10crop_fixes": fixes / n, "test_10crop_breaks": breaks / n}


# --- training the arms --------------------------------------------------------------------------

def model_kwargs(preset: CifarPreset, variant: Variant) -> dict[str, Any]:
    """The preset's net with the variant's changes."""
    return {"image_size": preset.crop, "widths": tuple(preset.widths), "local": preset.local, "lrn": preset.lrn,
            "init": preset.init, **variant.model}


def train_variants(ctx: RunContext, variants: Sequence[Variant], *, ten_crop: bool = False) -> dict[str, ArmResult]:
    """Train every variant for every seed of ``ctx`` with the one loop; results by label."""
    p: CifarPreset = ctx.preset
    results = {v.label: ArmResult(v.label) for v in variants}
    for seed in ctx.seeds:
        for v in variants:
            train = p.train if v.lr is None else replace(p.train, optimizer=replace(p.train.optimizer, lr=v.lr))
            cfg = replace(train, seed=seed, device=ctx.device, progress=ctx.progress and train.progress)
            device = resolve_device(cfg.device)
            task = CropTask(p.data, crop=p.crop, augment=v.augment or p.augment, train_eval=p.train_eval,
                            ten_crop=ten_crop, device=device, seed=seed, root=ctx.data_root,
                            channels_last=cfg.channels_last)
            kwargs = model_kwargs(p, v) | {"num_classes": len(task.classes)}
            torch.manual_seed(seed)
            model = create_model("cifar_convnet", **kwargs)
            meta = {"model": "cifar_convnet", "model_kwargs": kwargs, "data": task.meta()}
            trainer = Trainer(model, task, cfg, run_dir=ctx.subdir("runs", f"{v.label}-seed{seed}"), model_meta=meta)
            res = results[v.label]
            res.runs.append(trainer.fit())
            res.eval_size = task.sizes["test"]
            res.extras.setdefault("data", []).append(task.source)
            res.extras.setdefault("train_size", []).append(task.sizes["train"])
    return results


def record(out: Outcome, results: Mapping[str, ArmResult]) -> None:
    """Each arm's last test error, training error (eval mode) and their gap, in percent, per seed."""
    for label, res in results.items():
        test, train = res.last("test_error"), res.last("trainset_error")
        out.add(f"test_error/{label}", test)
        out.add(f"train_error/{label}", train)
        out.add(f"gap/{label}", [a - b for a, b in zip(test, train)])
    out.data = next(iter(results.values())).extras["data"][0]


def curves(results: Mapping[str, ArmResult], labels: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Training (eval mode) and test error curves of seed 0, for :func:`error_curves`."""
    return {labels[k]: {"train": res.curve("eval", "trainset_error"), "test": res.curve("eval", "test_error")}
            for k, res in results.items()}


def table(out: Outcome, labels: Mapping[str, str], paper: Mapping[str, str] | None = None) -> str:
    head = "| network | training error (%) | test error (%) | test - training (points) |"
    sep = "|---|---|---|---|"
    if paper:
        head, sep = head + " paper |", sep + "---|"
    rows = [head, sep]
    for key, name in labels.items():
        row = [name, out.fmt(f"train_error/{key}"), out.fmt(f"test_error/{key}"), out.fmt(f"gap/{key}")]
        if paper:
            row.append(paper.get(key, "—"))
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)


# --- measurement and noise ----------------------------------------------------------------------

def steps_to_reach(steps: Sequence[int], errors: Sequence[float], threshold: float) -> float:
    """The first step whose error is at most ``threshold`` (same units), ``inf`` if none is."""
    return next((float(s) for s, e in zip(steps, errors) if e <= threshold), math.inf)


def binomial_se(error: float, n: int) -> float:
    """Standard error (points) of an error rate of ``error`` percent measured on ``n`` images."""
    q = error / 100
    return 100 * math.sqrt(max(q * (1 - q), 1e-12) / n)


def test_noise(out: Outcome, a: str, b: str, n: int) -> float:
    """Two binomial standard errors (points) of the difference of arms ``a`` and ``b``'s test errors on ``n`` images."""
    return noise_margin(out.values[f"test_error/{a}"], out.values[f"test_error/{b}"], n)


def gap_noise(out: Outcome, arms: Sequence[str], n_test: int, n_train: int) -> float:
    """Two standard errors (points) of the test - training gap of one arm, or of the difference of two arms'
    gaps: each error rate is binomial on its own sample (``n_test`` test, ``n_train`` training images)."""
    variance = sum(binomial_se(out.values[f"test_error/{a}"], n_test) ** 2
                   + binomial_se(out.values[f"train_error/{a}"], n_train) ** 2 for a in arms)
    return 2 * math.sqrt(variance)


def margin(out: Outcome, key: str, a: str, b: str, noise: float) -> float:
    """The noise on ``key``'s difference between arms ``a`` and ``b`` (points): ``noise`` (the
    measurement's, e.g. :func:`test_noise`) or two standard errors of the difference of the seed
    means, whichever is larger."""
    seeds = len(out.per_seed[f"{key}/{a}"])
    seed_margin = 2 * math.sqrt((out.std[f"{key}/{a}"] ** 2 + out.std[f"{key}/{b}"] ** 2) / seeds)
    return max(noise, seed_margin)


def effect(out: Outcome, key: str, *, better: str, worse: str, noise: float, paper: float = 0.0) -> tuple[str, str]:
    """Does ``better`` lower ``key`` below ``worse``? ``("yes", text)`` if by more than the
    :func:`margin`; ``"no"`` if the gain falls short of the paper's ``paper`` points by more than
    the margin (the paper's effect is ruled out); ``"tie"`` otherwise."""
    d = out.values[f"{key}/{worse}"] - out.values[f"{key}/{better}"]
    m = margin(out, key, better, worse, noise)
    status = "yes" if d > m else ("no" if d < paper - m else "tie")
    return status, f"{d:+.2f} points (noise ±{m:.2f})"


def _n_test(p: CifarPreset) -> int:
    return p.data.eval_subset or 10000


def _schedule_text(train: TrainConfig) -> str:
    if train.schedule.name == "multistep" and train.schedule.milestones:
        steps = ", ".join(f"{m:,}" for m in train.schedule.milestones)
        return f", divided by {1 / train.schedule.gamma:g} after iterations {steps}"
    return f" ({train.schedule.name})"


def _notes(out: Outcome, p: CifarPreset, train_size: int) -> list[str]:
    opt = p.train.optimizer
    notes = [f"Setting: {p.description}. SGD with momentum {opt.momentum:g}, weight decay {opt.weight_decay:g}, "
             f"learning rate {opt.lr:g}{_schedule_text(p.train)}. Test error on the central patch; training "
             f"error in eval mode on the central patches of {min(p.train_eval, train_size):,} training images."]
    if p.init == "fan-in":
        notes.append("Weights start from N(0, g^2 / fan_in) (g^2 = 2 for ReLU, 1 for tanh) instead of the cuda-convnet "
                     "files' fixed standard deviations, whose tiny first-layer weights (1e-4) make a short run learn "
                     "very slowly.")
    if p.train.steps < FULL_STEPS or p.data.train_subset:
        notes.append("This is a short run on a training subset (a CPU preset): it shows the comparison early in "
                     "training, far from the paper's converged numbers, and its verdict is decided against the "
                     "larger noise of its smaller test sample. Run `--preset full` on a GPU for the paper's setting.")
    if "JPEG" in out.data:
        notes.append("Our CIFAR-10 is a JPEG (quality 75) copy: absolute errors sit above numbers measured on the "
                     "original images; the verdict rests on the comparison the paper makes.")
    return notes


def _arm_listing(out: Outcome, labels: Mapping[str, str], key: str = "test_error") -> str:
    return ", ".join(f"{name} {out.fmt(f'{key}/{k}')}%" for k, name in labels.items())


# --- alexnet.relu-vs-tanh (Fig. 1) --------------------------------------------------------------

ACTIVATION_LABELS = {"relu": "ReLU", "tanh": "tanh"}
FIG1_SPEEDUP = 6.0     # "six times faster" (Fig. 1 caption)
SPEEDUP_HOLDS = 3.0    # "several times faster" (Section 3.1): half the paper's factor
SPEEDUP_FAILS = 1.5


def _rate_label(act: str, lr: float) -> str:
    return f"{act}-lr{lr:g}"


def relu_experiment(ctx: RunContext) -> Outcome:
    p: CifarPreset = ctx.preset
    variants = [Variant(_rate_label(a, lr), {"activation": a}, lr=lr) for a in ACTIVATION_LABELS for lr in p.lrs]
    results = train_variants(ctx, variants)
    train_size = results[variants[0].label].extras["train_size"][0]
    epoch = train_size / p.data.batch_size   # iterations per epoch
    out = Outcome(data=results[variants[0].label].extras["data"][0])
    reach = {label: [steps_to_reach(*res.curve("train", "error", i), p.threshold) for i in range(len(res.runs))]
             for label, res in results.items()}
    best: dict[str, float] = {}
    for act in ACTIVATION_LABELS:
        # the paper chose each network's rate "to make training as fast as possible": the rate reaching
        # the threshold in the fewest iterations (mean over seeds), then the lowest final training error
        def speed(lr: float, act: str = act) -> tuple[float, float]:
            label = _rate_label(act, lr)
            return statistics.fmean(reach[label]), statistics.fmean(results[label].final_train_error(3))
        best[act] = min(p.lrs, key=speed)
        label = _rate_label(act, best[act])
        steps = reach[label]
        out.add(f"reached/{act}", [float(math.isfinite(s)) for s in steps])
        # an arm that never reaches the threshold is counted at its last step: a lower bound for it
        out.add(f"steps/{act}", [s if math.isfinite(s) else float(p.train.steps) for s in steps])
        out.add(f"epochs/{act}", [v / epoch for v in out.per_seed[f"steps/{act}"]])
        out.add(f"lr/{act}", [best[act]] * len(steps))
        out.add(f"final_train_error/{act}", results[label].final_train_error(3))
    out.add("speedup", [t / r for t, r in zip(out.per_seed["steps/tanh"], out.per_seed["steps/relu"])])
    rows = ["| learning rate | " + " | ".join(f"{name}: iterations to {p.threshold:g}% training error"
                                              for name in ACTIVATION_LABELS.values()) + " |",
            "|---|" + "---|" * len(ACTIVATION_LABELS)]
    for lr in p.lrs:
        cells = [", ".join("never" if math.isinf(s) else f"{s:,.0f}" for s in reach[_rate_label(a, lr)])
                 for a in ACTIVATION_LABELS]
        rows.append(f"| {lr:g} | " + " | ".join(cells) + " |")
    out.tables.append("\n".join(rows))
    bound = "" if out.values["reached/tanh"] == 1 else " (a lower bound: tanh did not reach the threshold)"
    out.tables.append(f"Best rates: ReLU {best['relu']:g}, tanh {best['tanh']:g}. Iterations to {p.threshold:g}% "
                      f"training error: ReLU {out.fmt('steps/relu', 0)} ({out.fmt('epochs/relu', 1)} epochs), tanh "
                      f"{out.fmt('steps/tanh', 0)} ({out.fmt('epochs/tanh', 1)} epochs); tanh / ReLU = "
                      f"{out.fmt('speedup', 1)}{bound} (paper: about {FIG1_SPEEDUP:g}).")

    def in_epochs(label: str) -> tuple[list[float], list[float]]:
        steps, errors = results[label].curve("train", "error")
        return [s / epoch for s in steps], errors

    line = f"{p.threshold:g}% threshold"
    threshold = {line: ([0, p.train.steps / epoch], [p.threshold, p.threshold])}

    def name(act: str, lr: float) -> str:
        return f"{ACTIVATION_LABELS[act]}, rate {lr:g}"

    fig1 = {name(a, best[a]): in_epochs(_rate_label(a, best[a])) for a in ACTIVATION_LABELS} | threshold
    sweep = {name(a, lr): in_epochs(_rate_label(a, lr)) for a in ACTIVATION_LABELS for lr in p.lrs} | threshold
    styles = {line: ":"} | {name("tanh", lr): "--" for lr in p.lrs}
    out.figures.append(line_panels(
        ctx.run_dir / "fig1_relu_tanh.png", {"best rate each (cf. Fig. 1)": fig1, "every rate tried": sweep},
        xlabel="epochs", ylabel="training error rate (%)", styles=styles, colors={line: "grey"},
        ylim=(0, 100), title="Four-layer CNN on CIFAR-10: ReLU (solid) vs tanh (dashed)"))
    out.notes.append(f"Training error is the error on the training mini-batches averaged over each log interval of "
                     f"{p.train.log_every} iterations ({p.train.log_every * p.data.batch_size:,} examples), as a "
                     f"training curve; the step at which it first reaches {p.threshold:g}% is read off it. No "
                     "regularisation (no weight decay, dropout or augmentation) and no response normalisation, as "
                     "the paper's Fig. 1 net; each activation gets the fastest of the rates tried, as in the paper.")
    out.notes += _notes(out, p, train_size)
    if p.threshold != 25.0:
        out.notes.append(f"This preset uses a threshold of {p.threshold:g}% training error instead of the paper's 25% "
                         "so that both networks can reach it in a short run.")
    return out


def relu_verdict(out: Outcome, preset: CifarPreset) -> Verdict:
    ratios = out.per_seed["speedup"]
    text = (f"With rates {', '.join(f'{lr:g}' for lr in preset.lrs)} tried for each, ReLU reaches "
            f"{preset.threshold:g}% training error in {out.fmt('steps/relu', 0)} iterations, tanh in "
            f"{out.fmt('steps/tanh', 0)}{'' if out.values['reached/tanh'] == 1 else ' or more (not reached)'}: "
            f"{out.fmt('speedup', 1)} times faster (paper: {FIG1_SPEEDUP:g}).")
    if out.values["reached/relu"] < 1:
        return Verdict("inconclusive", f"The ReLU net did not reach the threshold in every seed; train longer. {text}")
    if min(ratios) >= SPEEDUP_HOLDS:
        return Verdict("holds", text)
    if out.values["reached/tanh"] == 1 and statistics.fmean(ratios) < SPEEDUP_FAILS:
        return Verdict("does not hold", text)
    return Verdict("inconclusive", text)


register_claim(Claim(
    id="alexnet.relu-vs-tanh",
    paper="alexnet",
    title="ReLUs train several times faster than tanh units",
    statement=("A four-layer convolutional network with ReLUs reaches a 25% training error rate on CIFAR-10 six "
               "times faster than an equivalent network with tanh neurons, each with the learning rate that "
               "trains it fastest and no regularisation."),
    source="Fig. 1, Section 3.1",
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
    smoke=SMOKE,
    verdict=relu_verdict,
    targets=(Target("speedup", FIG1_SPEEDUP, "Fig. 1", None, "iterations to the threshold, tanh / ReLU", "x"),),
    rule=(f"holds if, with each activation's fastest rate, tanh needs at least {SPEEDUP_HOLDS:g} times as many "
          "iterations as ReLU to reach the threshold in every seed (a tanh net that never reaches it counts at the "
          "run's length, a lower bound); does not hold if both reach it and the ratio averages below "
          f"{SPEEDUP_FAILS:g}; inconclusive otherwise (also when ReLU does not reach it). The threshold crossing "
          "is read from training error averaged over log intervals; the paper's factor 6 is reported beside."),
))


# --- comparisons of two or three arms (Sections 3.3, 3.4, 4.1, 4.2) -------------------------------

def _compare_experiment(ctx: RunContext, variants: Sequence[Variant], labels: Mapping[str, str], *, figure: str,
                        title: str, paper: Mapping[str, str] | None = None) -> tuple[Outcome, dict[str, ArmResult]]:
    p: CifarPreset = ctx.preset
    results = train_variants(ctx, variants)
    out = Outcome()
    record(out, results)
    out.tables.append(table(out, labels, paper))
    out.figures.append(error_curves(ctx.run_dir / figure, curves(results, labels), title=title))
    out.notes += _notes(out, p, results[variants[0].label].extras["train_size"][0])
    return out, results


# --- alexnet.lrn (Section 3.3) ------------------------------------------------------------------

LRN_LABELS = {"lrn": "with response normalisation", "no-lrn": "without"}
LRN_PAPER = {"lrn": 11.0, "no-lrn": 13.0}


def lrn_experiment(ctx: RunContext) -> Outcome:
    out, _ = _compare_experiment(ctx, [Variant("lrn", {"lrn": True}), Variant("no-lrn", {"lrn": False})], LRN_LABELS,
                                 figure="lrn_cifar10.png", title="Response normalisation on CIFAR-10 (Section 3.3)",
                                 paper={k: f"{v:g}% test" for k, v in LRN_PAPER.items()})
    out.notes.append("Section 3.3's 13% and 11% are cuda-convnet's `layers-conv-local-13pct` and `-11pct` runs (with "
                     "their own schedule and multi-patch testing); later work (e.g. Simonyan & Zisserman 2015, "
                     "Section 4.1) found that response normalisation does not help.")
    return out


def lrn_verdict(out: Outcome, preset: CifarPreset) -> Verdict:
    paper = LRN_PAPER["no-lrn"] - LRN_PAPER["lrn"]
    status, gain = effect(out, "test_error", better="lrn", worse="no-lrn",
                          noise=test_noise(out, "lrn", "no-lrn", _n_test(preset)), paper=paper)
    text = f"Normalisation changes test error by {gain} ({_arm_listing(out, LRN_LABELS)}; paper 13% -> 11%)."
    if status == "yes":
        return Verdict("holds", f"Normalisation lowers the test error beyond noise: {text}")
    if status == "no":
        return Verdict("does not hold", f"The paper's 2-point gain is ruled out: {text}")
    return Verdict("inconclusive", f"The difference is within noise of both no gain and the paper's: {text}")


def _effect_rule(what: str, paper: str) -> str:
    return (f"holds if {what} lowers the test error by more than the noise (two standard errors of the difference: "
            "binomial on the test images, or over seeds, whichever is larger); does not hold if the gain falls "
            f"short of the paper's {paper} by more than that noise; inconclusive otherwise.")


register_claim(Claim(
    id="alexnet.lrn",
    paper="alexnet",
    title="Local response normalisation lowers the CIFAR-10 test error (13% -> 11%)",
    statement=("Response normalisation aids generalisation: on CIFAR-10 a four-layer CNN achieved a 13% test error "
               "rate without normalisation and 11% with it."),
    source="Section 3.3",
    presets={
        "quick": preset("quick", "with vs without response normalisation", train=shortened(QUICK_RECIPE, 300)),
        "full": preset("full", "with vs without response normalisation", seeds=2),
    },
    experiment=lrn_experiment,
    smoke=SMOKE,
    verdict=lrn_verdict,
    targets=(Target("test_error/lrn", LRN_PAPER["lrn"], "Section 3.3", 2.0, "test error with normalisation"),
             Target("test_error/no-lrn", LRN_PAPER["no-lrn"], "Section 3.3", 2.0, "test error without")),
    rule=_effect_rule("response normalisation", "2 points (13% -> 11%)"),
))


# --- alexnet.overlapping-pooling (Section 3.4) ---------------------------------------------------

POOL_LABELS = {"overlap": "3x3, stride 2 (overlapping)", "no-overlap": "2x2, stride 2"}
POOL_PAPER_TOP1 = 0.4


def pooling_experiment(ctx: RunContext) -> Outcome:
    out, _ = _compare_experiment(ctx, [Variant("overlap", {"pool": 3}), Variant("no-overlap", {"pool": 2})],
                                 POOL_LABELS, figure="pooling_cifar10.png",
                                 title="Overlapping vs non-overlapping pooling on CIFAR-10 (Section 3.4)")
    out.notes.append("The paper compares the pools in AlexNet on ImageNet (top-1 error 0.4 points and top-5 0.3 points "
                     "lower with overlap); we compare them in the CIFAR net, where both pools give the same map sizes "
                     "and the same parameters. The paper's 'overfits slightly less' is read as a smaller test - "
                     "training gap.")
    return out


def pooling_verdict(out: Outcome, preset: CifarPreset) -> Verdict:
    status, gain = effect(out, "test_error", better="overlap", worse="no-overlap",
                          noise=test_noise(out, "overlap", "no-overlap", _n_test(preset)), paper=POOL_PAPER_TOP1)
    gap = (f"test - training gap {out.fmt('gap/overlap')} (overlapping) vs {out.fmt('gap/no-overlap')} points; "
           f"{_arm_listing(out, POOL_LABELS)}")
    text = f"Overlapping pooling changes the test error by {gain}; {gap}."
    if status == "yes":
        return Verdict("holds", f"Overlapping pooling lowers the test error beyond noise. {text}")
    if status == "no":
        return Verdict("does not hold", f"Overlapping pooling is worse by more than the noise. {text}")
    return Verdict("inconclusive", f"The difference is within noise (the paper's own is 0.4 points). {text}")


register_claim(Claim(
    id="alexnet.overlapping-pooling",
    paper="alexnet",
    title="Overlapping pooling lowers the error and overfits slightly less",
    statement=("Pooling with overlapping 3x3 windows at stride 2 instead of non-overlapping 2x2 windows at stride 2 "
               "reduces the top-1 and top-5 error rates by 0.4% and 0.3% (on ImageNet), and networks with "
               "overlapping pooling are slightly more difficult to overfit."),
    source="Section 3.4",
    presets={
        "quick": preset("quick", "3x3/2 vs 2x2/2 max-pooling", lrn=False),
        "full": preset("full", "3x3/2 vs 2x2/2 max-pooling", seeds=2),
    },
    experiment=pooling_experiment,
    smoke=SMOKE,
    verdict=pooling_verdict,
    rule=(_effect_rule("overlapping pooling", "0.4 points (ImageNet top-1)")
          + " The test - training gap (overfitting) is reported beside, not required."),
))


# --- alexnet.dropout (Section 4.2) --------------------------------------------------------------

DROPOUT_LABELS = {"no-dropout": "without dropout", "dropout": "dropout 0.5"}
DROPOUT_SLOWDOWN = 2.0      # "roughly doubles the number of iterations required to converge"
SLOWDOWN_HOLDS = 1.5        # at least this much slower counts as "slower to converge"


def dropout_experiment(ctx: RunContext) -> Outcome:
    p: CifarPreset = ctx.preset
    out, results = _compare_experiment(ctx, [Variant("no-dropout", {"dropout": 0.0}),
                                             Variant("dropout", {"dropout": 0.5})],
                                       DROPOUT_LABELS, figure="dropout_cifar10.png",
                                       title="Dropout in the CIFAR net (Section 4.2)")
    for label, res in results.items():
        reach = [steps_to_reach(*res.curve("eval", "trainset_error", i), p.threshold) for i in range(len(res.runs))]
        out.add(f"reached/{label}", [float(math.isfinite(s)) for s in reach])
        out.add(f"steps/{label}", [s if math.isfinite(s) else float(p.train.steps) for s in reach])
    out.add("slowdown", [d / n for d, n in zip(out.per_seed["steps/dropout"], out.per_seed["steps/no-dropout"])])
    out.tables.append(f"Iterations until the training error (eval mode) first reaches {p.threshold:g}%: without "
                      f"dropout {out.fmt('steps/no-dropout', 0)}, with dropout {out.fmt('steps/dropout', 0)}"
                      f"{'' if out.values['reached/dropout'] == 1 else ' or more (not reached)'}; ratio "
                      f"{out.fmt('slowdown', 2)} (paper: roughly {DROPOUT_SLOWDOWN:g}).")
    out.notes.append("Dropout (p = 0.5) drops the outputs of the net's two unshared layers, its analogue of AlexNet's "
                     "two hidden fully-connected layers (see `cifar_convnet`). 'Iterations to converge' is measured as "
                     f"the iterations until the training error reaches {p.threshold:g}%, read at the evaluations "
                     f"(every {p.train.eval_every} iterations).")
    return out


def dropout_verdict(out: Outcome, preset: CifarPreset) -> Verdict:
    n_test, n_train = _n_test(preset), min(preset.train_eval, preset.data.train_subset or CIFAR_TRAIN)
    arms = ("no-dropout", "dropout")
    status, less = effect(out, "gap", better="dropout", worse="no-dropout", noise=gap_noise(out, arms, n_test, n_train))
    overfits = out.values["gap/no-dropout"] > margin(out, "gap", *arms, gap_noise(out, arms[:1], n_test, n_train))
    slower = out.values["reached/no-dropout"] == 1 and min(out.per_seed["slowdown"]) >= SLOWDOWN_HOLDS
    text = (f"Test - training gap: {out.fmt('gap/no-dropout')} points without dropout, {out.fmt('gap/dropout')} with "
            f"(difference {less}); test error {_arm_listing(out, DROPOUT_LABELS)}; iterations to "
            f"{preset.threshold:g}% training error, dropout / none: {out.fmt('slowdown', 2)}"
            f"{'' if out.values['reached/dropout'] == 1 else ' or more (dropout did not reach it)'} (paper: about 2).")
    if status == "yes" and overfits and slower:
        return Verdict("holds", f"Without dropout the net overfits; dropout narrows the gap and slows convergence. "
                       f"{text}")
    if status == "no" or (out.values["reached/dropout"] == 1 and statistics.fmean(out.per_seed["slowdown"]) < 1.0):
        return Verdict("does not hold", f"Dropout does not narrow the gap, or converges faster. {text}")
    return Verdict("inconclusive", text)


register_claim(Claim(
    id="alexnet.dropout",
    paper="alexnet",
    title="Without dropout the network overfits substantially; dropout doubles the iterations to converge",
    statement=("Without dropout, the network exhibits substantial overfitting. Dropout roughly doubles the number of "
               "iterations required to converge."),
    source="Section 4.2",
    presets={
        "quick": preset("quick", "dropout 0.5 vs none", data=replace(QUICK_DATA, train_subset=2000),
                        train=replace(QUICK_RECIPE, eval_every=50), lrn=False, augment="none", local=True,
                        threshold=50.0),
        "full": preset("full", "dropout 0.5 vs none", seeds=2, threshold=10.0),
    },
    experiment=dropout_experiment,
    smoke=SMOKE,
    verdict=dropout_verdict,
    targets=(Target("slowdown", DROPOUT_SLOWDOWN, "Section 4.2", None, "iterations to converge, dropout / none", "x"),),
    rule=("holds if without dropout the test - training gap exceeds its noise (two standard errors, each error "
          "binomial on its own sample of test or training images, or over seeds), dropout narrows the gap by more "
          f"than the noise of the difference, and dropout needs at least {SLOWDOWN_HOLDS:g} times the iterations to "
          "reach the threshold training error in every seed (a run that never reaches it counts at its length, a "
          "lower bound); does not hold if dropout widens the gap beyond noise or converges faster on average; "
          "inconclusive otherwise."),
))


# --- alexnet.augmentation (Section 4.1) ---------------------------------------------------------

AUG_PAPER_PCA = 1.0     # "reduces the top-1 error rate by over 1%"
AUGMENT_WHAT = "central patch vs random patches + flips vs + PCA colour noise"


def augmentation_experiment(ctx: RunContext) -> Outcome:
    variants = [Variant(a, augment=a) for a in AUGMENT_LABELS]
    out, _ = _compare_experiment(ctx, variants, AUGMENT_LABELS, figure="augmentation_cifar10.png",
                                 title="Data augmentation on CIFAR-10 (Section 4.1)",
                                 paper={"crop-flip-pca": "top-1 > 1 point lower (ImageNet)"})
    out.notes.append("The paper's augmentation works on ImageNet's 256x256 images (224x224 patches); here the same "
                     "transforms cut 24x24 patches of CIFAR's 32x32 images. The PCA is computed on the normalised "
                     "training pixels, the space the noise is added in.")
    return out


def augmentation_verdict(out: Outcome, preset: CifarPreset) -> Verdict:
    n = _n_test(preset)
    crops, crops_gain = effect(out, "test_error", better="crop-flip", worse="none",
                               noise=test_noise(out, "crop-flip", "none", n))
    pca, pca_gain = effect(out, "test_error", better="crop-flip-pca", worse="crop-flip",
                           noise=test_noise(out, "crop-flip-pca", "crop-flip", n), paper=AUG_PAPER_PCA)
    text = (f"Patches + flips change the test error by {crops_gain}; PCA colour noise by {pca_gain} (paper: over -1 "
            f"point top-1 on ImageNet). {_arm_listing(out, AUGMENT_LABELS)}.")
    if crops == "yes" and pca == "yes":
        return Verdict("holds", f"Both augmentations lower the test error beyond noise. {text}")
    if "no" in (crops, pca):
        which = "patches + flips do not help" if crops == "no" else "the colour noise's 1-point gain is ruled out"
        return Verdict("does not hold", f"{which.capitalize()}. {text}")
    return Verdict("inconclusive", f"At least one gain is within noise. {text}")


register_claim(Claim(
    id="alexnet.augmentation",
    paper="alexnet",
    title="Random patches and flips lower the test error; PCA colour noise lowers it further",
    statement=("Label-preserving augmentation reduces overfitting: training on random patches and their horizontal "
               "reflections (without which the network overfits substantially), and altering the intensities of "
               "the RGB channels along their principal components, which reduces the top-1 error rate by over 1%."),
    source="Section 4.1",
    presets={
        "quick": preset("quick", AUGMENT_WHAT, inputs="patches", data=replace(QUICK_DATA, train_subset=2000),
                        lrn=False),
        "full": preset("full", AUGMENT_WHAT, inputs="patches", seeds=2),
    },
    experiment=augmentation_experiment,
    smoke=SMOKE,
    verdict=augmentation_verdict,
    rule=("holds if random patches + flips lower the test error below the central patch's, and PCA colour noise lowers "
          "it further, each by more than the noise (two standard errors of the difference: binomial on the test "
          "images, or over seeds); does not hold if patches + flips are worse beyond noise or the colour noise's "
          "gain falls short of the paper's 1 point by more than the noise; inconclusive otherwise."),
))


# --- alexnet.ten-crop (Section 4.1) -------------------------------------------------------------

def ten_crop_experiment(ctx: RunContext) -> Outcome:
    p: CifarPreset = ctx.preset
    results = train_variants(ctx, [Variant("net")], ten_crop=True)
    res = results["net"]
    out = Outcome(data=res.extras["data"][0])
    for key in ("test_error_centre", "test_error_10crop", "test_10crop_fixes", "test_10crop_breaks"):
        out.add(key, res.last(key))
    out.add("gain", [c - t for c, t in zip(out.per_seed["test_error_centre"], out.per_seed["test_error_10crop"])])
    n = _n_test(p)
    out.add("paired_margin", [paired_margin(f / 100, b / 100, n) for f, b in
                              zip(out.per_seed["test_10crop_fixes"], out.per_seed["test_10crop_breaks"])])
    out.tables.append("\n".join([
        "| test prediction | test error (%) |", "|---|---|",
        f"| central patch | {out.fmt('test_error_centre')} |",
        f"| ten patches, softmax averaged | {out.fmt('test_error_10crop')} |",
        f"| images ten-crop fixes / breaks (%) | {out.fmt('test_10crop_fixes')} / {out.fmt('test_10crop_breaks')} |"]))
    centre, ten = (res.curve("eval", k) for k in ("test_error_centre", "test_error_10crop"))
    out.figures.append(line_panels(ctx.run_dir / "ten_crop.png", {"": {"central patch": centre, "ten patches": ten}},
                                   xlabel="iter.", ylabel="test error (%)",
                                   styles={"central patch": "o--", "ten patches": "o-"},
                                   title="Ten-patch vs central-patch testing on CIFAR-10 (Section 4.1)"))
    out.figures.append(bars(ctx.run_dir / "ten_crop_bars.png",
                            {"centre": out.values["test_error_centre"], "ten-crop": out.values["test_error_10crop"]},
                            {"centre": out.std["test_error_centre"], "ten-crop": out.std["test_error_10crop"]},
                            title="Test error of one trained net, two ways of testing"))
    out.notes.append(f"One net, trained with random {p.crop}x{p.crop} patches, flips and PCA colour noise, is tested "
                     "two ways on the same images: its central patch, and the softmax averaged over the four corner "
                     "patches, the central patch and their reflections (Section 4.1). The paper gives no number "
                     "for this gain. Noise is the paired (McNemar) standard error of the difference on the same "
                     "images.")
    out.notes += _notes(out, p, res.extras["train_size"][0])
    return out


def ten_crop_verdict(out: Outcome, preset: CifarPreset) -> Verdict:
    gains, margins = out.per_seed["gain"], out.per_seed["paired_margin"]
    text = (f"Central patch {out.fmt('test_error_centre')}%, ten patches {out.fmt('test_error_10crop')}% "
            f"(gain {out.fmt('gain')} points, paired noise ±{statistics.fmean(margins):.2f}).")
    if all(g > m for g, m in zip(gains, margins)):
        return Verdict("holds", f"Averaging over ten patches beats the central patch beyond noise. {text}")
    if any(g < -m for g, m in zip(gains, margins)):
        return Verdict("does not hold", f"Ten-patch testing is worse than the central patch beyond noise. {text}")
    return Verdict("inconclusive", f"The gain is within noise. {text}")


register_claim(Claim(
    id="alexnet.ten-crop",
    paper="alexnet",
    title="Averaging the softmax over ten patches beats testing the central patch",
    statement=("At test time the network makes a prediction by extracting five patches (the four corners and the "
               "centre) and their horizontal reflections and averaging its softmax predictions over the ten; this "
               "predicts better than a single central patch."),
    source="Section 4.1",
    presets={
        "quick": preset("quick", "ten-patch vs central-patch testing of one net",
                        data=replace(QUICK_DATA, train_subset=2000), train=replace(QUICK_RECIPE, eval_every=200),
                        lrn=False, augment="crop-flip-pca", train_eval=500),
        "full": preset("full", "ten-patch vs central-patch testing of one net", seeds=2, augment="crop-flip-pca"),
    },
    experiment=ten_crop_experiment,
    smoke=SMOKE,
    verdict=ten_crop_verdict,
    rule=("holds if ten-patch testing lowers the test error by more than two paired (McNemar) standard errors of the "
          "difference on the same test images in every seed; does not hold if it raises it by that much in any "
          "seed; inconclusive otherwise."),
))
