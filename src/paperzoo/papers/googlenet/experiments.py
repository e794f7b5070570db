"""GoogLeNet's claims (Sections 1 and 5), as runnable experiments.

The paper trained on ImageNet with DistBelief (asynchronous SGD, momentum 0.9, the learning
rate cut by 4% every 8 epochs, Polyak averaging); we have no ImageNet, so the accuracy parts of
the claims are measured on CIFAR-10 with the CIFAR variant of the network (``googlenet_cifar``:
Table 1's nine Inception modules after a 3x3 stem) and, for the comparison with AlexNet, the
AlexNet paper's own CIFAR-10 network (``cifar_convnet``, the cuda-convnet "layers-conv-local-11pct"
net). Parameter counts are those of the registered ImageNet models, built on the meta device.

``full`` presets train both networks with one recipe on one GPU: batch 128, SGD with momentum
0.9 and weight decay 2e-4 (the Caffe reference GoogLeNet's), learning rate 0.01 divided by 10
at 32k and 48k of 64k iterations, 4-pixel padding with random crops and flips, a 45k/5k
train/validation split. Neither network has batch normalisation, which is why the rate is 0.01
(the Caffe reference model's) rather than ResNet's 0.1. ``quick`` presets run the same
comparison for 150 iterations on a 2-core CPU with GoogLeNet at an eighth of its width (all nine
Inception modules) and a higher learning rate; they check the pipeline and show the first
iterations, not converged accuracy, and their verdicts say so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ...claims import Claim, Outcome, RunContext, Target, Verdict
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.classification import (
    Arm,
    ArmResult,
    difference_margin,
    error_table,
    lower_beyond_noise,
    record_errors,
    train_arms,
)
from ...claims.figures import bars, error_curves
from ...metrics.flops import count_macs, count_params
from ...optim import OptimizerConfig, ScheduleConfig
from ...registry import create_model, model_entry
from ...train.classification import DataConfig
from ...train.loop import TrainConfig
from .model import googlenet_loss

PAPER = register_paper(PaperCard(
    key="googlenet",
    title="Going Deeper with Convolutions",
    authors=("Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed, Dragomir Anguelov, "
             "Dumitru Erhan, Vincent Vanhoucke, Andrew Rabinovich"),
    year=2014,
    arxiv="1409.4842",
    venue="CVPR 2015",
    problem=("Making a network deeper and wider is the surest way to improve it, but a uniformly bigger network "
             "has many more parameters, overfits, and its computation grows quadratically with its width, "
             "much of it wasted on weights that end up near zero."),
    idea=("Approximate a sparse structure with dense building blocks: the Inception module runs 1x1, 3x3 and "
          "5x5 convolutions and a 3x3 max-pool side by side and concatenates them, with 1x1 convolutions "
          "reducing the channels before the expensive filters. Nine modules make a 22-layer network with "
          "about 7 million parameters (12 times fewer than AlexNet) that won ILSVRC 2014; auxiliary "
          "classifiers on intermediate layers add gradient signal and regularisation during training."),
))

CIFAR_DATA = DataConfig(dataset="cifar10", batch_size=128, augment=True, val_size=5000, eval_batch_size=1000)
CIFAR_RECIPE = TrainConfig(
    steps=64000,
    optimizer=OptimizerConfig(name="sgd", lr=0.01, momentum=0.9, weight_decay=2e-4),
    schedule=ScheduleConfig(name="multistep", milestones=(32000, 48000), gamma=0.1),
    eval_every=2000, log_every=200, checkpoint_every=8000, keep_checkpoints=1, best_metric="val_error",
    amp=True, channels_last=True, progress=True)
# 150 iterations for a 2-core CPU: batch 64, 1,000 validation and 1,000 test images, the rate 0.02
# reached by a linear warm-up over 30 iterations and divided by 10 for the last quarter. In so few
# iterations GoogLeNet (no batch normalisation; at initialisation its logits barely depend on the
# image) stays near chance: the quick presets check the pipeline, not the accuracy.
QUICK_STEPS = 150
QUICK_DATA = replace(CIFAR_DATA, batch_size=64, eval_subset=1000, eval_batch_size=500)
QUICK_RECIPE = replace(CIFAR_RECIPE, steps=QUICK_STEPS, optimizer=replace(CIFAR_RECIPE.optimizer, lr=0.02),
                       schedule=ScheduleConfig(name="multistep", milestones=(QUICK_STEPS * 3 // 4,), warmup_steps=30,
                                               warmup_factor=0.0, warmup="linear"),
                       eval_every=QUICK_STEPS // 2, log_every=15, checkpoint_every=0, amp=False)
#: GoogLeNet's width in the quick presets: 1/8 of Table 1's channels (1/64 of the multiply-adds).
QUICK_WIDTH = 0.125

#: Shrinks any preset here to a few seconds: the test suite's smoke run of every claim.
SMOKE = {"train.steps": "4", "train.eval_every": "2", "train.log_every": "1", "data.batch_size": "16",
         "data.train_subset": "256", "data.eval_subset": "64", "width": "0.0625"}

#: Section 1: "our GoogLeNet submission ... uses 12x fewer parameters than the winning architecture of [AlexNet]".
PAPER_RATIO = 12.0
#: "about 12": our ratio counts as the paper's if within this much of 12 (20%: 9.6 to 14.4).
RATIO_TOLERANCE = 0.2 * PAPER_RATIO
#: AlexNet's "60 million parameters" (AlexNet, Abstract) and Table 1's params column summed (K = 1024).
PAPER_PARAMS = {"alexnet": 60e6, "googlenet": 6797.7 * 1024}
#: Section 5: the auxiliary classifiers' effect on accuracy, "relatively minor (around 0.5%)".
PAPER_AUX_EFFECT = 0.5
#: Points of test error below which the auxiliary classifiers' effect counts as minor.
MINOR_EFFECT = 1.5


@dataclass(frozen=True)
class InceptionPreset:
    """GoogLeNet on CIFAR-10: its width, the data, the recipe, seeds, and the net it is compared with."""

    description: str
    width: float = 1.0                 # googlenet_cifar's channel scale; 1 is Table 1's
    data: DataConfig = CIFAR_DATA
    train: TrainConfig = CIFAR_RECIPE
    seeds: int = 1
    baseline: str = "cifar_convnet"    # inception.efficiency: AlexNet's CIFAR-10 net


def _full(what: str, **kw) -> InceptionPreset:
    return InceptionPreset(f"{what}: 64k iterations at batch 128, SGD lr 0.01 (momentum 0.9, wd 2e-4), on one GPU",
                           **kw)


def _quick(what: str, **kw) -> InceptionPreset:
    return InceptionPreset(f"{what}: {QUICK_STEPS} iterations at batch 64, lr 0.02, on a CPU, GoogLeNet at 1/8 width",
                           width=QUICK_WIDTH, data=QUICK_DATA, train=QUICK_RECIPE, **kw)


def _is_short(preset: InceptionPreset) -> bool:
    return preset.train.steps < CIFAR_RECIPE.steps


def _short_note(preset: InceptionPreset) -> list[str]:
    if not _is_short(preset):
        return []
    return [f"This preset trains for {preset.train.steps} iterations at batch {preset.data.batch_size} "
            f"({preset.train.steps * preset.data.batch_size / 45000:.1f} epochs) instead of 64k at batch 128 "
            f"(182 epochs), at learning rate {preset.train.optimizer.lr:g} with a linear warm-up, with GoogLeNet at "
            f"{preset.width:g} of its width: it shows early training, and its errors are far above converged ones. "
            "Run `--preset full` on a GPU for the comparison the claim is about."]


def _jpeg_note(outcome: Outcome) -> list[str]:
    if "JPEG" in outcome.data:
        return ["Our CIFAR-10 is a JPEG (quality 75) copy: absolute errors sit above those on the original images."]
    return []


def _curves(results: dict[str, ArmResult]) -> dict[str, dict[str, tuple[list[int], list[float]]]]:
    return {k: {"train": r.curve("train", "error"), "test": r.curve("eval", "test_error")} for k, r in results.items()}


# --- inception.efficiency -----------------------------------------------------------------------

def imagenet_params() -> dict[str, int]:
    """Parameters of the registered ImageNet models (built on the meta device: no memory, no arithmetic)."""
    with torch.device("meta"):
        return {"alexnet": count_params(create_model("alexnet")),
                "googlenet": count_params(create_model("googlenet")),
                "googlenet+aux": count_params(create_model("googlenet", aux_logits=True))}


def imagenet_macs() -> dict[str, int]:
    """Multiply-adds of one 224x224 forward pass (Section 5: GoogLeNet was designed for 1.5 billion)."""
    with torch.device("meta"):
        return {name: count_macs(create_model(name), model_entry(name).input_size) for name in ("alexnet", "googlenet")}


def param_ratio(params: dict[str, int]) -> float:
    """How many times fewer parameters GoogLeNet has than AlexNet (both at inference, 1000 classes)."""
    return params["alexnet"] / params["googlenet"]


def ratio_matches(ratio: float, paper: float = PAPER_RATIO, tolerance: float = RATIO_TOLERANCE) -> bool:
    """Whether ``ratio`` is "about" ``paper``: within ``tolerance`` of it."""
    return abs(ratio - paper) <= tolerance


def efficiency_arms(preset: InceptionPreset) -> list[Arm]:
    """GoogLeNet, trained as the paper trained it (with its auxiliary classifiers, dropped at
    inference), and AlexNet's CIFAR net, with one recipe."""
    return [Arm("GoogLeNet", "googlenet_cifar", {"width": preset.width, "aux_logits": True}, loss=googlenet_loss),
            Arm("AlexNet", preset.baseline)]


