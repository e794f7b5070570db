"""Two of the paper's arguments about attention itself, measured: why Eq. 1 divides by sqrt(d_k)
(Section 3.2.1, footnote 4) and what one layer costs against the sequence length (Table 1).

``transformer.scaling``. Footnote 4: if the components of q and k are independent with mean 0 and
variance 1, q·k = sum_i q_i k_i has mean 0 and variance d_k; the paper suspects that for large
d_k these large dot products push the softmax "into regions where it has extremely small
gradients", and scales them by 1/sqrt(d_k). We measure (a) the variance of q·k for random
unit-variance q and k against d_k, and how peaked the softmax over n keys is with and without the
factor; (b) the gradient that reaches the scores, the query and the keys through the softmax of
our Eq. 1 (:func:`~.model.scaled_dot_product_attention`) for a random upstream gradient; (c)
training curves of a small Transformer with and without the factor (``scaled_attention=False``)
at several d_k on a cheap real task: reversing Multi30k English captions (:class:`ReverseTask`).

``transformer.complexity``. Table 1: per layer, self-attention costs O(n^2 d) with O(1) sequential
operations, a recurrent layer O(n d^2) with O(n), a convolutional layer of kernel k O(k n d^2)
with O(1). We time forward and backward of one layer of each at several n (and d), fit the growth
exponent on a log-log scale, and count the operations one forward pass dispatches.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from ...claims import Claim, Outcome, RunContext, Verdict
from ...claims import rules as R
from ...claims.arms import Arm, run_arms
from ...claims.catalog import register_claim
from ...claims.figures import line_panels, lines
from ...claims.presets import Preset, constant
from ...data.text import collate_pairs, read_multi30k, train_bpe
from ...errors import UserError
from ...optim import OptimizerConfig
from ...train.env import resolve_device
from ...train.loop import TrainConfig
from ...train.spec import ModelSpec
from ..seq2seq.experiments import direction
from .model import MultiHeadAttention, Transformer, label_smoothed_cross_entropy, scaled_dot_product_attention

__all__ = [
    "COMPLEXITY_RULE",
    "SCALING_RULE",
    "ComplexityPreset",
    "ElmanRNN",
    "ReverseTask",
    "ScalingPreset",
    "count_calls",
    "fit_exponent",
    "gradient_probe",
    "softmax_probe",
    "variance_probe",
]


# --- transformer.scaling: (a) and (b), random unit-variance queries and keys ----------------------

def variance_probe(d_k: int, samples: int, generator: torch.Generator) -> tuple[float, float]:
    """Var(q·k) / d_k for ``samples`` independent pairs q, k ~ N(0, I_{d_k}), and its standard
    error. Footnote 4: Var(q·k) = d_k. Each product z = q_i k_i has E z^2 = 1 and E z^4 = 9, so
    E (q·k)^4 = 3 d_k^2 + 6 d_k and the sample variance has standard error sqrt((2 d_k^2 + 6 d_k) / N),
    that is sqrt((2 + 6/d_k) / N) relative to d_k."""
    total, chunk = 0.0, max(1, 2 ** 24 // d_k)  # chunks of at most 16M numbers per tensor
    for start in range(0, samples, chunk):
        m = min(chunk, samples - start)
        q, k = torch.randn(m, d_k, generator=generator), torch.randn(m, d_k, generator=generator)
        total += ((q * k).sum(-1).double() ** 2).sum().item()  # the mean is 0: sum of (q·k)^2
    return total / samples / d_k, math.sqrt((2 + 6 / d_k) / samples)


def softmax_probe(d_k: int, *, queries: int, keys: int, d_v: int, scaled: bool,
                  generator: torch.Generator) -> dict[str, list[float]]:
    """One query against ``keys`` keys, ``queries`` times, through our Eq. 1 with q, k, v ~ N(0, I)
    and a random upstream gradient g ~ N(0, I) on the output (the loss is <g, Attention(q, K, V)>).
    Per query: the largest attention weight, the entropy of the weights divided by log(keys) (1 for
    uniform, 0 for one-hot), and the norms of the gradient reaching the scores s = q K^T (scaled or
    not), the query and the keys."""
    q = torch.randn(queries, 1, d_k, generator=generator, requires_grad=True)  # (Q, 1, d_k)
    k = torch.randn(queries, keys, d_k, generator=generator, requires_grad=True)  # (Q, n, d_k)
    v = torch.randn(queries, keys, d_v, generator=generator)  # (Q, n, d_v)
    out, weights = scaled_dot_product_attention(q, k, v, scale=None if scaled else 1.0)  # (Q, 1, d_v), (Q, 1, n)
    weights.retain_grad()
    g = torch.randn(out.shape, generator=generator)
    (out * g).sum().backward()
    p, dp = weights.detach()[:, 0], weights.grad[:, 0]  # (Q, n)
    # softmax backward: dL/ds_j = p_j (dL/dp_j - sum_i p_i dL/dp_i); it vanishes as p becomes one-hot
    ds = p * (dp - (p * dp).sum(-1, keepdim=True))  # (Q, n)
    entropy = -(p * p.clamp_min(1e-30).log()).sum(-1) / math.log(keys)  # (Q,)
    return {"max_prob": p.max(-1).values.tolist(), "entropy": entropy.tolist(),
            "grad_scores": ds.norm(dim=-1).tolist(), "grad_query": q.grad[:, 0].norm(dim=-1).tolist(),
            "grad_keys": k.grad.flatten(1).norm(dim=-1).tolist()}


def gradient_probe(p: ScalingPreset, seed: int) -> dict[str, float]:
    """(a) and (b) at every d_k of ``p.probe_d_ks``: the values :func:`scaling_experiment` records."""
    g = torch.Generator().manual_seed(seed)
    out: dict[str, float] = {}
    scores: dict[str, torch.Tensor] = {}
    resample = torch.Generator().manual_seed(seed)   # the bootstrap's own stream: the probes' draws stay as they are
    for d_k in p.probe_d_ks:
        ratio, se = variance_probe(d_k, p.samples, g)
        out[f"var_ratio/d_k={d_k}"], out[f"var_se/d_k={d_k}"] = ratio, se
        for name, scaled in (("scaled", True), ("unscaled", False)):
            stats = softmax_probe(d_k, queries=p.queries, keys=p.keys, d_v=p.d_v, scaled=scaled, generator=g)
            for key in ("max_prob", "entropy"):
                out[f"{key}/{name}/d_k={d_k}"] = statistics.fmean(stats[key])
            for key in ("grad_scores", "grad_query", "grad_keys"):
                out[f"{key}/{name}/d_k={d_k}"] = statistics.median(stats[key])
            reference = out[f"grad_scores/scaled/d_k={d_k}"]
            out[f"vanishing/{name}/d_k={d_k}"] = statistics.fmean(
                float(x < p.vanishing * reference) for x in stats["grad_scores"])
            scores[name] = torch.tensor(stats["grad_scores"])
        out[f"grad_ratio/d_k={d_k}"] = out[f"grad_scores/unscaled/d_k={d_k}"] / out[f"grad_scores/scaled/d_k={d_k}"]
        out[f"grad_ratio_se/d_k={d_k}"] = _median_ratio_se(scores["unscaled"], scores["scaled"], resample)
    return out


def _median_ratio_se(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator, samples: int = 200) -> float:
    """Bootstrap standard error of median(a) / median(b) for two independent samples (the queries
    of the unscaled and the scaled probe are drawn independently)."""
    ia = torch.randint(len(a), (samples, len(a)), generator=generator)
    ib = torch.randint(len(b), (samples, len(b)), generator=generator)
    return float((a[ia].median(1).values / b[ib].median(1).values).std())


# --- transformer.scaling: (c), training with and without the factor -------------------------------

@dataclass(frozen=True)
class ReverseTrain:
    """The small Transformer of (c) and its training. h = d_model / d_k heads, so that h·d_k =
    d_model as in the paper's models (Table 3 row A) and, with Xavier initialisation and inputs of
    unit variance, q and k start with components of variance about 1, footnote 4's assumption."""

    steps: int = 200
    batch_size: int = 32
    lr: float = 1e-3
    log_every: int = 10
    eval_every: int = 50
    d_model: int = 128
    num_layers: int = 2
    d_ff: int = 256
    vocab_size: int = 1000        # BPE tokens learnt on the training captions
    bpe_sentences: int = 10000    # the first so many training captions train the BPE
    train_sentences: int = 0      # training captions used (0: all 29,000)
    max_tokens: int = 16          # captions of 3 to this many BPE tokens are used
    eval_sentences: int = 1014    # Multi30k's validation captions (all of them: 1,014)
    threads: int = 1              # CPU threads (0: leave torch's setting); small models gain nothing from more


