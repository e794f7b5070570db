"""Table 3's variations on the base Transformer, rows (A), (B), (D) and (E), as four claims on Multi30k.

Section 6.2: "we varied our base model in different ways, measuring the change in performance on
English-to-German translation on the development set, newstest2013. We used beam search as
described in the previous section, but no checkpoint averaging."

- ``transformer.heads`` (rows A): the number of heads h with d_k = d_v = d_model / h, so that the
  computation stays constant: "single-head attention is 0.9 BLEU worse than the best setting,
  quality also drops off with too many heads".
- ``transformer.key-size`` (rows B): "reducing the attention key size d_k hurts model quality"
  (d_v and h unchanged).
- ``transformer.regularisation`` (rows D): "dropout is very helpful in avoiding over-fitting"; label
  smoothing "hurts perplexity, as the model learns to be more unsure, but improves accuracy and
  BLEU score" (Section 5.4).
- ``transformer.positional`` (row E): learned positional embeddings instead of the sinusoids: "the
  two versions produced nearly identical results" (Section 3.5).

Each claim trains the base model and its rows alike (same seed, batches and steps), then measures
what Table 3 lists: the development-set perplexity per BPE token (cross-entropy without label
smoothing) and the BLEU of the development set translated after training, without checkpoint
averaging. Our development set is Multi30k's validation split (1,014 sentences, German to
English), the base is ``transformer_small`` with the paper's h = 8, and the paper's rows are
applied as ratios where they are sizes (d_k = base d_k / 4 for the paper's d_k = 16 against 64).
The paper's numbers enter as changes against its base (4.92 PPL, 25.8 BLEU), the only form that
carries over between WMT'14 and Multi30k.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

from ...claims import Claim, Outcome, RunContext, Target, Verdict
from ...claims.catalog import register_claim
from ...claims.figures import bars, lines
from ...metrics.bleu import bootstrap_bleu
from ...train.loop import TrainConfig
from ...train.translation import TranslationData, load_corpus
from ..seq2seq.experiments import MIN_BLEU_DIFFERENCE, SMOKE, System, data_note, decoding_note, train_system
from .experiments import ALPHA, BEAM, MULTI30K, QUICK_DATA, QUICK_SCALE, TransformerSize, noam
from .model import label_smoothed_cross_entropy

#: The paper's base model on newstest2013 (Table 3, first row).
BASE_PPL, BASE_BLEU = 4.92, 25.8
#: Section 5.4's label smoothing of the base model.
BASE_SMOOTHING = 0.1


@dataclass(frozen=True)
class Row:
    """A row of Table 3: what differs from the base model (None: as the base) and the paper's
    development-set perplexity and BLEU for it."""

    name: str
    paper_ppl: float
    paper_bleu: float
    heads: int | None = None              # (A) h, with d_k = d_v = d_model / h
    key_fraction: float | None = None     # (B) d_k = base d_k * key_fraction; d_v as the base
    dropout: float | None = None          # (D) P_drop
    label_smoothing: float | None = None  # (D) eps_ls
    positional: Literal["sinusoidal", "learned"] | None = None  # (E)

    def model_kwargs(self, base: TransformerSize) -> dict[str, Any]:
        kw: dict[str, Any] = base.kwargs()
        if self.heads is not None:
            kw["num_heads"] = self.heads  # d_k = d_v = d_model / h: computation constant (Section 3.2.2)
        if self.key_fraction is not None:
            d_k = base.d_model // base.num_heads
            kw.update(d_k=max(1, round(d_k * self.key_fraction)), d_v=d_k)
        if self.dropout is not None:
            kw["dropout"] = self.dropout
        if self.positional is not None:
            kw["positional"] = self.positional
        return kw

    @property
    def smoothing(self) -> float:
        return BASE_SMOOTHING if self.label_smoothing is None else self.label_smoothing

    def describe(self, base: TransformerSize) -> str:
        """What the row changes, in Table 3's columns, for the base `base`."""
        kw = self.model_kwargs(base)
        parts = []
        if self.heads is not None:
            parts.append(f"h={self.heads}, d_k=d_v={base.d_model // self.heads}")
        if self.key_fraction is not None:
            parts.append(f"d_k={kw['d_k']} (d_v={kw['d_v']})")
        if self.dropout is not None:
            parts.append(f"P_drop={self.dropout:g}")
        if self.label_smoothing is not None:
            parts.append(f"eps_ls={self.label_smoothing:g}")
        if self.positional is not None:
            parts.append(f"{self.positional} positional embeddings")
        return ", ".join(parts) or (f"h={base.num_heads}, d_k=d_v={base.d_model // base.num_heads}, "
                                    f"P_drop={base.dropout:g}, eps_ls={BASE_SMOOTHING:g}, sinusoids")

    @property
    def paper_ppl_change(self) -> float:
        """The paper's perplexity change against its base, in %."""
        return 100 * (self.paper_ppl / BASE_PPL - 1)