def efficiency_experiment(ctx: RunContext) -> Outcome:
    p: InceptionPreset = ctx.preset
    params, macs = imagenet_params(), imagenet_macs()
    arms = efficiency_arms(p)
    results = train_arms(ctx, arms, p.data, p.train)
    out = Outcome()
    record_errors(out, results)
    out.values["param_ratio"] = param_ratio(params)
    for name, n in params.items():
        out.values[f"params/{name}"] = n
    cifar_params = {a.label: count_params(create_model(a.model, **(dict(a.kwargs) | {"aux_logits": False})
                                                       if a.loss else a.kwargs)) for a in arms}
    for label, n in cifar_params.items():
        out.values[f"cifar_params/{label}"] = n
    out.values["cifar_param_ratio"] = cifar_params["AlexNet"] / cifar_params["GoogLeNet"]
    out.tables.append("\n".join([
        "| ImageNet model | parameters | multiply-adds (224x224) | paper |", "|---|---|---|---|",
        f"| AlexNet (`alexnet`) | {params['alexnet']:,} | {macs['alexnet'] / 1e9:.2f} G | 60 million |",
        f"| GoogLeNet (`googlenet`) | {params['googlenet']:,} | {macs['googlenet'] / 1e9:.2f} G | "
        f"Table 1: {PAPER_PARAMS['googlenet'] / 1e6:.2f} million; 1.5 G multiply-adds |",
        f"| GoogLeNet with its auxiliary classifiers (training only) | {params['googlenet+aux']:,} | — | — |",
        f"| **AlexNet / GoogLeNet** | **{out.values['param_ratio']:.2f}x** | "
        f"{macs['alexnet'] / macs['googlenet']:.2f}x | 12x parameters (Section 1) |"]))
    rows = ["| CIFAR-10 model | parameters | train error (%) | test error, last iter. (%) | "
            "test error, best val. ckpt (%) |", "|---|---|---|---|---|"]
    rows += [f"| {a.label} (`{a.model}`{', width ' + format(p.width, 'g') if a.kwargs else ''}) | "
             f"{cifar_params[a.label]:,} | {out.fmt(f'train_error/{a.label}')} | {out.fmt(f'test_error/{a.label}')} | "
             f"{out.fmt(f'test_error_at_best_val/{a.label}')} |" for a in arms]
    out.tables.append("\n".join(rows))
    out.figures.append(bars(ctx.run_dir / "params_imagenet.png",
                            {"AlexNet": params["alexnet"] / 1e6, "GoogLeNet": params["googlenet"] / 1e6},
                            reference={k: v / 1e6 for k, v in (("AlexNet", PAPER_PARAMS["alexnet"]),
                                                               ("GoogLeNet", PAPER_PARAMS["googlenet"]))},
                            ylabel="parameters (millions)", title="ImageNet models: parameters"))
    out.figures.append(error_curves(ctx.run_dir / "cifar10_error.png", _curves(results),
                                    title="GoogLeNet vs AlexNet's CIFAR-10 net"))
    out.notes += _short_note(p) + _jpeg_note(out)
    out.notes += [
        "Parameters are counted with biases, at inference (without the auxiliary classifiers), for 1000 classes. "
        f"Table 1's params column sums to 6,797.7K, which with K = 1024 is {PAPER_PARAMS['googlenet'] / 1e6:.2f} "
        f"million, so the paper's own table gives {60e6 / PAPER_PARAMS['googlenet']:.1f}x against AlexNet's 60 "
        "million, not 12x.",
        "GoogLeNet is trained with its two auxiliary classifiers (loss weight 0.3), as in the paper, and "
        "evaluated without them; its CIFAR parameter count is that of the network at inference.",
        "The two CIFAR-10 networks are adaptations (GoogLeNet's 3x3 stem is not in the paper; the AlexNet paper's "
        "CIFAR net is its cuda-convnet four-layer net), trained with one recipe, the same data and seeds; their "
        "parameter ratio is not the ImageNet models'."]
    return out