@dataclass(frozen=True, kw_only=True)
class ScalingPreset(Preset):
    train: ReverseTrain = field(default_factory=ReverseTrain)
    d_ks: tuple[int, ...] = (8, 32, 128)                       # (c): trained models
    probe_d_ks: tuple[int, ...] = (4, 16, 64, 256, 1024)      # (a), (b)
    samples: int = 16384     # (a): pairs q, k per d_k
    queries: int = 512       # (a), (b): queries per d_k, each against `keys` keys
    keys: int = 64
    d_v: int = 64
    vanishing: float = 0.01  # a query's score gradient "vanishes" below this fraction of the scaled median
    margin: float = 0.1      # (c): the minimum effect, a loss gap of this fraction of the scaled model's loss

    SMOKE: ClassVar[dict[str, str]] = {
        "train.steps": "4", "train.log_every": "1", "train.eval_every": "2", "train.batch_size": "8",
        "train.d_model": "16", "train.d_ff": "16", "train.num_layers": "1", "train.vocab_size": "100",
        "train.bpe_sentences": "300", "train.train_sentences": "1000", "train.eval_sentences": "32",
        "train.max_tokens": "64", "d_ks": "(16,)", "probe_d_ks": "(4,64)", "samples": "256", "queries": "16",
        "keys": "8"}


@dataclass
class ReverseData:
    """Multi30k English captions as BPE ids, for :class:`ReverseTask`."""

    train: list[list[int]]
    val: list[list[int]]
    vocab_size: int
    source: str

    @classmethod
    def load(cls, c: ReverseTrain, root: str | None) -> ReverseData:
        sentences = read_multi30k("train", "en", root)
        tokenizer = train_bpe(sentences[:c.bpe_sentences], vocab_size=c.vocab_size)

        def encode(texts: Sequence[str]) -> list[list[int]]:
            return [e.ids for e in tokenizer.encode_batch(list(texts)) if 3 <= len(e.ids) <= c.max_tokens]

        train = encode(sentences[:c.train_sentences or None])
        val = encode(read_multi30k("val", "en", root)[:c.eval_sentences])
        if not train or not val:
            raise UserError(f"no Multi30k caption has 3 to {c.max_tokens} BPE tokens of a {c.vocab_size}-token "
                            "vocabulary: raise train.max_tokens or train.vocab_size")
        source = (f"Multi30k task 1 English captions, {len(train):,} training and {len(val):,} validation captions "
                  f"of 3-{c.max_tokens} BPE tokens ({tokenizer.get_vocab_size():,}-token BPE)")
        return cls(train, val, tokenizer.get_vocab_size(), source)