BASE = Row("base", BASE_PPL, BASE_BLEU)
#: Table 3, rows (A), (B), (D), (E) (newstest2013; the paper's base has h=8, d_k=d_v=64, P_drop=0.1, eps_ls=0.1).
ROWS: dict[str, Row] = {r.name: r for r in (
    Row("h1", 5.29, 24.9, heads=1), Row("h4", 5.00, 25.5, heads=4),
    Row("h16", 4.91, 25.8, heads=16), Row("h32", 5.01, 25.4, heads=32),
    Row("dk-quarter", 5.16, 25.1, key_fraction=0.25), Row("dk-half", 5.01, 25.4, key_fraction=0.5),
    Row("dropout0", 5.77, 24.6, dropout=0.0), Row("dropout0.2", 4.95, 25.5, dropout=0.2),
    Row("smoothing0", 4.67, 25.3, label_smoothing=0.0), Row("smoothing0.2", 5.47, 25.7, label_smoothing=0.2),
    Row("learned", 4.92, 25.7, positional="learned"),
)}


@dataclass(frozen=True)
class Table3Preset:
    """The base model and the rows of :data:`ROWS` trained beside it, each for ``train.steps`` steps
    on the same batches; the development set translated after training with beam ``beam``."""

    description: str
    data: TranslationData
    train: TrainConfig
    base: TransformerSize
    rows: tuple[str, ...]
    beam: int = BEAM
    seeds: int = 1


#: The seed-to-seed standard deviation of the quick base's development perplexity, in % of its mean:
#: 60.23, 59.23 and 61.17 for seeds 0-2 (``paperzoo reproduce transformer.positional --preset quick
#: --seeds 3``, 2-core CPU; results/transformer.positional/quick-20261127-165543). A perplexity change
#: over n seeds counts beyond 2 sqrt(2) of it / sqrt(n), twice the standard error of a difference of
#: two independent runs (4.5% for one seed), or beyond 2 standard errors of the measured per-seed
#: changes if larger.
PPL_SEED_STD = 1.6


def ppl_noise(changes: Sequence[float]) -> float:
    """The perplexity change (in %) that counts, given the per-seed changes."""
    n = len(changes)
    floor = 2 * math.sqrt(2) * PPL_SEED_STD / math.sqrt(n)
    return max(floor, 2 * statistics.stdev(changes) / math.sqrt(n)) if n > 1 else floor