def efficiency_verdict(out: Outcome, preset: InceptionPreset) -> Verdict:
    ratio = out.values["param_ratio"]
    n = preset.data.eval_subset or 10000
    more_accurate = lower_beyond_noise(out, "test_error", n, model="GoogLeNet", than="AlexNet")
    summary = (f"AlexNet has {ratio:.2f}x GoogLeNet's parameters ({out.values['params/alexnet'] / 1e6:.1f}M vs "
               f"{out.values['params/googlenet'] / 1e6:.2f}M; paper: 12x). On CIFAR-10, GoogLeNet "
               f"{out.fmt('test_error/GoogLeNet')}% vs AlexNet's net {out.fmt('test_error/AlexNet')}% test error.")
    if not ratio_matches(ratio):
        return Verdict("does not hold", f"The parameter ratio is not about 12 (outside 12 ± "
                       f"{RATIO_TOLERANCE:g}). {summary}")
    if more_accurate == "no":
        return Verdict("does not hold", f"GoogLeNet is significantly less accurate. {summary}")
    if _is_short(preset):
        return Verdict("inconclusive", f"The parameter ratio matches, but this preset trains for "
                       f"{preset.train.steps} of 64k iterations: accuracy is not compared. {summary}")
    if more_accurate == "yes":
        return Verdict("holds", f"Fewer parameters and more accurate. {summary}")
    return Verdict("inconclusive", f"The accuracy difference is within measurement noise. {summary}")