def reverse_pair(ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """(source, target): the caption then ``</s>``; ``<s>``, the caption backwards, ``</s>``."""
    return [*ids, 3], [2, *ids[::-1], 3]


class ReverseTask:
    """Write a caption's BPE tokens in reverse order: the encoder reads the caption, the decoder
    writes it backwards under teacher forcing. Every output token is a copy of one input token
    whose position depends on the caption's length: the decoder's attention over the source has
    to become sharp and position-based, which is what the softmax's saturation would hamper.
    Batches of ``batch_size`` random training captions; evaluation: the validation captions'
    cross-entropy per token and token accuracy, and in :attr:`items` each caption's share of that
    cross-entropy (its summed loss times captions / tokens: their mean is the loss), so that two
    models' losses are compared caption by caption."""

    def __init__(self, data: ReverseData, *, batch_size: int, seed: int, device: torch.device) -> None:
        self.data, self.batch_size, self.device = data, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)
        self.val = collate_pairs([reverse_pair(ids) for ids in data.val])  # (src, tgt_in, tgt_out)
        self.items: list[float] = []

    def model_kwargs(self, spec: ModelSpec) -> dict[str, int]:
        return {"vocab_size": self.data.vocab_size}

    def meta(self) -> dict[str, Any]:
        return {"task": "reverse", "source": self.data.source, "vocab_size": self.data.vocab_size}

    def train_batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        while True:
            rows = torch.randint(len(self.data.train), (self.batch_size,), generator=self.generator).tolist()
            yield collate_pairs([reverse_pair(self.data.train[i]) for i in rows])

    def training_step(self, model: Transformer, batch: tuple[torch.Tensor, ...]):
        src, tgt_in, tgt_out = batch
        logits = model(src, tgt_in)  # (B, T, V)
        return label_smoothed_cross_entropy(logits, tgt_out, epsilon=0.0), {"accuracy": _accuracy(logits, tgt_out)}

    def evaluate(self, model: Transformer) -> dict[str, float]:
        src, tgt_in, tgt_out = (t.to(self.device) for t in self.val)
        logits = model(src, tgt_in)
        nll = F.cross_entropy(logits.flatten(0, 1).float(), tgt_out.flatten(), ignore_index=0,
                              reduction="none").view(tgt_out.shape)  # (B, T), 0 at padding
        tokens = int((tgt_out != 0).sum())
        self.items = (nll.sum(1) * len(nll) / tokens).tolist()
        return {"val_loss": nll.sum().item() / tokens, "val_accuracy": _accuracy(logits, tgt_out).item()}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


def _accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    keep = target != 0
    return (logits.argmax(-1) == target)[keep].float().mean()


