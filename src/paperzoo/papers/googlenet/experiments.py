"""GoogLeNet's claims (Sections 1 and 5), as runnable experiments.

The paper trained on ImageNet with DistBelief (asynchronous SGD, momentum 0.9, the learning
rate cut by 4% every 8 epochs, Polyak averaging); we have no ImageNet, so the accuracy parts of
the claims are measured on CIFAR-10 with the CIFAR variant of the network (``googlenet_cifar``:
Table 1's nine Inception modules after a 3x3 stem) and, for the comparison with AlexNet, the
AlexNet paper's own CIFAR-10 network (``cifar_convnet``, the cuda-convnet "layers-conv-local-11pct"
net, used by its registry name). Parameter counts are those of the registered ImageNet models,
built on the meta device.

``full`` presets train both networks with one recipe on one GPU: batch 128, SGD with momentum
0.9 and weight decay 2e-4 (the Caffe reference GoogLeNet's), learning rate 0.01 divided by 10
at 32k and 48k of 64k iterations, 4-pixel padding with random crops and flips, a 45k/5k
train/validation split. Neither network has batch normalisation, which is why the rate is 0.01
(the Caffe reference model's) rather than ResNet's 0.1. ``quick`` presets run the same
comparison for 150 iterations on a 2-core CPU with GoogLeNet at an eighth of its width (all nine
Inception modules) and a higher learning rate; they check the pipeline and show the first
iterations, not converged accuracy, and the claims' guards make their accuracy parts inconclusive.

Arms are trained by :func:`~paperzoo.claims.arms.run_arms` and their errors recorded image by
image (:func:`~paperzoo.claims.arms.record_errors`), so that comparisons on the same test images
are paired; each verdict is one expression of :mod:`paperzoo.claims.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import torch

from ...claims import Claim, Outcome, RunContext, Target
from ...claims import rules as R
from ...claims.arms import Arm, curves, data_notes, error_table, record_errors, run_arms
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.figures import bars, error_curves
from ...claims.presets import CIFAR_45K, Preset, cifar_64k
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

#: Both nets of a claim train with one recipe: ResNet's CIFAR schedule (64k iterations) at the Caffe
#: reference GoogLeNet's rate and weight decay (no batch normalisation), on the 45k/5k split.
CIFAR_RECIPE = cifar_64k(OptimizerConfig(name="sgd", lr=0.01, momentum=0.9, weight_decay=2e-4))
# 150 iterations for a 2-core CPU: batch 64, 1,000 validation and 1,000 test images, the rate 0.02
# reached by a linear warm-up over 30 iterations and divided by 10 for the last quarter. In so few
# iterations GoogLeNet (no batch normalisation; at initialisation its logits barely depend on the
# image) stays near chance: the quick presets check the pipeline, not the accuracy.
QUICK_STEPS = 150
QUICK_DATA = replace(CIFAR_45K, batch_size=64, eval_subset=1000, eval_batch_size=500)
QUICK_RECIPE = replace(CIFAR_RECIPE, steps=QUICK_STEPS, optimizer=replace(CIFAR_RECIPE.optimizer, lr=0.02),
                       schedule=ScheduleConfig(name="multistep", milestones=(QUICK_STEPS * 3 // 4,), warmup_steps=30,
                                               warmup_factor=0.0, warmup="linear"),
                       eval_every=QUICK_STEPS // 2, log_every=15, checkpoint_every=0, amp=False)
#: GoogLeNet's width in the quick presets: 1/8 of Table 1's channels (1/64 of the multiply-adds).
QUICK_WIDTH = 0.125

#: The accuracy parts of both claims are about trained networks: the whole 64k-iteration recipe.
PAPER_STEPS = CIFAR_RECIPE.steps
TRAINED_WHY = ("the claims compare trained networks; neither has batch normalisation and GoogLeNet barely "
               "leaves chance in a short run, so only the whole 64k-iteration recipe compares them")

#: Section 1: "our GoogLeNet submission ... uses 12x fewer parameters than the winning architecture of [AlexNet]".
PAPER_RATIO = 12.0
#: "about 12": our ratio counts as the paper's if within this much of 12 (20%: 9.6 to 14.4).
RATIO_TOLERANCE = 0.2 * PAPER_RATIO
#: AlexNet's "60 million parameters" (AlexNet, Abstract) and Table 1's params column summed (K = 1024).
PAPER_PARAMS = {"alexnet": 60e6, "googlenet": 6797.7 * 1024}
#: Section 5: the auxiliary classifiers' effect on accuracy, "relatively minor (around 0.5%)".
PAPER_AUX_EFFECT = 0.5
#: The equivalence margin δ (points of test error) within which the auxiliary classifiers' effect
#: counts as minor: three times the paper's 0.5, still small beside CIFAR-10 errors near 10%, and
#: wide enough to be resolved: at 7% error on 10,000 test images the 90% interval of the difference is
#: at most about ±0.6 points (nets erring independently; less as they err on the same images), so TOST
#: can establish |effect| < 1.5, while the paper's 0.5 itself is below what 10,000 test images resolve.
MINOR_EFFECT = 1.5


@dataclass(frozen=True, kw_only=True)
class InceptionPreset(Preset):
    """GoogLeNet on CIFAR-10: its width, the data, the recipe, seeds, and the net it is compared with."""

    width: float = 1.0                 # googlenet_cifar's channel scale; 1 is Table 1's
    data: DataConfig = CIFAR_45K
    train: TrainConfig = CIFAR_RECIPE
    paper_steps: int = PAPER_STEPS
    baseline: str = "cifar_convnet"    # inception.efficiency: AlexNet's CIFAR-10 net

    SMOKE: ClassVar[dict[str, str]] = {"width": "0.0625"}


def _full(what: str) -> InceptionPreset:
    return InceptionPreset(
        description=f"{what}: 64k iterations at batch 128, SGD lr 0.01 (momentum 0.9, wd 2e-4), on one GPU")


def _quick(what: str) -> InceptionPreset:
    return InceptionPreset(
        description=f"{what}: {QUICK_STEPS} iterations at batch 64, lr 0.02, on a CPU, GoogLeNet at 1/8 width",
        width=QUICK_WIDTH, data=QUICK_DATA, train=QUICK_RECIPE)


def _notes(preset: InceptionPreset, out: Outcome) -> list[str]:
    notes = data_notes(out)
    if preset.train.steps < PAPER_STEPS:
        notes.insert(0, f"This preset trains for {preset.train.steps} iterations at batch {preset.data.batch_size} "
                        f"({preset.train.steps * preset.data.batch_size / 45000:.1f} epochs) instead of 64k at batch "
                        f"128 (182 epochs), at learning rate {preset.train.optimizer.lr:g} with a linear warm-up, with "
                        f"GoogLeNet at {preset.width:g} of its width: it shows early training, and its errors are far "
                        "above converged ones. Run `--preset full` on a GPU for the comparison the claim is about.")
    return notes


def _trained(ctx: RunContext, arms: list[Arm]):
    p: InceptionPreset = ctx.preset
    results = run_arms(ctx, arms, data=p.data, train=p.train)
    out = Outcome()
    record_errors(out, results)
    return out, results


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
    out, results = _trained(ctx, arms)
    out.add_exact("param_ratio", param_ratio(params))   # a ratio of counts: no measurement noise
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
    names = {a.label: f"{a.label} (`{a.model}`, {cifar_params[a.label]:,} parameters)" for a in arms}
    out.tables.append(error_table(out, [a.label for a in arms], names=names))
    out.figures.append(bars(ctx.run_dir / "params_imagenet.png",
                            {"AlexNet": params["alexnet"] / 1e6, "GoogLeNet": params["googlenet"] / 1e6},
                            reference={k: v / 1e6 for k, v in (("AlexNet", PAPER_PARAMS["alexnet"]),
                                                               ("GoogLeNet", PAPER_PARAMS["googlenet"]))},
                            ylabel="parameters (millions)", title="ImageNet models: parameters"))
    out.figures.append(error_curves(ctx.run_dir / "cifar10_error.png", curves(results),
                                    title="GoogLeNet vs AlexNet's CIFAR-10 net"))
    out.notes += _notes(p, out)
    out.notes += [
        "Parameters are counted with biases, at inference (without the auxiliary classifiers), for 1000 classes. "
        f"Table 1's params column sums to 6,797.7K, which with K = 1024 is {PAPER_PARAMS['googlenet'] / 1e6:.2f} "
        f"million, so the paper's own table gives {60e6 / PAPER_PARAMS['googlenet']:.1f}x against AlexNet's 60 "
        "million, not 12x. The ratio is exact, so it decides its part of the claim on any preset; the accuracy part "
        "needs the whole recipe.",
        f"GoogLeNet (width {p.width:g}) is trained with its two auxiliary classifiers (loss weight 0.3), as in the "
        "paper, and evaluated without them; its CIFAR parameter count is that of the network at inference.",
        "The two CIFAR-10 networks are adaptations (GoogLeNet's 3x3 stem is not in the paper; the AlexNet paper's "
        "CIFAR net is its cuda-convnet four-layer net), trained with one recipe, the same data and seeds, and "
        f"compared image by image on the same {results['AlexNet'].eval_size:,} test images; their parameter ratio "
        "is not the ImageNet models'."]
    return out


ARMS = ["GoogLeNet", "AlexNet"]

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
    # the parameter ratio is exact and decides on any preset; only the accuracy part needs the trained nets
    verdict=R.all_of(
        R.within("param_ratio", PAPER_RATIO, tolerance=RATIO_TOLERANCE, unit="x",
                 words="AlexNet / GoogLeNet parameters (registered ImageNet models, exact)"),
        R.all_of(R.long_enough(PAPER_STEPS, why=TRAINED_WHY), R.learned(ARMS), R.lower("GoogLeNet", than="AlexNet"))),
    targets=(Target("param_ratio", PAPER_RATIO, "Section 1", RATIO_TOLERANCE, "AlexNet / GoogLeNet parameters",
                    unit="x"),),
))


# --- inception.auxiliary ------------------------------------------------------------------------

AUX_LABELS = {True: "with auxiliary classifiers", False: "without"}


def aux_arms(preset: InceptionPreset) -> list[Arm]:
    """The same network, data order and seeds with and without the two auxiliary classifiers (loss
    weight 0.3). The main network's initial weights differ between the arms (building the heads
    draws random numbers first), so within a seed the arms share the data, not the initialisation;
    the test images are the same, and the comparison is paired image by image."""
    return [Arm(AUX_LABELS[aux], "googlenet_cifar", {"width": preset.width, "aux_logits": aux},
                loss=googlenet_loss if aux else None) for aux in (True, False)]


def auxiliary_experiment(ctx: RunContext) -> Outcome:
    p: InceptionPreset = ctx.preset
    out, results = _trained(ctx, aux_arms(p))
    with_aux, without = (out.per_seed[f"test_error/{AUX_LABELS[a]}"] for a in (True, False))
    # the effect: how much lower the test error is with the auxiliary classifiers, per seed
    out.add("aux_effect", [b - a for a, b in zip(with_aux, without)])
    out.tables.append(error_table(out, list(results)))
    out.tables.append(f"Effect of the auxiliary classifiers (test error without minus with): "
                      f"**{out.fmt('aux_effect')} points** (paper: about {PAPER_AUX_EFFECT:g}; minor: within "
                      f"±{MINOR_EFFECT:g}).")
    out.figures.append(error_curves(ctx.run_dir / "aux_error.png", curves(results),
                                    title="GoogLeNet on CIFAR-10 with and without auxiliary classifiers"))
    out.notes += _notes(p, out)
    out.notes.append("The auxiliary classifiers sit on 4a and 4d (16x16 maps on CIFAR; their 5x5/3 pool gives 4x4, "
                     "as in the paper) and are scaled with the network's width; their losses are added with weight "
                     "0.3 and they are not used at test time. Training error is that of the main classifier.")
    out.notes.append(f"'Minor' is tested as equivalence: the effect counts as minor when the 90% interval of the "
                     f"difference lies inside ±{MINOR_EFFECT:g} points (three times the paper's +{PAPER_AUX_EFFECT:g}, "
                     "which is itself below what 10,000 test images resolve).")
    return out


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
    verdict=R.all_of(R.long_enough(PAPER_STEPS, why=TRAINED_WHY), R.learned(list(AUX_LABELS.values())),
                     R.equivalent(AUX_LABELS[True], AUX_LABELS[False], within=MINOR_EFFECT)),
    targets=(Target("aux_effect", PAPER_AUX_EFFECT, "Section 5", None,
                    "test error without minus with auxiliary classifiers", unit=" points"),),
))