register_claim(Claim(
    id="inception.efficiency",
    paper="googlenet",
    title="12 times fewer parameters than AlexNet, and more accurate",
    statement=("GoogLeNet uses 12 times fewer parameters than the winning architecture of Krizhevsky et al. "
               "(AlexNet) while being significantly more accurate."),
    source="Section 1; Table 1; Section 5",
    presets={"quick": _quick("GoogLeNet and AlexNet's CIFAR net"),
             "full": _full("GoogLeNet and AlexNet's CIFAR net")},
    experiment=efficiency_experiment,
    smoke=SMOKE,
    verdict=efficiency_verdict,
    targets=(Target("param_ratio", PAPER_RATIO, "Section 1", RATIO_TOLERANCE, "AlexNet / GoogLeNet parameters",
                    unit="x"),),
    rule=("does not hold if AlexNet's parameter count over GoogLeNet's (the registered ImageNet models, exact) is "
          f"outside 12 ± {RATIO_TOLERANCE:g} (20%), or if GoogLeNet's CIFAR-10 test error is above AlexNet's "
          "CIFAR net's by more than two standard errors (binomial on the test images, or over seeds if larger); "
          "holds if the ratio matches and GoogLeNet's error is lower by that margin under the 64k-iteration recipe; "
          "inconclusive otherwise, and for shorter presets when the ratio matches."),
))


# --- inception.auxiliary ------------------------------------------------------------------------

AUX_LABELS = {True: "with auxiliary classifiers", False: "without"}


def aux_arms(preset: InceptionPreset) -> list[Arm]:
    """The same network, data order and seeds with and without the two auxiliary classifiers (loss
    weight 0.3). The main network's initial weights differ between the arms (building the heads
    draws random numbers first), so the comparison is not paired within a seed."""
    return [Arm(AUX_LABELS[aux], "googlenet_cifar", {"width": preset.width, "aux_logits": aux},
                loss=googlenet_loss if aux else None) for aux in (True, False)]