def reverse_arm(c: ReverseTrain, d_k: int, scaled: bool) -> Arm:
    """One model of (c): transformer_small with h = d_model / d_k heads of d_k = d_v, no dropout,
    with or without the 1/sqrt(d_k) factor, on :class:`ReverseTask`."""
    kwargs = dict(d_model=c.d_model, num_layers=c.num_layers, d_ff=c.d_ff, num_heads=max(1, c.d_model // d_k), d_k=d_k,
                  d_v=d_k, dropout=0.0, scaled_attention=scaled)

    def task(data: ReverseData, *, device: torch.device, seed: int, **_: Any) -> ReverseTask:
        return ReverseTask(data, batch_size=c.batch_size, seed=seed, device=device)

    return Arm(f"d_k={d_k}-{'scaled' if scaled else 'unscaled'}", "transformer_small", kwargs, task=task)


def reverse_recipe(c: ReverseTrain) -> TrainConfig:
    """Adam (0.9, 0.98, 1e-9) at a constant ``c.lr`` for ``c.steps`` steps, no warm-up."""
    adam = OptimizerConfig(name="adam", lr=c.lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.0)
    return replace(constant(c.steps, adam, log_every=c.log_every, eval_every=c.eval_every), amp=False)


@contextmanager
def cpu_threads(device: str, threads: int) -> Iterator[None]:
    """Run with ``threads`` torch CPU threads on a CPU device (0 or another device: unchanged)."""
    before = torch.get_num_threads()
    if resolve_device(device).type == "cpu" and threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def scaling_experiment(ctx: RunContext) -> Outcome:
    p: ScalingPreset = ctx.preset
    out = Outcome()
    data = ReverseData.load(p.train, ctx.data_root)
    out.data = data.source
    curves: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    with cpu_threads(ctx.device, p.train.threads):
        for key, value in gradient_probe(p, ctx.seeds[0]).items():
            out.add(key, [value])
        for d_k in p.probe_d_ks:
            out.value_se[f"var_ratio/d_k={d_k}"] = out.per_seed[f"var_se/d_k={d_k}"]
            out.value_se[f"grad_ratio/d_k={d_k}"] = out.per_seed[f"grad_ratio_se/d_k={d_k}"]
        arms = {(d_k, scaled): reverse_arm(p.train, d_k, scaled) for d_k in p.d_ks for scaled in (True, False)}
        results = run_arms(ctx, list(arms.values()), data=data, train=reverse_recipe(p.train))
    for (d_k, scaled), arm in arms.items():
        runs, name = results[arm.label].runs, "scaled" if scaled else "unscaled"
        out.add_items(f"val_loss/{name}/d_k={d_k}", [r.task.items for r in runs])   # each validation caption's loss
        out.add(f"val_accuracy/{name}/d_k={d_k}", [100 * r.result.final["val_accuracy"] for r in runs])
        panel = curves.setdefault(f"d_k = {d_k} ({max(1, p.train.d_model // d_k)} heads)", {})
        panel[f"{'with' if scaled else 'without'} 1/√d_k"] = runs[0].result.history("eval", "val_loss")
    out.tables += [_probe_table(out, p), _training_table(out, p)]
    out.figures += _scaling_figures(ctx, out, p, curves)
    out.notes += [
        f"(a), (b): q, k, v and the upstream gradient drawn from N(0, 1) (seed {ctx.seeds[0]}); {p.samples:,} pairs "
        f"for Var(q·k), {p.queries} queries against {p.keys} keys (d_v = {p.d_v}) for the softmax and its gradients; "
        "gradient norms are medians over queries (their mean is dominated by the rare queries whose two largest "
        f"scores nearly tie); a query's gradient 'vanishes' below {p.vanishing:g} times the scaled median. Without the "
        "factor the gradient on q and K first grows with d_k (a score moves about sqrt(d_k) times more per unit "
        "change of q), then falls once the softmax saturates; the gradient on the scores is the softmax's own.",
        f"(c): task: {ReverseTask.__doc__.split(':')[0].strip()}. Model: our Transformer with d_model = "
        f"{p.train.d_model}, {p.train.num_layers}+{p.train.num_layers} layers, d_ff = {p.train.d_ff}, no dropout, "
        f"h = d_model/d_k heads with d_v = d_k; Adam (0.9, 0.98, 1e-9) at a constant {p.train.lr:g} "
        f"(no warm-up), {p.train.steps} steps of {p.train.batch_size} captions, no label smoothing"
        + (f", {p.train.threads} CPU thread(s)" if resolve_device(ctx.device).type == "cpu" and p.train.threads else "")
        + ". Loss: "
        "cross-entropy per target token on the validation captions at the end (the figure: every "
        f"{p.train.eval_every} steps). Without the factor, Xavier-initialised q and k start with dot products of "
        "standard deviation about sqrt(d_k), as in (a).",
        "Noise: (a) the standard error of the sample variance (see variance_probe); (b) a bootstrap over the queries "
        "of the ratio of the two medians; (c) each validation caption's share of the loss, paired between the models "
        "with and without the factor (the same captions), and the seeds paired. A loss gap in (c) counts from "
        f"{p.margin:.0%} of the scaled model's loss (the minimum effect: with one seed the run-to-run spread of a "
        "trained model's loss is unmeasured).",
        "The paper gives no experiment for this: it states the variance argument and cites Britz et al. (2017), "
        "where unscaled dot-product attention falls behind additive attention for large d_k.",
    ]
    return out


def _probe_table(out: Outcome, p: ScalingPreset) -> str:
    v = out.values
    rows = ["| d_k | Var(q·k) / d_k (± s.e.) | max weight: scaled / unscaled | entropy / log n: scaled / unscaled | "
            "median ‖∂L/∂s‖: scaled / unscaled | median ‖∂L/∂q‖: scaled / unscaled | vanishing (unscaled) |",
            "|---|---|---|---|---|---|---|"]
    for d in p.probe_d_ks:
        rows.append(
            f"| {d} | {v[f'var_ratio/d_k={d}']:.3f} ± {v[f'var_se/d_k={d}']:.3f} | "
            f"{v[f'max_prob/scaled/d_k={d}']:.3f} / {v[f'max_prob/unscaled/d_k={d}']:.3f} | "
            f"{v[f'entropy/scaled/d_k={d}']:.3f} / {v[f'entropy/unscaled/d_k={d}']:.3f} | "
            f"{v[f'grad_scores/scaled/d_k={d}']:.3g} / {v[f'grad_scores/unscaled/d_k={d}']:.3g} | "
            f"{v[f'grad_query/scaled/d_k={d}']:.3g} / {v[f'grad_query/unscaled/d_k={d}']:.3g} | "
            f"{v[f'vanishing/unscaled/d_k={d}']:.0%} |")
    return "\n".join(rows)


def _training_table(out: Outcome, p: ScalingPreset) -> str:
    rows = ["| d_k | heads | validation loss: with 1/√d_k | without | validation token accuracy: with | without |",
            "|---|---|---|---|---|---|"]
    for d in p.d_ks:
        rows.append(f"| {d} | {max(1, p.train.d_model // d)} | {out.fmt(f'val_loss/scaled/d_k={d}', 3)} | "
                    f"{out.fmt(f'val_loss/unscaled/d_k={d}', 3)} | {out.fmt(f'val_accuracy/scaled/d_k={d}', 1)}% | "
                    f"{out.fmt(f'val_accuracy/unscaled/d_k={d}', 1)}% |")
    return "\n".join(rows)


def _scaling_figures(ctx: RunContext, out: Outcome, p: ScalingPreset, curves) -> list:
    v, ds = out.values, list(p.probe_d_ks)
    styles = {"with 1/√d_k": "o-", "without 1/√d_k": "s-", "measured": "o", "d_k (footnote 4)": "--"}
    figs = [lines(ctx.run_dir / "scaling_variance.png",
                  {"measured": (ds, [v[f"var_ratio/d_k={d}"] * d for d in ds]), "d_k (footnote 4)": (ds, ds)},
                  xlabel="d_k", ylabel="Var(q·k)", logx=True, logy=True, styles=styles,
                  title="Dot products of unit-variance q, k have variance d_k")]

    def pair(key: str) -> dict[str, tuple[list[int], list[float]]]:
        return {"with 1/√d_k": (ds, [v[f"{key}/scaled/d_k={d}"] for d in ds]),
                "without 1/√d_k": (ds, [v[f"{key}/unscaled/d_k={d}"] for d in ds])}

    figs.append(line_panels(ctx.run_dir / "scaling_softmax.png",
                            {"largest attention weight": pair("max_prob"), "entropy / log n": pair("entropy")},
                            xlabel="d_k", ylabel="mean over queries", logx=True, styles=styles, ylim=(0, 1.02),
                            title=f"Softmax over {p.keys} keys"))
    figs.append(line_panels(ctx.run_dir / "scaling_gradients.png",
                            {"scores s": pair("grad_scores"), "query q": pair("grad_query"),
                             "keys K": pair("grad_keys")},
                            xlabel="d_k", ylabel="median gradient norm", logx=True, logy=True, styles=styles,
                            title="Gradient reaching the attention's inputs through the softmax"))
    figs.append(line_panels(ctx.run_dir / "scaling_training.png", curves, xlabel="step",
                            ylabel="validation cross-entropy (nats/token)", logy=True,
                            title="Reversing Multi30k captions, with and without the 1/√d_k factor (seed "
                                  f"{ctx.seeds[0]})"))
    return figs


#: (a): Var(q·k) is d_k exactly for these distributions; the band is for the Monte-Carlo estimate:
#: 5%, far below what footnote 4's argument turns on (the variance grows hundreds-fold over the
#: probed d_k) and wider than the quick probe's 90% interval (about ±2% at 16,384 pairs).
VAR_TOLERANCE = 0.05
#: (b): at the largest probed d_k the unscaled softmax passes at most a tenth of the scaled one's
#: gradient to the scores ("extremely small gradients"); a ratio of 1 or more refutes it.
GRAD_RATIO, GRAD_RATIO_FAILS = 0.1, 1.0


def _falls_behind(out: Outcome, p: ScalingPreset) -> Verdict:
    """(c): at the largest trained d_k the unscaled model's validation loss is above the scaled
    one's beyond the noise and by at least ``p.margin`` of it. A custom rule because the minimum
    effect is relative to a measured loss (proposed general form: ``higher(a, than=b,
    minimum=Of(...))`` with the minimum read from the outcome)."""
    big = max(p.d_ks)
    scaled, unscaled = f"scaled/d_k={big}", f"unscaled/d_k={big}"
    est = out.difference("val_loss", unscaled, scaled)
    minimum = p.margin * out.values[f"val_loss/{scaled}"]
    found = direction(est, minimum)
    reason = (f"at d_k = {big} the validation loss is {out.fmt(f'val_loss/{scaled}', 3)} with the factor and "
              f"{out.fmt(f'val_loss/{unscaled}', 3)} without: difference {est.describe(digits=3)}, minimum effect "
              f"{minimum:.3f}")
    status = {"higher": "holds", "lower": "does not hold"}.get(found, "inconclusive")
    return Verdict(status, reason)


SCALING_RULE = R.all_of(
    R.each(R.Of(lambda p: [(d,) for d in p.probe_d_ks], "the probed d_k"),
           lambda d: R.within(f"var_ratio/d_k={d}", 1.0, tolerance=VAR_TOLERANCE, words=f"Var(q·k)/d_k at d_k = {d}"),
           example=("d",)),
    R.at_most(R.Of(lambda p: f"grad_ratio/d_k={max(p.probe_d_ks)}", "the gradient ratio at the largest probed d_k"),
              GRAD_RATIO, fails_above=GRAD_RATIO_FAILS,
              words="the median gradient on the scores without the factor over the one with it, at the largest "
                    "probed d_k,"),
    R.custom(_falls_behind, "holds if at the largest trained d_k the validation loss without the factor is above "
                            "the one with it: the 95% interval of the difference (validation captions and seeds "
                            "paired) lies above 0 and the difference is at least the preset's margin (10%) of the "
                            "scaled model's loss (the minimum effect); does not hold if it is below by as much; "
                            "inconclusive otherwise"))


# --- transformer.complexity ------------------------------------------------------------------------

class ElmanRNN(nn.Module):
    """A recurrent layer written out: h_t = tanh(x_t W_x + h_{t-1} W_h + b), one position after
    another. The input projection of all positions is one matrix product; the n steps that follow
    depend each on the last (Table 1: O(n) sequential operations, O(n d^2) in all)."""

    def __init__(self, d: int):
        super().__init__()
        self.input = nn.Linear(d, d)                # W_x, b
        self.hidden = nn.Linear(d, d, bias=False)   # W_h

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n, d)
        u = self.input(x)  # x_t W_x + b for every t at once: (B, n, d)
        h = torch.zeros_like(u[:, 0])  # (B, d)
        states = []
        # unbind, not u[:, t]: the backward of indexing would write a full (B, n, d) gradient per step
        for u_t in u.unbind(1):  # (B, d) each
            h = torch.tanh(u_t + self.hidden(h))  # h_t = tanh(x_t W_x + h_{t-1} W_h + b)
            states.append(h)
        return torch.stack(states, 1)  # (B, n, d)


