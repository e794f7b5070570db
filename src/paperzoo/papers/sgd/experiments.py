"""Weight decay against L2 regularisation, measured along whole training trajectories on MNIST.

Loshchilov & Hutter's Proposition 1: for plain SGD, decaying the weights by λ per step,
θ_{t+1} = (1 − λ)θ_t − α∇f_t(θ_t) (their Eq. 1), executes the same steps as SGD on
f_t(θ) + λ'/2·‖θ‖² with λ' = λ/α. Proposition 2: for an optimizer whose step is α·M_t∇f_t with
M_t ≠ kI (Adam), no λ' makes the two the same. paperzoo (as ``torch.optim``) writes the decay
rate per step as α·λ, so here the decoupled decay is θ ← (1 − αλ)θ and the matching L2
coefficient is λ itself.

Every run starts from the same weights and sees the same mini-batches, in float64, and all
runs advance in lockstep so their parameters can be compared at every logged step; the distance
of two runs is ‖θ_a − θ_b‖ / ‖θ_b‖ over all parameters. Runs:

* ``l2``: the optimizer without decay on f + λ/2·‖θ‖² (the penalty in the loss, differentiated
  by autograd);
* ``option``: the optimizer's own ``weight_decay=λ`` (paperzoo's SGD and Adam, like
  ``torch.optim``'s, add λθ to the gradient: L2 folded into the optimizer);
* ``decoupled``: decay the weights by αλ before each step of the optimizer on f (Eq. 1 for SGD;
  for Adam this is AdamW, Loshchilov & Hutter's Algorithm 2, run as paperzoo's ``AdamW``);
* ``none``: no regularisation, for the size of the effect.

The model is a small MNIST MLP (784-100-10, ReLU) instead of the paper's CIFAR-10 ResNets: the
propositions are statements about the update rule, and a model that trains in seconds in
float64 measures them exactly. The paper's other point, that AdamW's best λ is less coupled to
the learning rate (Fig. 2), is not reproduced here.

The verdict reads exact quantities. A seed's distance is a deterministic float64 computation (the
same run gives the same number), not a sample of anything, and the propositions hold for every
initialisation and batch order: so the rule takes, for runs that must agree, the largest distance
over the seeds, and for runs that must differ the smallest, each as one number without noise,
which :func:`~paperzoo.claims.rules.at_most` / :func:`~paperzoo.claims.rules.at_least` compare with
the bound exactly. They are compared as log10, since they span fifteen orders of magnitude.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar

import torch
import torch.nn.functional as F

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.figures import lines
from ...claims.presets import Preset
from ...data import DeviceLoader, channel_stats, load_dataset
from ...data.root import data_root
from ...nn import MLP
from ...optim import OptimizerConfig, build_optimizer

PAPER = register_paper(PaperCard(
    key="sgd",
    title="Decoupled Weight Decay Regularization",
    authors="Ilya Loshchilov, Frank Hutter",
    year=2017,
    arxiv="1711.05101",
    venue="ICLR 2019",
    problem=("Libraries implement 'weight decay' as an L2 penalty whose gradient λθ is added to the loss "
             "gradient. For plain SGD that is the same thing as decaying the weights (Proposition 1), but an "
             "adaptive method such as Adam divides the penalty's gradient by √v̂ along with the loss's, so "
             "weights with large past gradients are barely regularised: Adam with L2 is not Adam with weight "
             "decay (Proposition 2), and it generalises worse than SGD with momentum."),
    idea=("Decouple the decay from the gradient-based update: θ_t = θ_{t−1} − η_t(α·m̂_t/(√v̂_t + ε) + λθ_{t−1}) "
          "(AdamW, Algorithm 2; SGDW, Algorithm 1, for SGD with momentum). The decay then shrinks every weight at "
          "the same rate whatever its gradient history, and the best λ depends much less on the learning rate."),
    notes=("The `sgd` paper key also stands for stochastic gradient descent itself: Robbins & Monro (1951), "
           "θ ← θ − η∇f on one random mini-batch at a time, with Polyak's (1964) heavy-ball momentum or "
           "Nesterov's (1983) look-ahead (Sutskever et al. 2013), as paperzoo.optim.SGD implements them.",),
))

#: Relative distance below which two float64 trajectories count as the same: far above the
#: accumulated rounding of a few thousand steps (about 1e-14 here), far below any real difference.
SAME = 1e-10
#: Relative distance above which two trajectories count as clearly different: 0.1% of the weights.
DIFFERENT = 1e-3
#: The two as the rule compares them (log10 of the distance).
SAME_LOG10, DIFFERENT_LOG10 = round(math.log10(SAME)), round(math.log10(DIFFERENT))


@dataclass(frozen=True)
class Trajectory:
    """What every run trains: an MLP on MNIST in float64, from one initialisation, on one
    sequence of mini-batches (drawn from ``train_subset`` training images by the seed)."""

    steps: int = 500
    batch_size: int = 128
    hidden: int = 100
    train_subset: int = 10000
    weight_decay: float = 5e-4  # λ: decay αλ per step, or L2 penalty λ/2·‖θ‖²
    #: Adam on f + (k·λ)/2·‖θ‖² for each k: is there an L2 coefficient that gives AdamW's steps?
    l2_factors: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
    sgd_lr: float = 0.1
    adam_lr: float = 1e-3
    momentum: float = 0.9       # the SGD-with-momentum runs
    log_every: int = 10


@dataclass(frozen=True, kw_only=True)
class DecayPreset(Preset):
    """The lockstep runs' settings (``train``: a :class:`Trajectory`, not a loop recipe) and seeds;
    no ``data`` (the trajectory names its MNIST subset) and no training length to guard (a claim
    about the update rule, exact at any length)."""

    train: Trajectory = field(default_factory=Trajectory)

    SMOKE: ClassVar[dict[str, str]] = {"train.steps": "4", "train.log_every": "1", "train.batch_size": "16",
                                       "train.train_subset": "256", "train.hidden": "16"}


@dataclass(frozen=True)
class Run:
    """One optimizer on one objective: f + l2/2·‖θ‖², with the weights decayed by lr·decay
    before each step when ``decay`` is set."""

    optimizer: OptimizerConfig
    l2: float = 0.0
    decay: float = 0.0


#: The pairs whose distance is measured: (label, run a, run b).
PAIRS = (
    ("SGD: decoupled decay vs L2 (Prop. 1)", "sgd/decoupled", "sgd/l2"),
    ("SGD: weight_decay option vs L2", "sgd/option", "sgd/l2"),
    ("SGD + momentum: weight_decay option vs L2", "sgdm/option", "sgdm/l2"),
    ("SGD + momentum: decoupled decay (SGDW) vs L2", "sgdm/decoupled", "sgdm/l2"),
    ("Adam: weight_decay option vs L2", "adam/option", "adam/l2"),
    ("AdamW vs Adam + L2 (Prop. 2)", "adam/decoupled", "adam/l2"),
    ("SGD: decoupled decay vs none", "sgd/decoupled", "sgd/none"),
    ("AdamW vs Adam without decay", "adam/decoupled", "adam/none"),
)


def _log10(distance: float) -> float:
    return math.log10(distance) if distance > 0 else -math.inf


#: The runs that must agree: Proposition 1, and the weight_decay options against L2 in the loss
#: (the float64 floor of two ways of writing one update).
AGREE = ("SGD: decoupled decay vs L2 (Prop. 1)", "SGD: weight_decay option vs L2", "Adam: weight_decay option vs L2")
BEST = "AdamW vs Adam + L2, best λ'"
#: log10 of the smallest distance, over seeds and coefficients λ', of AdamW to Adam + L2.
CLOSEST = "log10_distance/AdamW vs Adam + L2, closest λ' and seed"


def exact_quantities(out: Outcome) -> None:
    """What the verdict reads, from each seed's ``max_distance``: log10 of the worst seed's, as exact
    numbers (no noise: a seed's distance is a deterministic computation)."""
    for label in AGREE:
        out.add_exact(f"log10_distance/{label}", _log10(max(out.per_seed[f"max_distance/{label}"])))
    out.add_exact(CLOSEST, _log10(min(out.per_seed[f"max_distance/{BEST}"])))


def agree(label: str) -> R.Rule:
    return R.at_most(f"log10_distance/{label}", SAME_LOG10, fails_above=DIFFERENT_LOG10,
                     words=f"log10 distance, {label}, worst seed (exact)")


def runs(c: Trajectory) -> dict[str, Run]:
    lam = c.weight_decay
    sgd = OptimizerConfig(name="sgd", lr=c.sgd_lr, momentum=0.0, weight_decay=0.0, impl="paperzoo")
    sgdm = replace(sgd, momentum=c.momentum)
    adam = OptimizerConfig(name="adam", lr=c.adam_lr, weight_decay=0.0, impl="paperzoo")
    out = {}
    for name, opt in (("sgd", sgd), ("sgdm", sgdm), ("adam", adam)):
        out[f"{name}/l2"] = Run(opt, l2=lam)
        out[f"{name}/option"] = Run(replace(opt, weight_decay=lam))
    out["sgd/none"], out["adam/none"] = Run(sgd), Run(adam)
    out["sgd/decoupled"] = Run(sgd, decay=lam)
    out["sgdm/decoupled"] = Run(sgdm, decay=lam)
    out["adam/decoupled"] = Run(replace(adam, name="adamw", weight_decay=lam))
    out.update({_l2_name(k): Run(adam, l2=k * lam) for k in c.l2_factors if k != 1.0})
    return out


def _l2_name(factor: float) -> str:
    return "adam/l2" if factor == 1.0 else f"adam/l2x{factor:g}"


def _factor_label(factor: float) -> str:
    return f"AdamW vs Adam + L2 λ'={factor:g}λ"


@torch.no_grad()
def decay_weights_(params: Iterable[torch.Tensor], rate: float) -> None:
    """The decay half of Eq. 1, θ ← (1 − λ)θ with λ = ``rate``. Called after the gradient was
    taken at θ_t and before the optimizer's step, it makes the step θ_{t+1} = (1 − λ)θ_t − αM_t∇f_t(θ_t)."""
    for p in params:
        p.mul_(1.0 - rate)


def l2_penalty(params: Iterable[torch.Tensor], coefficient: float) -> torch.Tensor:
    """λ'/2·‖θ‖², over all parameters."""
    return coefficient / 2 * sum(p.square().sum() for p in params)


def train_step(net: torch.nn.Module, opt: torch.optim.Optimizer, run: Run, x: torch.Tensor, y: torch.Tensor) -> None:
    loss = F.cross_entropy(net(x), y)
    if run.l2:
        # f_reg(θ) = f(θ) + λ'/2·‖θ‖²
        loss = loss + l2_penalty(net.parameters(), run.l2)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if run.decay:
        decay_weights_(net.parameters(), run.optimizer.lr * run.decay)
    opt.step()


def flat(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def relative_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """‖a − b‖ / ‖b‖."""
    return float((a - b).norm() / b.norm())


def trajectories(c: Trajectory, seed: int, root: str | None) -> tuple[list[int], dict[str, list[float]], str]:
    """Train every run in lockstep on the same mini-batches from the same initialisation; the
    distance of each pair in :data:`PAIRS` and of AdamW to each Adam + L2 run, at every logged step."""
    data = load_dataset("mnist", "train", root=str(data_root(root)))
    train = data.sample(c.train_subset, seed=seed) if c.train_subset else data
    mean, std = channel_stats(train.images)
    loader = DeviceLoader(train, batch_size=c.batch_size, seed=seed, mean=mean, std=std, dtype=torch.float64)
    torch.manual_seed(seed)
    init = MLP(in_features=784, hidden=(c.hidden,), out_features=10).double()
    spec = runs(c)
    nets = {name: copy.deepcopy(init) for name in spec}
    opts = {name: build_optimizer(r.optimizer, nets[name].parameters()) for name, r in spec.items()}
    pairs = [(label, a, b) for label, a, b in PAIRS] + [
        (_factor_label(k), "adam/decoupled", _l2_name(k)) for k in c.l2_factors]
    steps, dist = [], {label: [] for label, _, _ in pairs}
    batches = loader.forever()
    for step in range(1, c.steps + 1):
        x, y = next(batches)
        for name, r in spec.items():
            train_step(nets[name], opts[name], r, x, y)
        if step % c.log_every == 0 or step == c.steps:
            params = {name: flat(net) for name, net in nets.items()}
            steps.append(step)
            for label, a, b in pairs:
                dist[label].append(relative_distance(params[a], params[b]))
    return steps, dist, train.source


def decay_experiment(ctx: RunContext) -> Outcome:
    p: DecayPreset = ctx.preset
    c = p.train
    out = Outcome()
    per_seed = [trajectories(c, seed, ctx.data_root) for seed in ctx.seeds]
    labels = list(per_seed[0][1])
    for label in labels:
        out.add(f"max_distance/{label}", [max(d[label]) for _, d, _ in per_seed])
    best = [min(max(d[_factor_label(k)]) for k in c.l2_factors) for _, d, _ in per_seed]
    out.add(f"max_distance/{BEST}", best)
    exact_quantities(out)
    out.data = per_seed[0][2]
    out.tables.append(_table(out, [label for label, _, _ in PAIRS] + [BEST]))
    out.tables.append(_factor_table(out, c))
    steps, dist, _ = per_seed[0]
    shown = [label for label, _, _ in PAIRS[:6]]
    out.figures.append(lines(ctx.run_dir / "trajectory_distance.png", {k: (steps, dist[k]) for k in shown},
                             xlabel="iteration", ylabel="‖θ_a − θ_b‖ / ‖θ_b‖", logy=True,
                             title="Distance between trajectories (float64, MNIST MLP)"))
    ks = list(c.l2_factors)
    sgd = out.values["max_distance/SGD: decoupled decay vs L2 (Prop. 1)"]
    out.figures.append(lines(
        ctx.run_dir / "adamw_vs_l2_coefficient.png",
        {"AdamW vs Adam + L2": (ks, [out.values[f"max_distance/{_factor_label(k)}"] for k in ks]),
         "SGD: decoupled decay vs L2 (λ'=λ)": ([1.0], [sgd]),
         "AdamW vs Adam without decay": (ks, [out.values["max_distance/AdamW vs Adam without decay"]] * len(ks))},
        xlabel="L2 coefficient λ' / λ", ylabel="max over steps of ‖θ_a − θ_b‖ / ‖θ_b‖", logx=True, logy=True,
        styles={"SGD: decoupled decay vs L2 (λ'=λ)": "o", "AdamW vs Adam without decay": "--"},
        title="No L2 coefficient gives AdamW's trajectory (Prop. 2)"))
    out.notes += _notes(c, ctx)
    return out


def _table(out: Outcome, labels: list[str]) -> str:
    rows = ["| runs compared | max over the trajectory of ‖θ_a − θ_b‖ / ‖θ_b‖ |", "|---|---|"]
    rows += [f"| {label} | {_sci(out.per_seed[f'max_distance/{label}'])} |" for label in labels]
    return "\n".join(rows)


def _factor_table(out: Outcome, c: Trajectory) -> str:
    rows = [f"| Adam + L2 coefficient λ' | max distance to AdamW (λ = {c.weight_decay:g}) |", "|---|---|"]
    rows += [f"| {k:g}·λ | {_sci(out.per_seed[f'max_distance/{_factor_label(k)}'])} |" for k in c.l2_factors]
    return "\n".join(rows)


def _sci(values: list[float]) -> str:
    return ", ".join(f"{v:.2e}" for v in values)


def _notes(c: Trajectory, ctx: RunContext) -> list[str]:
    return [
        f"MLP 784-{c.hidden}-10 (ReLU, PyTorch's default initialisation) on {c.train_subset or 60000} MNIST "
        f"training images, batch {c.batch_size}, {c.steps} steps, float64; every run from the same initial "
        f"weights on the same mini-batches (seed {', '.join(map(str, ctx.seeds))}). SGD at α = {c.sgd_lr:g} "
        f"(momentum 0, and {c.momentum:g} for the SGD + momentum runs), Adam at α = {c.adam_lr:g} with the paper's "
        f"β₁, β₂, ε; λ = {c.weight_decay:g}, on every parameter (biases included).",
        "All optimizers are paperzoo's, written from their papers' equations (`impl=\"paperzoo\"`); AdamW decays by "
        "α·λ·θ_{t−1} as `torch.optim.AdamW` does, which is Algorithm 2 with the paper's λ equal to α·λ here.",
        "SGD + momentum is reported, not judged: the weight_decay option puts λθ into the momentum buffer and equals "
        "L2 in the loss, while decoupled decay (SGDW, Algorithm 1) keeps it out of the buffer and takes other steps.",
        f"Distances are taken every {c.log_every} steps; one table cell per seed. 'The same' means at most {SAME:g}, "
        f"'clearly different' at least {DIFFERENT:g}; the verdict compares the worst seed's distance (the largest "
        "for runs that must agree, the smallest for AdamW against Adam + L2) with these bounds as an exact number.",
    ]


register_claim(Claim(
    id="sgd.weight-decay-is-l2",
    paper="sgd",
    title="Weight decay equals L2 regularisation for SGD, not for Adam",
    statement=("Standard SGD with weight decay λ executes the same steps as SGD without decay on f(θ) + λ'/2·‖θ‖² "
               "(λ' = λ/α in the paper's Eq. 1; λ' = λ when the decay per step is written α·λ). For an adaptive "
               "method such as Adam no L2 coefficient λ' reproduces the steps of decoupled weight decay, which is "
               "why AdamW decays the weights directly."),
    source="Proposition 1 and Proposition 2, Section 2 (proofs in Appendix A)",
    presets={
        "quick": DecayPreset(description="500 lockstep steps of 15 runs of a 784-100-10 MLP on 10k MNIST images in "
                             "float64; 15 s on 2 idle CPU cores", train=Trajectory()),
        "full": DecayPreset(description="3 seeds of 5,000 steps (12.8 epochs of 50k MNIST images) in float64; 28 min "
                            "on 2 busy CPU cores with 1 torch thread",
                            train=Trajectory(steps=5000, train_subset=50000, log_every=50), seeds=3),
    },
    experiment=decay_experiment,
    # Distance = the largest over the trajectory of ‖θ_a − θ_b‖ / ‖θ_b‖, as log10: -10 is "the same" (SAME, far
    # above float64 rounding), -3 "clearly different" (DIFFERENT). Exact numbers, compared exactly (no noise model
    # is needed: nothing is sampled), taking the worst seed.
    verdict=R.all_of(*(agree(label) for label in AGREE),
                     R.at_least(CLOSEST, DIFFERENT_LOG10, fails_below=SAME_LOG10,
                                words="log10 distance of AdamW to Adam + L2 at the closest λ' and seed (exact)")),
    notes=("The paper proves both propositions (Appendix A); this measures them on a real training run. The distances "
           "are exact float64 computations, not samples: the rule compares the worst seed's with the bounds exactly."),
))