def auxiliary_experiment(ctx: RunContext) -> Outcome:
    p: InceptionPreset = ctx.preset
    results = train_arms(ctx, aux_arms(p), p.data, p.train)
    out = Outcome()
    record_errors(out, results)
    with_aux, without = (results[AUX_LABELS[a]] for a in (True, False))
    # the effect: how much lower the test error is with the auxiliary classifiers, per seed
    out.add("aux_effect", [b - a for a, b in zip(with_aux.last("test_error"), without.last("test_error"))])
    out.tables.append(error_table(out, list(results)))
    out.tables.append(f"Effect of the auxiliary classifiers (test error without minus with): "
                      f"**{out.fmt('aux_effect')} points** (paper: about {PAPER_AUX_EFFECT:g}).")
    out.figures.append(error_curves(ctx.run_dir / "aux_error.png", _curves(results),
                                    title="GoogLeNet on CIFAR-10 with and without auxiliary classifiers"))
    out.notes += _short_note(p) + _jpeg_note(out)
    out.notes.append("The auxiliary classifiers sit on 4a and 4d (16x16 maps on CIFAR; their 5x5/3 pool gives 4x4, "
                     "as in the paper) and are scaled with the network's width; their losses are added with weight "
                     "0.3 and they are not used at test time. Training error is that of the main classifier.")
    return out


def auxiliary_verdict(out: Outcome, preset: InceptionPreset) -> Verdict:
    n = preset.data.eval_subset or 10000
    a, b = AUX_LABELS[True], AUX_LABELS[False]
    effect, margin = out.values["aux_effect"], difference_margin(out, "test_error", n, model=a, than=b)
    summary = (f"Test error {out.fmt(f'test_error/{a}')}% with, {out.fmt(f'test_error/{b}')}% without: effect "
               f"{effect:+.2f} ± {margin:.2f} points (two standard errors; paper: about +{PAPER_AUX_EFFECT:g}).")
    if _is_short(preset):
        return Verdict("inconclusive", f"This preset trains for {preset.train.steps} of 64k iterations; the claim is "
                       f"about final accuracy. {summary}")
    if effect < -margin:
        return Verdict("does not hold", f"The auxiliary classifiers significantly hurt. {summary}")
    if effect - margin > MINOR_EFFECT:
        return Verdict("does not hold", f"The effect is larger than minor ({MINOR_EFFECT:g} points). {summary}")
    if effect + margin <= MINOR_EFFECT:
        return Verdict("holds", f"The effect is minor: at most {MINOR_EFFECT:g} points and not significantly "
                       f"negative. {summary}")
    return Verdict("inconclusive", f"The noise does not bound the effect below {MINOR_EFFECT:g} points. {summary}")


register_claim(Claim(
    id="inception.auxiliary",
    paper="googlenet",
    title="The auxiliary classifiers have a minor effect on accuracy",
    statement=("Auxiliary classifiers on Inception 4a and 4d, their losses added with weight 0.3 during training and "
               "discarded at inference, were meant to fight vanishing gradients and regularise; control experiments "
               "showed their effect to be relatively minor (around 0.5%)."),
    source="Section 5",
    presets={"quick": _quick("GoogLeNet with and without auxiliary classifiers"),
             "full": _full("GoogLeNet with and without auxiliary classifiers")},
    experiment=auxiliary_experiment,
    smoke=SMOKE,
    verdict=auxiliary_verdict,
    targets=(Target("aux_effect", PAPER_AUX_EFFECT, "Section 5", None,
                    "test error without minus with auxiliary classifiers", unit=" points"),),
    rule=("With e = test error without minus with the auxiliary classifiers and m = two standard errors of that "
          "difference (binomial on the test images, or over seeds if larger), under the 64k-iteration recipe: holds "
          f"if e >= -m and e + m <= {MINOR_EFFECT:g} points (a minor, not harmful effect; the paper's 0.5 itself is "
          f"below what 10k test images resolve); does not hold if e < -m or e - m > {MINOR_EFFECT:g}; inconclusive "
          "otherwise. Shorter presets are inconclusive (they measure early training)."),
))