class SelfAttentionLayer(nn.Module):
    """Multi-head self-attention (our :class:`~.model.MultiHeadAttention`) over the whole sequence."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.attention = MultiHeadAttention(d_model=d, num_heads=heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n, d)
        return self.attention(x, x, x)  # (B, n, d)


class ConvLayer(nn.Module):
    """A 1-d convolution of width k over the positions, d channels in and out ("same" padding)."""

    def __init__(self, d: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv1d(d, d, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n, d)
        return self.conv(x.transpose(1, 2)).transpose(1, 2)  # (B, n, d)


#: Table 1's three layer types: (per-layer complexity, sequential operations) as the paper gives them.
LAYERS = {"self-attention": ("O(n²·d)", "O(1)"), "recurrent": ("O(n·d²)", "O(n)"),
          "convolutional": ("O(k·n·d²)", "O(1)")}


def build_layer(kind: str, d: int, p: ComplexityPreset) -> nn.Module:
    if kind == "self-attention":
        return SelfAttentionLayer(d, max(1, d // p.d_k))
    if kind == "recurrent":
        return ElmanRNN(d)
    return ConvLayer(d, p.kernel)


class _CallCounter(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


def count_calls(fn: Callable[..., Any], *args: Any) -> int:
    """How many torch operations ``fn(*args)`` dispatches (every torch function and tensor method call)."""
    with _CallCounter() as counter:
        fn(*args)
    return counter.calls


def fit_exponent(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope of log y against log x, and its standard error (0 for two points):
    y ∝ x^slope."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    sxx = sum((a - mx) ** 2 for a in lx)
    slope = sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sxx
    if len(xs) < 3:
        return slope, 0.0
    residual = sum((b - my - slope * (a - mx)) ** 2 for a, b in zip(lx, ly))
    return slope, math.sqrt(residual / (len(xs) - 2) / sxx)


@dataclass(frozen=True)
class Timing:
    """How each point is timed: ``warmup`` untimed passes, then ``steps`` rounds; in each round
    every (layer, size) point runs forward and backward passes, so a burst of load on a shared
    machine hits all points alike; a point's time is its median over the rounds. A round's sample
    is the mean of as many consecutive passes as fill ``min_seconds`` (as ``timeit`` does), so
    that a fast layer is not timed at the resolution of the scheduler."""

    steps: int = 7
    warmup: int = 2
    batch_size: int = 1
    threads: int = 1          # CPU threads while timing (0: leave torch's setting)
    min_seconds: float = 0.05


@dataclass(frozen=True, kw_only=True)
class ComplexityPreset(Preset):
    train: Timing = field(default_factory=Timing)
    lengths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048, 4096)
    d_model: int = 64
    widths: tuple[int, ...] = (64, 128, 256, 512)   # the sweep over d, at n = width_length
    width_length: int = 256
    d_k: int = 64           # self-attention: d / d_k heads (at least 1)
    kernel: int = 3
    fit_points: int = 3     # the exponent in n is fitted over the largest so many lengths
    tolerance: float = 0.25

    SMOKE: ClassVar[dict[str, str]] = {"train.steps": "4", "train.warmup": "1", "train.min_seconds": "0",
                                       "lengths": "(16,32,64)", "widths": "(8,16)", "d_model": "8",
                                       "width_length": "16", "d_k": "8"}


def time_points(points: Sequence[tuple[str, int, int]], p: ComplexityPreset,
                device: torch.device) -> dict[tuple[str, int, int], list[float]]:
    """Seconds of one forward and backward pass of each (layer, n, d), one entry per round."""
    prepared = {}
    for kind, n, d in points:
        torch.manual_seed(0)
        layer = build_layer(kind, d, p).to(device)
        x = torch.randn(p.train.batch_size, n, d, device=device, requires_grad=True)  # (B, n, d)
        grad = torch.randn(p.train.batch_size, n, d, device=device)
        prepared[kind, n, d] = (layer, x, grad)

    def run(key, passes: int = 1) -> float:
        """Mean seconds of ``passes`` consecutive forward and backward passes."""
        layer, x, grad = prepared[key]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        for _ in range(passes):
            layer(x).backward(grad)
            layer.zero_grad(set_to_none=True)
            x.grad = None
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - t0) / passes

    last = {}
    for _ in range(max(1, p.train.warmup)):
        for key in prepared:
            last[key] = run(key)
    passes = {key: max(1, math.ceil(p.train.min_seconds / max(t, 1e-9))) for key, t in last.items()}
    times: dict[tuple[str, int, int], list[float]] = {key: [] for key in prepared}
    for _ in range(p.train.steps):
        for key in prepared:
            times[key].append(run(key, passes[key]))
    return times


def complexity_experiment(ctx: RunContext) -> Outcome:
    p: ComplexityPreset = ctx.preset
    device = resolve_device(ctx.device)
    points = [(kind, n, p.d_model) for kind in LAYERS for n in p.lengths]
    points += [(kind, p.width_length, d) for kind in LAYERS for d in p.widths
               if d != p.d_model or p.width_length not in p.lengths]
    with cpu_threads(ctx.device, p.train.threads):
        times = time_points(points, p, device)
    out = Outcome(data="random inputs (timing only)")
    for (kind, n, d), samples in times.items():
        out.add(f"ms/{kind}/n={n}/d={d}", [1000 * statistics.median(samples)])
        out.add(f"spread/{kind}/n={n}/d={d}", [_spread(samples)])
    fit = p.lengths[-p.fit_points:]
    for kind in LAYERS:
        slope, se = fit_exponent(fit, [out.values[f"ms/{kind}/n={n}/d={p.d_model}"] for n in fit])
        out.add(f"exponent_n/{kind}", [slope])
        out.add(f"exponent_n_se/{kind}", [se])
        out.value_se[f"exponent_n/{kind}"] = [se]
        slope, se = fit_exponent(p.widths, [out.values[f"ms/{kind}/n={p.width_length}/d={d}"] for d in p.widths])
        out.add(f"exponent_d/{kind}", [slope])
        for n in (p.lengths[0], p.lengths[-1]):
            layer = build_layer(kind, p.d_model, p).to(device)
            x = torch.randn(1, n, p.d_model, device=device)
            with torch.no_grad():
                out.add(f"ops/{kind}/n={n}", [count_calls(layer, x)])
        out.add_exact(f"ops_growth/{kind}", [out.values[f"ops/{kind}/n={p.lengths[-1]}"]
                                       - out.values[f"ops/{kind}/n={p.lengths[0]}"]])
    out.tables += [_complexity_table(out, p), _width_table(out, p)]
    out.figures += _complexity_figures(ctx, out, p)
    out.notes += [
        f"One layer, batch {p.train.batch_size}, float32, forward and backward (a random upstream gradient) on "
        f"{device.type}; {p.train.warmup} warm-up passes, then the median of {p.train.steps} rounds, every point once "
        "per round (interleaved, so bursts of load on a shared machine hit all points alike), each round's time the "
        f"mean of as many passes as fill {p.train.min_seconds:g} s"
        + (f"; {p.train.threads} CPU thread(s) while timing" if device.type == "cpu" and p.train.threads else "")
        + ". 'Spread' is the interquartile range of a point's times over its median.",
        f"Self-attention: our MultiHeadAttention (Section 3.2.2, fused attention kernel, d/{p.d_k} heads) with its "
        f"four d x d projections, which add O(n·d²) to the O(n²·d) of Eq. 1: the exponent in n approaches 2 only once "
        f"n >> d (local exponent 1 + n/(n + 2d) from the multiply-add counts 2n²d + 4nd²). Recurrent: a tanh RNN "
        f"written out step by step (ElmanRNN). Convolutional: Conv1d of kernel {p.kernel}, d channels.",
        f"Exponents in n are least-squares slopes of log time against log n over the largest {p.fit_points} "
        f"lengths (n = {', '.join(map(str, fit))}) at d = {p.d_model}, with their standard errors; exponents in d "
        f"over d = {', '.join(map(str, p.widths))} at n = {p.width_length} are reported, not judged (Table 1 gives "
        "d for self-attention and d² for the others, but small layers are dominated by fixed per-operation costs).",
        "Sequential operations: the torch operations one forward pass dispatches (counted), at the shortest and "
        "longest n: a count independent of n means every position is computed by the same few operations at once; "
        "one growing with n means operations one after another (the recurrence's steps).",
        "Table 1's third column, the maximum path length between positions, is not measured.",
    ]
    return out


def _spread(samples: Sequence[float]) -> float:
    if len(samples) < 4:
        return (max(samples) - min(samples)) / statistics.median(samples)
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return (q3 - q1) / statistics.median(samples)


def _complexity_table(out: Outcome, p: ComplexityPreset) -> str:
    v, d = out.values, p.d_model
    first, last = p.lengths[0], p.lengths[-1]
    rows = [f"| layer (d = {d}) | Table 1 | " + " | ".join(f"n = {n}" for n in p.lengths)
            + " | exponent in n (± s.e.) | Table 1: sequential | operations at n = " + f"{first} / {last} |",
            "|---|---|" + "---|" * len(p.lengths) + "---|---|---|"]
    for kind, (cost, sequential) in LAYERS.items():
        cells = " | ".join(f"{v[f'ms/{kind}/n={n}/d={d}']:.3g} ms" for n in p.lengths)
        rows.append(f"| {kind} | {cost} | {cells} | {v[f'exponent_n/{kind}']:.2f} ± {v[f'exponent_n_se/{kind}']:.2f} "
                    f"| {sequential} | {v[f'ops/{kind}/n={first}']:.0f} / {v[f'ops/{kind}/n={last}']:.0f} |")
    return "\n".join(rows)


def _width_table(out: Outcome, p: ComplexityPreset) -> str:
    v, n = out.values, p.width_length
    rows = [f"| layer (n = {n}) | " + " | ".join(f"d = {d}" for d in p.widths) + " | exponent in d |",
            "|---|" + "---|" * len(p.widths) + "---|"]
    for kind in LAYERS:
        cells = " | ".join(f"{v[f'ms/{kind}/n={n}/d={d}']:.3g} ms" for d in p.widths)
        rows.append(f"| {kind} | {cells} | {v[f'exponent_d/{kind}']:.2f} |")
    return "\n".join(rows)


def _complexity_figures(ctx: RunContext, out: Outcome, p: ComplexityPreset) -> list:
    v = out.values
    by_n = {kind: (list(p.lengths), [v[f"ms/{kind}/n={n}/d={p.d_model}"] for n in p.lengths]) for kind in LAYERS}
    by_d = {kind: (list(p.widths), [v[f"ms/{kind}/n={p.width_length}/d={d}"] for d in p.widths]) for kind in LAYERS}
    # reference slopes through the self-attention's and the recurrent layer's last points
    n0, n1 = p.lengths[0], p.lengths[-1]
    attention_end, recurrent_end = by_n["self-attention"][1][-1], by_n["recurrent"][1][-1]
    by_n["∝ n²"] = ([n0, n1], [attention_end * (n0 / n1) ** 2, attention_end])
    by_n["∝ n"] = ([n0, n1], [recurrent_end * n0 / n1, recurrent_end])
    styles = {kind: "o-" for kind in LAYERS} | {"∝ n²": ":", "∝ n": ":"}
    colors = {"∝ n²": "grey", "∝ n": "silver"}
    return [line_panels(ctx.run_dir / "complexity_length.png", {f"d = {p.d_model}": by_n}, xlabel="sequence length n",
                        ylabel="forward + backward (ms)", logx=True, logy=True, styles=styles, colors=colors,
                        title="Time of one layer against n (cf. Table 1)"),
            lines(ctx.run_dir / "complexity_width.png", by_d, xlabel="d", ylabel="forward + backward (ms)", logx=True,
                  logy=True, styles={kind: "o-" for kind in LAYERS},
                  title=f"Time of one layer against d, n = {p.width_length}")]


#: Table 1's growth in n of each layer's time (n²·d, n·d², k·n·d²).
EXPONENTS = {"self-attention": 2.0, "recurrent": 1.0, "convolutional": 1.0}
TOLERANCE = R.Of(lambda p: p.tolerance, "the preset's tolerance (0.25)")

COMPLEXITY_RULE = R.all_of(
    *(R.within(f"exponent_n/{kind}", exponent, tolerance=TOLERANCE, words=f"{kind}'s exponent in n")
      for kind, exponent in EXPONENTS.items()),
    R.at_most("ops_growth/self-attention", 0, words="the growth from the shortest to the longest n of "
                                                    "self-attention's operations per forward pass"),
    R.at_most("ops_growth/convolutional", 0, words="that of the convolution's"),
    R.at_least("ops_growth/recurrent", R.Of(lambda p: p.lengths[-1] - p.lengths[0], "the growth in n"),
               words="that of the recurrent layer's"))


# --- registration ---------------------------------------------------------------------------------

QUICK_SCALING = ScalingPreset(
    description=("(a), (b) at d_k = 4..1024 with random unit-variance vectors; (c) 6 small Transformers (d_k = 8, 32, "
                 "128, with and without 1/√d_k) trained for 200 steps of 32 captions on reversing Multi30k captions, "
                 "1 seed; 1.6 min on 2 idle CPU cores"))
register_claim(Claim(
    id="transformer.scaling",
    paper="transformer",
    title="Without the 1/√d_k factor, dot products grow with d_k, the softmax saturates and its gradients vanish",
    statement=("If the components of q and k are independent random variables with mean 0 and variance 1, their dot "
               "product has mean 0 and variance d_k. For large values of d_k the dot products grow large in "
               "magnitude, pushing the softmax function into regions where it has extremely small gradients; to "
               "counteract this, the dot products are scaled by 1/√d_k. Without scaling, dot-product attention falls "
               "behind for larger d_k."),
    source="Section 3.2.1 and footnote 4",
    presets={
        "quick": QUICK_SCALING,
        "full": ScalingPreset(
            description=("(a), (b) at d_k = 1..4096 with 4x the samples; (c) 8 Transformers with d_model = 256 (d_k = "
                         "4, 16, 64, 256, with and without 1/√d_k), 2,000 steps of 64 captions each, 3 seeds: 24 runs "
                         "(one GPU)"),
            train=ReverseTrain(steps=2000, batch_size=64, log_every=50, eval_every=100, d_model=256, d_ff=1024),
            d_ks=(4, 16, 64, 256), probe_d_ks=(1, 4, 16, 64, 256, 1024, 4096), samples=65536, queries=1024,
            seeds=3),
    },
    experiment=scaling_experiment,
    verdict=SCALING_RULE,
    notes=("Footnote 4's argument is about random vectors; (c) checks that it matters for a model trained with Adam, "
           "on a small task that needs sharp attention."),
))

QUICK_COMPLEXITY = ComplexityPreset(
    description=("one layer of each kind at d = 64 and n = 64..4096 (and n = 256, d = 64..512), forward and backward, "
                 "median of 7 interleaved rounds on 1 CPU thread; 17 s on 2 idle CPU cores"))
register_claim(Claim(
    id="transformer.complexity",
    paper="transformer",
    title="Self-attention costs O(n²·d) with O(1) sequential operations; recurrent and convolutional layers O(n)",
    statement=("Per layer, self-attention has complexity O(n²·d) and O(1) sequential operations, a recurrent layer "
               "O(n·d²) and O(n) sequential operations, a convolutional layer of kernel width k O(k·n·d²) and O(1) "
               "sequential operations (n the sequence length, d the representation dimension)."),
    source="Section 4, Table 1",
    presets={
        "quick": QUICK_COMPLEXITY,
        "full": ComplexityPreset(
            description=("one layer of each kind at d = 128 and n = 256..16384 (and n = 1024, d = 64..1024), batch "
                         "32, median of 20 interleaved rounds (one GPU)"),
            train=Timing(steps=20, warmup=3, batch_size=32, threads=0), d_model=128,
            lengths=(256, 512, 1024, 2048, 4096, 8192, 16384), widths=(64, 128, 256, 512, 1024), width_length=1024),
    },
    experiment=complexity_experiment,
    verdict=COMPLEXITY_RULE,
    notes=("Times are of our implementations on the run's hardware; Table 1 counts multiply-adds. On a GPU the "
           "recurrent layer's time is dominated by its n sequential steps rather than by its d² work."),
))