def table3_experiment(ctx: RunContext) -> Outcome:
    p: Table3Preset = ctx.preset
    splits = load_corpus(p.data, ctx.data_root)
    dev = {**splits, "test": splits["val"][:p.data.val_subset or None]}  # Table 3 measures on the development set
    rows = [BASE, *(ROWS[name] for name in p.rows)]
    out, per_seed, first = Outcome(data="Multi30k task 1 (multi30k/dataset)"), {}, {}
    for seed in ctx.seeds:
        systems = {row.name: train_system(ctx, row.name, "transformer_small", row.model_kwargs(p.base), p.data,
                                          p.train, partial(label_smoothed_cross_entropy, epsilon=row.smoothing),
                                          dev, seed=seed, beam=p.beam, alpha=ALPHA) for row in rows}
        base = systems[BASE.name]
        for row in rows:
            s = systems[row.name]
            values = {"ppl": _ppl(s), "bleu": s.bleu, "params": sum(q.numel() for q in s.model.parameters()),
                      "train_minutes": s.task.train_seconds / 60}
            if row is not BASE:
                values["ppl_change"] = 100 * (_ppl(s) / _ppl(base) - 1)
                values["bleu_change"] = s.bleu - base.bleu
                refs = [t for _, t in s.test]
                values["se_bleu_change"] = bootstrap_bleu(refs, s.hypotheses, base.hypotheses)["se/diff"]
            for key, value in values.items():
                per_seed.setdefault(f"{key}/{row.name}", []).append(value)
        first = first or systems
    for key, values in per_seed.items():
        out.add(key, values)
    out.tables.append(_table(out, rows, p.base))
    changed = rows[1:]
    labels = {r.name: r.describe(p.base) for r in changed}
    out.figures.append(bars(ctx.run_dir / "perplexity_change.png",
                            {labels[r.name]: out.values[f"ppl_change/{r.name}"] for r in changed},
                            {labels[r.name]: out.std[f"ppl_change/{r.name}"] for r in changed},
                            reference={labels[r.name]: r.paper_ppl_change for r in changed},
                            ylabel="dev perplexity vs base (%)", title="Table 3: change against the base model"))
    curves = {BASE.name if r is BASE else labels[r.name]: first[r.name].result.history("eval", "val_ppl") for r in rows}
    out.figures.append(lines(ctx.run_dir / "perplexity_curves.png", curves, xlabel="training step",
                             ylabel="validation perplexity", logy=True,
                             title=f"Multi30k {p.data.src}->{p.data.tgt}, validation (seed {ctx.seeds[0]})"))
    b = p.base
    any_system = first[BASE.name]
    out.notes += [
        data_note(any_system.task, any_system.test, held_out="development"),
        f"Base: transformer_small (N={b.num_layers}, d_model={b.d_model}, h={b.num_heads}, d_ff={b.d_ff}, P_drop "
        f"{b.dropout:g}), label smoothing {BASE_SMOOTHING:g}, {p.train.steps:,} steps of Adam (0.9, 0.98, 1e-9) with "
        f"Eq. 3's rate times {p.train.optimizer.lr:g} and a warm-up of {p.train.schedule.warmup_steps:,} steps. Every "
        "row trains with the same seed, initialisation stream and batches and differs from the base only as listed.",
        "Measured as Table 3 is: perplexity per BPE token on the development set (Multi30k's validation split) "
        "without label smoothing, and sacreBLEU of the whole development set translated after training with "
        f"{decoding_note(p.beam, ALPHA)}, no checkpoint averaging. The paper's columns are changes against its own "
        f"base ({BASE_PPL:g} PPL, {BASE_BLEU:g} BLEU on newstest2013).",
        "Noise: a perplexity change counts beyond max(2 seed standard errors, 2 sqrt(2) x "
        f"{PPL_SEED_STD:g}% / sqrt(seeds), {ppl_noise([0.0] * len(ctx.seeds)):.1f}% here); a BLEU change beyond "
        f"max(2 SE, {MIN_BLEU_DIFFERENCE:g} BLEU), SE the paired-bootstrap standard error of the difference over the "
        "development sentences.",
    ]
    return out


def _ppl(system: System) -> float:
    return system.result.final.get("val_ppl", math.nan)


def _table(out: Outcome, rows: Sequence[Row], base: TransformerSize) -> str:
    md = ["| row | what changes | parameters | dev PPL | dev BLEU | PPL change | BLEU change (2 SE) | paper: PPL "
             "change | paper: BLEU change |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n = r.name
        common = (f"| {n} | {r.describe(base)} | {out.values[f'params/{n}']:,.0f} | {out.fmt(f'ppl/{n}')} | "
                  f"{out.fmt(f'bleu/{n}')} |")
        if r is BASE:
            md.append(common + f" — | — | {BASE_PPL:g} PPL | {BASE_BLEU:g} BLEU |")
        else:
            md.append(common + f" {out.values[f'ppl_change/{n}']:+.1f}% | {out.values[f'bleu_change/{n}']:+.2f} "
                         f"({2 * out.values[f'se_bleu_change/{n}']:.2f}) | {r.paper_ppl_change:+.1f}% | "
                         f"{r.paper_bleu - BASE_BLEU:+.1f} |")
    return "\n".join(md)


# --- reading the outcome -------------------------------------------------------------------------

Direction = Literal["higher", "lower", "same"]


def _direction(change: float, noise: float) -> Direction:
    return "higher" if change > noise else "lower" if change < -noise else "same"


def ppl_direction(out: Outcome, row: str) -> Direction:
    """Whether `row`'s development perplexity is above or below the base's beyond the noise."""
    return _direction(out.values[f"ppl_change/{row}"], ppl_noise(out.per_seed[f"ppl_change/{row}"]))


def bleu_direction(out: Outcome, row: str) -> Direction:
    """Whether `row`'s development BLEU is above or below the base's beyond the noise."""
    noise = max(2 * out.values[f"se_bleu_change/{row}"], MIN_BLEU_DIFFERENCE)
    return _direction(out.values[f"bleu_change/{row}"], noise)


def quality(out: Outcome, row: str) -> Literal["worse", "better", "same", "mixed"]:
    """`row` against the base: worse if its perplexity is higher or its BLEU lower beyond the noise
    and neither is better beyond it; better the other way round; mixed if one is better and the
    other worse; same if neither differs beyond the noise."""
    ppl, bleu = ppl_direction(out, row), bleu_direction(out, row)
    worse, better = ppl == "higher" or bleu == "lower", ppl == "lower" or bleu == "higher"
    return "mixed" if worse and better else "worse" if worse else "better" if better else "same"


def _listing(out: Outcome, rows: Sequence[str]) -> str:
    return "; ".join(f"{r}: perplexity {out.values[f'ppl_change/{r}']:+.1f}% and BLEU "
                     f"{out.values[f'bleu_change/{r}']:+.2f} against the base ({quality(out, r)})" for r in rows)


def heads_verdict(out: Outcome, p: Table3Preset) -> Verdict:
    many = max((r for r in p.rows if (ROWS[r].heads or 0) > p.base.num_heads), key=lambda r: ROWS[r].heads)
    listing = _listing(out, [r for r in p.rows if ROWS[r].heads is not None])
    one, lots = quality(out, "h1"), quality(out, many)
    if one == "worse" and lots == "worse":
        return Verdict("holds", f"{listing}: one head and {ROWS[many].heads} heads are both worse than "
                                f"{p.base.num_heads}.")
    if "better" in (one, lots):
        return Verdict("does not hold", f"{listing}: a changed number of heads is better than the base.")
    return Verdict("inconclusive", f"{listing}: not both worse beyond the noise.")


def key_size_verdict(out: Outcome, p: Table3Preset) -> Verdict:
    reduced = [r for r in p.rows if ROWS[r].key_fraction is not None]
    smallest = min(reduced, key=lambda r: ROWS[r].key_fraction)
    listing = _listing(out, reduced)
    if any(quality(out, r) == "better" for r in reduced):
        return Verdict("does not hold", f"{listing}: a smaller d_k is better than the base.")
    if quality(out, smallest) == "worse":
        return Verdict("holds", f"{listing}: the smallest d_k is worse than the base, and none is better.")
    return Verdict("inconclusive", f"{listing}: the smallest d_k is not worse beyond the noise.")


def regularisation_verdict(out: Outcome, p: Table3Preset) -> Verdict:
    dropout, smoothing = quality(out, "dropout0"), (ppl_direction(out, "smoothing0"), bleu_direction(out, "smoothing0"))
    listing = _listing(out, ["dropout0", "smoothing0"])
    # without label smoothing: lower perplexity (smoothing "hurts perplexity") and lower BLEU (it "improves BLEU")
    smoothing_holds, smoothing_fails = smoothing == ("lower", "lower"), "higher" in smoothing
    if dropout == "worse" and smoothing_holds:
        return Verdict("holds", f"{listing}: without dropout the model is worse; without label smoothing its "
                                "perplexity is lower and its BLEU lower.")
    if dropout == "better" or smoothing_fails:
        return Verdict("does not hold", f"{listing}: " + ("without dropout the model is better" if dropout == "better"
                                                         else "without label smoothing the perplexity or BLEU is "
                                                              "higher") + ".")
    return Verdict("inconclusive", f"{listing}: the effects are not both beyond the noise in the paper's direction.")


def positional_verdict(out: Outcome, p: Table3Preset) -> Verdict:
    listing = _listing(out, ["learned"])
    if quality(out, "learned") == "same":
        return Verdict("holds", f"{listing}: nearly the same, within the noise of both.")
    return Verdict("does not hold", f"{listing}: they differ beyond the noise.")


def _targets(rows: Sequence[str], source: str) -> tuple[Target, ...]:
    out = []
    for name in rows:
        r = ROWS[name]
        out += [Target(f"ppl_change/{name}", round(r.paper_ppl_change, 2),
                       f"{source}: {r.paper_ppl:.2f} vs {BASE_PPL:.2f}", label=f"dev perplexity change, {name}"),
                Target(f"bleu_change/{name}", round(r.paper_bleu - BASE_BLEU, 2),
                       f"{source}: {r.paper_bleu:g} vs {BASE_BLEU:g}", label=f"dev BLEU change, {name}", unit="")]
    return tuple(out)


# --- presets -----------------------------------------------------------------------------------

#: The quick presets' base: transformer_small with d_model 128 and the paper's 8 heads (d_k = 16).
QUICK_BASE = TransformerSize(d_model=128, num_layers=2, num_heads=8, d_ff=256, dropout=0.1)
QUICK_TRAIN = noam(QUICK_BASE, 100, 300, scale=QUICK_SCALE, eval_every=100, log_every=25, checkpoint_every=0,
                   amp=False)
QUICK_DEV = replace(QUICK_DATA, bleu_sentences=100)
#: The full presets: the 3-layer d_model 256 model of the other Multi30k claims, 10,000 steps, 2 seeds.
FULL_BASE = TransformerSize()
FULL_TRAIN = noam(FULL_BASE, 4000, 10000, eval_every=1000, checkpoint_every=0)
FULL_DEV = replace(MULTI30K, bleu_sentences=200)


def _quick(description: str, rows: tuple[str, ...], **kw: Any) -> Table3Preset:
    return Table3Preset(**{"description": description, "data": QUICK_DEV, "train": QUICK_TRAIN, "base": QUICK_BASE,
                           "rows": rows, "beam": 1, **kw})


def _cpu(rows: tuple[str, ...], minutes: str) -> Table3Preset:
    """The quick models for 3,000 steps (about 5 epochs): whether the quick preset's effects last."""
    return _quick("for a machine without a GPU, whether the quick preset's effects last with training: the quick "
                  f"models for 3,000 steps (about 5 epochs) on all Multi30k de->en training pairs; {minutes}", rows,
                  train=replace(QUICK_TRAIN, steps=3000, eval_every=500, log_every=100))


def _full(rows: tuple[str, ...], **kw: Any) -> Table3Preset:
    return Table3Preset(description=("the base (N=3, d_model 256, h=8) and rows " + ", ".join(rows) + ": 10,000 "
                                     "steps of up to 4,096 tokens on Multi30k de->en, 8,000-token vocabulary, 2 seeds; "
                                     "the development set translated with beam 4; one GPU"),
                        data=FULL_DEV, train=FULL_TRAIN, base=FULL_BASE, rows=rows, seeds=2, **kw)


#: The translation claims' smoke settings; the development set is translated whole (no test_sentences).
TABLE3_SMOKE = {k: v for k, v in SMOKE.items() if k != "test_sentences"}


def _table3_claim(claim_id: str, title: str, statement: str, row: str, presets: dict[str, Table3Preset],
                  verdict, rule: str, **kw: Any) -> Claim:
    return register_claim(Claim(id=claim_id, paper="transformer", title=title, statement=statement,
                                source=f"Section 6.2, Table 3 rows ({row})", presets=presets,
                                experiment=table3_experiment, smoke=TABLE3_SMOKE, verdict=verdict, rule=rule,
                                targets=_targets(presets["full"].rows, f"Table 3 ({row})"), **kw))


_MEASURE = ("Each row and the base train alike; perplexity (dev, per token, unsmoothed) and BLEU (dev, after "
            "training) are compared with the base's. A row is worse if its perplexity is higher by more than max(2 "
            f"seed SE, 2 sqrt(2) x {PPL_SEED_STD:g}% / sqrt(seeds); {PPL_SEED_STD:g}% is the quick base's measured "
            f"seed standard deviation) or its BLEU lower by more than max(2 SE, {MIN_BLEU_DIFFERENCE:g}) (SE: "
            "paired bootstrap over the sentences), and neither is better by as much; better the other way round; "
            "the same if neither differs by as much. ")

HEADS = _table3_claim(
    "transformer.heads", "One attention head is worse than eight, and so are too many",
    ("With the computation held constant (d_k = d_v = d_model / h), single-head attention translates worse than the "
     "base's 8 heads, and quality also drops off with too many heads."),
    "A",
    {"quick": _quick("h = 1, 8 (base) and 32 heads at d_model 128, 300 steps of up to 1,200 tokens on Multi30k "
                     "de->en, 4,000-token vocabulary; the 1,014 development sentences translated greedily; 3.0 min on "
                     "2 idle CPU cores", ("h1", "h32")),
     "cpu": _cpu(("h1", "h32"), "34 min on 1 CPU thread, the other core busy"),
     "full": _full(("h1", "h4", "h16", "h32"))},
    heads_verdict,
    _MEASURE + "Holds if h=1 and the most heads trained are both worse than the base; does not hold if either is "
    "better; inconclusive otherwise.")

KEY_SIZE = _table3_claim(
    "transformer.key-size", "Reducing the attention key size d_k hurts",
    ("Reducing the attention key size d_k (h and d_v unchanged) hurts model quality, suggesting that determining "
     "compatibility is not easy."),
    "B",
    {"quick": _quick("d_k = 16 (base), 8 and 4 with d_v = 16 and h = 8 at d_model 128, 300 steps of up to 1,200 "
                     "tokens on Multi30k de->en; the 1,014 development sentences translated greedily; 2.5 min on 2 "
                     "idle CPU cores", ("dk-half", "dk-quarter")),
     "full": _full(("dk-half", "dk-quarter"))},
    key_size_verdict,
    _MEASURE + "Holds if the smallest d_k is worse than the base and no smaller d_k is better; does not hold if one "
    "is better; inconclusive otherwise.",
    notes="The paper's rows (B) are d_k = 16 and 32 against the base's 64: a quarter and a half, as here.")

REGULARISATION = _table3_claim(
    "transformer.regularisation", "Dropout helps; label smoothing raises perplexity yet improves BLEU",
    ("Dropout is very helpful in avoiding over-fitting; label smoothing hurts perplexity, as the model learns to be "
     "more unsure, but improves accuracy and BLEU."),
    "D",
    {"quick": _quick("the base, no dropout, and no label smoothing at d_model 128, 400 steps of up to 1,200 tokens on "
                     "3,000 Multi30k de->en training pairs (about 4 epochs, so that over-fitting shows in minutes); "
                     "the 1,014 development sentences translated greedily; 3.3 min on 2 idle CPU cores",
                     ("dropout0", "smoothing0"),
                     data=replace(QUICK_DEV, train_subset=3000), train=replace(QUICK_TRAIN, steps=400)),
     "cpu": _cpu(("dropout0", "smoothing0"), "30 min on 1 CPU thread, the other core busy"),
     "full": _full(("dropout0", "dropout0.2", "smoothing0", "smoothing0.2"))},
    regularisation_verdict,
    _MEASURE + "Holds if the model without dropout is worse than the base, and the model without label smoothing "
    "has a lower perplexity and a lower BLEU than the base (both beyond the noise); does not hold if the model "
    "without dropout is better, or the one without label smoothing has a higher perplexity or a higher BLEU; "
    "inconclusive otherwise.")

POSITIONAL = _table3_claim(
    "transformer.positional", "Learned positional embeddings do as well as the sinusoids",
    ("Learned positional embeddings instead of the sinusoidal encodings produce nearly identical results."),
    "E",
    {"quick": _quick("sinusoids (base) and learned positional embeddings at d_model 128, 300 steps of up to 1,200 "
                     "tokens on Multi30k de->en; the 1,014 development sentences translated greedily; 1.9 min on 2 "
                     "idle CPU cores", ("learned",)),
     "cpu": _cpu(("learned",), "14.5 min on 2 idle CPU cores"),
     "full": _full(("learned",))},
    positional_verdict,
    _MEASURE + "Holds if the learned embeddings are the same as the sinusoids by that rule; does not hold otherwise.",
    notes="Section 3.5 prefers the sinusoids because they may extrapolate to longer sequences than seen in training; "
          "that is not measured here.")
