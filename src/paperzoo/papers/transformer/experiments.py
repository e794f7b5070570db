"""The Transformer paper's card, training recipe and claims on Multi30k.

- ``transformer.vs-rnn`` (Section 6.1, Table 2: better BLEU "at a fraction of the training cost"):
  a Transformer and an attention GRU encoder-decoder (RNNsearch) trained on the same Multi30k
  batches for the same number of steps, the training time of each recorded; validation BLEU
  against training time, and the comparison at equal training time.
- ``transformer.multi30k``: the Transformer's test BLEU on Multi30k test_2016_flickr, German to
  English and English to German, with Section 6.1's beam search and checkpoint averaging, beside
  the BLEU that published Multi30k tutorials report.

Both draw the attention of the trained Transformer for one test sentence (encoder self-attention
and decoder cross-attention of the last layer, as the paper's Figs. 3-5 draw single heads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import ClassVar

import torch

from ...claims import Claim, Outcome, RunContext, Target
from ...claims import rules as R
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.figures import heatmaps, lines
from ...claims.presets import Preset
from ...metrics.bleu import bootstrap_bleu
from ...optim import OptimizerConfig, ScheduleConfig
from ...train.checkpoint import MODEL_FILE, average_checkpoints, load_model_file, save_model
from ...train.loop import TrainConfig
from ...train.translation import AVERAGED, EOS_ID, TranslationData, load_corpus
from ..seq2seq.experiments import (
    RNN_RECIPE,
    RnnSize,
    System,
    add_scores,
    better_by,
    data_note,
    decoder_input,
    decoding_note,
    encode_one,
    pick_sentence,
    score_table,
    signature_note,
    test_system,
    token_labels,
    train_system,
    translation_arm,
)
from ..seq2seq.model import masked_cross_entropy
from .model import Transformer, label_smoothed_cross_entropy

PAPER = register_paper(PaperCard(
    key="transformer",
    title="Attention Is All You Need",
    authors="Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones, Aidan N. Gomez, "
            "Lukasz Kaiser, Illia Polosukhin",
    year=2017,
    arxiv="1706.03762",
    venue="NeurIPS 2017",
    problem=("Recurrent encoder-decoders compute one position after another, so training cannot be "
             "parallelised within a sentence, and a signal between distant words has to cross many steps."),
    idea=("Drop recurrence and convolution: encoder and decoder are stacks of multi-head scaled dot-product "
          "attention and position-wise feed-forward layers, each inside a residual connection with layer "
          "normalisation, with sinusoidal positional encodings for word order and a causal mask in the "
          "decoder. Any two positions are one attention step apart and all positions are computed at once. "
          "The big model reached 28.4 BLEU on WMT'14 English-German and 41.8 on English-French."),
))

#: Section 5.3: Adam with beta1 0.9, beta2 0.98, eps 1e-9, no weight decay, and Eq. 3's rate
#: lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5) with warmup_steps 4000: the
#: "noam" schedule of :mod:`paperzoo.optim.schedules`. lr 1 assumes that schedule's multiplier is
#: the whole of Eq. 3 (else lr = 512^-0.5 * 4000^-0.5 = 7.0e-4, its peak). 100k steps for base
#: (300k for big, Section 5.2). The paper wrote checkpoints every 10 minutes and averaged the last
#: 5 (Section 6.1); here every 1,000 steps, the last 5 kept.
PAPER_RECIPE = TrainConfig(
    steps=100_000,
    optimizer=OptimizerConfig(name="adam", lr=1.0, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.0),
    schedule=ScheduleConfig(name="noam", warmup_steps=4000),
    checkpoint_every=1000, keep_checkpoints=5, log_every=100, amp=True)

#: Section 5.4: label smoothing eps_ls = 0.1.
SMOOTHED = partial(label_smoothed_cross_entropy, epsilon=0.1)
#: Section 6.1: beam 4, length penalty alpha 0.6.
BEAM, ALPHA = 4, 0.6


@dataclass(frozen=True)
class TransformerSize:
    """The Transformer's size (``transformer_small``); Multi30k is too small for the base model."""

    d_model: int = 256
    num_layers: int = 3
    num_heads: int = 8
    d_ff: int = 512
    dropout: float = 0.1

    def kwargs(self) -> dict[str, float]:
        return {"d_model": self.d_model, "num_layers": self.num_layers, "num_heads": self.num_heads,
                "d_ff": self.d_ff, "dropout": self.dropout}


def noam(size: TransformerSize, warmup: int, steps: int, *, scale: float = 1.0, **kw) -> TrainConfig:
    """The paper's optimiser and Eq. 3 for a model of width ``size.d_model``, over `steps` steps;
    `scale` multiplies Eq. 3's rate (1: the paper's)."""
    return replace(PAPER_RECIPE, steps=steps, optimizer=replace(PAPER_RECIPE.optimizer, lr=scale),
                   schedule=ScheduleConfig(name="noam", warmup_steps=warmup, d_model=size.d_model), **kw)


def average_run(run_dir: Path, count: int) -> tuple[dict[str, torch.Tensor], int]:
    """Average the last `count` checkpoints of a run (Section 6.1; fewer if the run wrote fewer) into
    ``<run>/averaged/``, with the newest checkpoint's description, so that ``paperzoo translate <run>``
    uses the average. Returns the weights and how many checkpoints were averaged."""
    paths = sorted((run_dir / "checkpoints").glob("step-*/" + MODEL_FILE))[-count:]
    weights = average_checkpoints(paths)
    _, meta = load_model_file(paths[-1])
    folder = run_dir / AVERAGED
    folder.mkdir(parents=True, exist_ok=True)
    save_model(folder / MODEL_FILE, weights, {**meta, "averaged": [p.parent.name for p in paths]})
    return weights, len(paths)


def attention_figure(path: Path, system: System, *, src_lang: str, tgt_lang: str) -> Path:
    """Encoder self-attention and decoder cross-attention of the last layer for one test sentence,
    averaged over the heads, the decoder fed the model's own beam-search translation."""
    task, model = system.task, system.model
    assert isinstance(model, Transformer)
    text = pick_sentence(system.test, task.tokenizer)
    src = encode_one(task.tokenizer, text, task.device)  # (1, S)
    encoder_attn, cross_attn = model.encoder[-1].self_attn, model.decoder[-1].cross_attn
    with torch.no_grad():
        model.eval()
        hyp = model.generate(src, beam_size=BEAM, alpha=ALPHA)[0].tolist()
        tgt_in = decoder_input(hyp, task.device)
        for attn in (encoder_attn, cross_attn):
            attn.keep_weights = True  # the written-out Eq. 1 path, which keeps its weights
        try:
            model(src, tgt_in)
            enc = encoder_attn.last_weights[0].float().mean(0).cpu().numpy()  # (S, S), mean over heads
            cross = cross_attn.last_weights[0].float().mean(0).cpu().numpy()  # (T, S)
        finally:
            for attn in (encoder_attn, cross_attn):
                attn.keep_weights, attn.last_weights = False, None
    source = token_labels(task.tokenizer, src[0].tolist())
    output = token_labels(task.tokenizer, tgt_in[0, 1:].tolist() + [EOS_ID])
    n = len(model.encoder)
    panels = {f"encoder self-attention, layer {n}": (enc, source, source),
              f"decoder cross-attention, layer {n}": (cross, source, output)}
    return heatmaps(path, panels, xlabel=f"source ({src_lang})", ylabel=f"query ({src_lang} / {tgt_lang})",
                    title="Transformer attention, mean over heads (cf. Vaswani et al. Figs. 3-5)")


# --- transformer.vs-rnn ------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class VsRnnPreset(Preset):
    """Both models train on the same batches for ``train.steps`` steps; ``train`` is the
    Transformer's recipe, the RNN takes the same steps and evaluations with its own optimiser."""

    data: TranslationData
    train: TrainConfig
    transformer: TransformerSize
    rnn: RnnSize
    rnn_optimizer: OptimizerConfig = RNN_RECIPE.optimizer
    rnn_grad_clip: float = RNN_RECIPE.grad_clip
    test_sentences: int = 0
    reach_fraction: float = 0.5

    SMOKE: ClassVar[dict[str, str]] = {"test_sentences": "6"}


def _bleu_at(system: System, seconds: float) -> tuple[float, list[str]]:
    """Validation BLEU and translations at the last evaluation within `seconds` of training."""
    times, scores = system.curve()
    index = max((i for i, t in enumerate(times) if t <= seconds + 1e-9), default=None)
    if index is None:
        return 0.0, [""] * len(system.task.bleu_pairs)
    return scores[index], system.task.evaluations[index].hypotheses


def _reach(tf: System, rnn: System, fraction: float) -> tuple[float, float]:
    """The Transformer's training time to RNNsearch's final validation BLEU, over RNNsearch's
    training time, and its standard error: the crossing lies somewhere in the evaluation interval
    that ends at the first evaluation at or above that BLEU (uniform: width / sqrt(12)). Never
    reached: inf if the Transformer trained for at least ``fraction`` of RNNsearch's time (it surely
    did not reach it within that), else NaN (unknown)."""
    total, target = rnn.task.train_seconds, rnn.curve()[1][-1]
    times, scores = tf.curve()
    for i, (t, bleu) in enumerate(zip(times, scores)):
        if bleu >= target:
            return t / total, (t - (times[i - 1] if i else 0.0)) / math.sqrt(12) / total
    return (math.inf if tf.task.train_seconds >= fraction * total else math.nan), 0.0


def vs_rnn_experiment(ctx: RunContext) -> Outcome:
    p: VsRnnPreset = ctx.preset
    splits = load_corpus(p.data, ctx.data_root)
    out, per_seed, first = Outcome(data="Multi30k task 1 (multi30k/dataset)"), {}, []
    rnn_train = replace(p.train, optimizer=p.rnn_optimizer, schedule=ScheduleConfig(name="constant"),
                        grad_clip=p.rnn_grad_clip, checkpoint_every=0)
    arms = [translation_arm("transformer", "transformer_small", p.transformer.kwargs(), SMOOTHED, splits,
                            train=replace(p.train, checkpoint_every=0)),
            translation_arm("rnnsearch", "seq2seq_small", p.rnn.kwargs(attention=True), masked_cross_entropy, splits,
                            train=rnn_train)]
    reach_se = []
    for seed in ctx.seeds:
        tf, rnn = (train_system(ctx, arm, seed, data=p.data, train=p.train, beam=BEAM, alpha=ALPHA,
                                test_sentences=p.test_sentences) for arm in arms)
        budget = min(tf.task.train_seconds, rnn.task.train_seconds)
        (tf_bleu, tf_hyps), (rnn_bleu, rnn_hyps) = _bleu_at(tf, budget), _bleu_at(rnn, budget)
        noise = bootstrap_bleu([t for _, t in tf.task.bleu_pairs], tf_hyps, rnn_hyps)
        reach, se = _reach(tf, rnn, p.reach_fraction)
        reach_se.append(se)
        per_seed.setdefault("budget_minutes", []).append(budget / 60)
        per_seed.setdefault("val_bleu_at_budget/transformer", []).append(tf_bleu)
        per_seed.setdefault("val_bleu_at_budget/rnnsearch", []).append(rnn_bleu)
        per_seed.setdefault("se_at_budget", []).append(noise["se/diff"])
        per_seed.setdefault("reach_fraction", []).append(reach)
        per_seed.setdefault("time_ratio", []).append(tf.task.train_seconds / rnn.task.train_seconds)
        add_scores(out, [tf, rnn], per_seed)
        first = first or [tf, rnn]
    out.add_difference_se("val_bleu_at_budget", "transformer", "rnnsearch", per_seed["se_at_budget"])
    out.value_se["reach_fraction"] = reach_se
    tf, rnn = first
    out.tables.append(score_table(first))
    rnn_label = "RNNsearch (GRU + attention)"
    out.figures.append(lines(ctx.run_dir / "bleu_vs_time.png",
                             {"Transformer": _minutes(tf.curve()), rnn_label: _minutes(rnn.curve())},
                             xlabel="training time (minutes)", ylabel="validation BLEU",
                             styles={"Transformer": "o-", rnn_label: "s-"},
                             title=f"Multi30k {p.data.src}->{p.data.tgt}, same batches (seed {ctx.seeds[0]})"))
    out.figures.append(attention_figure(ctx.run_dir / "attention.png", tf, src_lang=p.data.src, tgt_lang=p.data.tgt))
    t, r = p.transformer, p.rnn
    out.notes += [
        data_note(tf.task, tf.test),
        f"Budget: the same {p.train.steps:,} steps on the same batches for both models, with the training time of "
        "each recorded (evaluations excluded); the models are compared at equal training time, the shorter of the "
        f"two runs ({out.values['budget_minutes']:.1f} min), each at its last evaluation within it. Noise: the paired "
        "bootstrap of the two validation translations' BLEU at that time; the time to RNNsearch's final validation "
        "BLEU is known to within one evaluation interval (its standard error: the interval / sqrt(12)).",
        f"Transformer: transformer_small (N={t.num_layers}, d_model={t.d_model}, h={t.num_heads}, d_ff={t.d_ff}, "
        f"dropout {t.dropout:g}), Adam (0.9, 0.98, 1e-9) with Eq. 3's rate times {p.train.optimizer.lr:g} and a "
        f"warm-up of {p.train.schedule.warmup_steps:,} steps, label smoothing 0.1. "
        "RNNsearch: seq2seq_small (bidirectional GRU with additive attention, "
        f"{r.embed_dim}-d embeddings, {r.hidden_size} units, dropout {r.dropout:g}), Adam at "
        f"{p.rnn_optimizer.lr:g}, gradients clipped to norm {p.rnn_grad_clip:g}, no label smoothing.",
        "Test translations of both with " + decoding_note(BEAM, ALPHA) + "; the Transformer without checkpoint "
        "averaging here (see transformer.multi30k).",
        signature_note(first),
        "The paper's comparison is in training FLOPs on WMT'14 (Table 2: the base Transformer at 3.3e18 against "
        "GNMT+RL at 2.3e19 for English-German, while translating better); here it is wall time on one machine.",
    ]
    return out


def _minutes(curve: tuple[list[float], list[float]]) -> tuple[list[float], list[float]]:
    return [s / 60 for s in curve[0]], curve[1]


#: Multi30k de->en with a shared 8,000-token BPE vocabulary, batches of up to 4,096 tokens.
MULTI30K = TranslationData(corpus="multi30k", src="de", tgt="en", vocab_size=8000, max_tokens=4096, max_len=100,
                           bleu_sentences=500)
QUICK_SIZE = TransformerSize(d_model=128, num_layers=2, num_heads=4, d_ff=256, dropout=0.1)
QUICK_DATA = replace(MULTI30K, vocab_size=4000, max_tokens=1200, max_len=30, bleu_sentences=100)
#: Eq. 3 with a 100-step warm-up peaks at 128^-0.5 * 100^-0.5 = 8.8e-3 for d_model 128; a quarter of it, 2.2e-3,
#: is used in the quick presets (a first quick run at the full rate had validation perplexity 100 after 300 steps).
QUICK_SCALE = 0.25

#: The training the comparison needs: a tenth of the full preset's 20,000 steps (about three epochs of
#: Multi30k at the quick preset's 1,200-token batches). RNNsearch's final validation BLEU is the
#: "quality" the Transformer must reach, which means nothing for a model still in its first epoch
#: (the quick preset's 300 steps are half of one).
VS_RNN_TRAINED = 2000
VS_RNN_WHY = ("a tenth of the full preset's 20,000 steps, so that RNNsearch's final BLEU is that of a model that "
              "translates")

VS_RNN = register_claim(Claim(
    id="transformer.vs-rnn",
    paper="transformer",
    title="The Transformer beats an attention RNN at a fraction of the training cost",
    statement=("Trained on the same data, the Transformer translates better than a recurrent encoder-decoder with "
               "attention, and reaches the recurrent model's quality in a fraction of its training time."),
    source="Section 6.1, Table 2",
    presets={
        "quick": VsRnnPreset(
            description=("2-layer Transformer (d_model 128) vs 128-unit GRU RNNsearch, the same 300 steps of up "
                         "to 1,200 tokens each on Multi30k de->en, 4,000-token vocabulary; BLEU on 200 test "
                         "sentences; 2.7 min on 2 idle CPU cores"),
            data=QUICK_DATA, train=noam(QUICK_SIZE, 100, 300, scale=QUICK_SCALE, eval_every=50, log_every=25,
                                        amp=False),
            transformer=QUICK_SIZE, rnn=RnnSize(embed_dim=128, hidden_size=128, dropout=0.1), test_sentences=200),
        "full": VsRnnPreset(
            description=("3-layer Transformer (d_model 256) vs 512-unit GRU RNNsearch, the sizes of the Multi30k "
                         "tutorials, the same 20,000 steps of up to 4,096 tokens on Multi30k de->en; BLEU on the "
                         "1,000 test sentences; one GPU"),
            data=MULTI30K, train=noam(TransformerSize(), 4000, 20000, eval_every=1000, checkpoint_every=0),
            transformer=TransformerSize(), rnn=RnnSize()),
    },
    experiment=vs_rnn_experiment,
    verdict=R.all_of(
        R.long_enough(VS_RNN_TRAINED, why=VS_RNN_WHY),
        better_by("transformer", than="rnnsearch", metric="val_bleu_at_budget"),
        R.at_most("reach_fraction", R.Of(lambda p: p.reach_fraction, "the preset's reach_fraction (50%)"),
                  words="the Transformer's time to RNNsearch's final validation BLEU over RNNsearch's training time")),
    targets=(
        Target("tok_bleu/transformer", 36.5, "a published PyTorch Multi30k tutorial (Transformer, de->en test2016, "
               "tokenised BLEU)", label="tokenised test BLEU, Transformer", unit=""),
        Target("tok_bleu/rnnsearch", 28.1, "a published PyTorch Multi30k tutorial (GRU with attention, de->en "
               "test2016, tokenised BLEU)", label="tokenised test BLEU, RNNsearch", unit=""),
    ),
    notes=("The tutorials' numbers are context, not judged: they tokenise with spaCy, we with sacreBLEU's 13a, and "
           "their models and training differ from ours."),
))


# --- transformer.multi30k ----------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Multi30kPreset(Preset):
    data: TranslationData
    train: TrainConfig
    transformer: TransformerSize
    directions: tuple[str, ...] = ("de-en", "en-de")
    average: int = 5            # checkpoints averaged (Section 6.1: the last 5)
    test_sentences: int = 0

    SMOKE: ClassVar[dict[str, str]] = {"test_sentences": "6"}


#: The tokenised BLEU a published PyTorch Multi30k tutorial reports for its Transformer, de->en test2016.
TUTORIAL_BLEU = 36.5
#: BLEU points below the target still counted as reaching it (non-inferiority margin): the spread of
#: the published Multi30k tutorials' own numbers, and our tokenisation differs from theirs (13a, not spaCy).
TOLERANCE = 2.0
#: The training the target needs: it is the BLEU of a fully trained model of the tutorials' size, so
#: only the full preset's recipe (20,000 steps, a 3-layer d_model 256 model) can refute or confirm it;
#: the quick and cpu presets (400 and 3,000 steps of a smaller model) exercise the recipe.
MULTI30K_TRAINED = 20000
MULTI30K_WHY = "the target is that of a fully trained model: the full preset's 20,000-step recipe"


def multi30k_experiment(ctx: RunContext) -> Outcome:
    p: Multi30kPreset = ctx.preset
    out, per_seed, shown = Outcome(data="Multi30k task 1 (multi30k/dataset)"), {}, []
    for direction in p.directions:
        src, tgt = direction.split("-")
        data = replace(p.data, src=src, tgt=tgt)
        arm = translation_arm(f"{direction}-last", "transformer_small", p.transformer.kwargs(), SMOOTHED,
                              load_corpus(data, ctx.data_root))
        for seed in ctx.seeds:
            last = train_system(ctx, arm, seed, data=data, train=p.train, beam=BEAM, alpha=ALPHA,
                                test_sentences=p.test_sentences)
            weights, averaged = average_run(last.result.run_dir, p.average)
            last.model.load_state_dict(weights)
            avg = test_system(direction, last.result, last.model, last.task, beam=BEAM, alpha=ALPHA,
                              test_sentences=p.test_sentences)
            last.label = f"{direction} (last checkpoint)"
            avg.label, avg.measured_ppl = f"{direction} (average of last {averaged})", False
            refs = [t for _, t in avg.test]
            noise = bootstrap_bleu(refs, avg.hypotheses)
            lowercased = bootstrap_bleu([r.lower() for r in refs], [h.lower() for h in avg.hypotheses])
            per_seed.setdefault(f"se/{direction}", []).append(noise["se/0"])
            out.value_se.setdefault(f"bleu/{direction}", []).append(noise["se/0"])
            out.value_se.setdefault(f"tok_bleu/{direction}", []).append(lowercased["se/0"])
            for s, key in ((avg, direction), (last, f"{direction}-last")):
                per_seed.setdefault(f"bleu/{key}", []).append(s.bleu)
                per_seed.setdefault(f"tok_bleu/{key}", []).append(s.scores["tokenized"])
            per_seed.setdefault(f"val_ppl/{direction}", []).append(last.result.final.get("val_ppl", math.nan))
            per_seed.setdefault(f"train_minutes/{direction}", []).append(last.task.train_seconds / 60)
            out.values["train_steps"] = min(out.values.get("train_steps", math.inf), last.result.steps)
            if seed == ctx.seeds[0]:
                shown += [avg, last]
                if len(shown) == 2:
                    out.figures.append(attention_figure(ctx.run_dir / "attention.png", avg, src_lang=src,
                                                        tgt_lang=tgt))
                out.notes.append(f"{direction}: " + data_note(avg.task, avg.test))
    for key, values in per_seed.items():
        out.add(key, values)
    out.tables.append(score_table(shown))
    out.tables.append("| translation | sacreBLEU signature |\n|---|---|\n" + "\n".join(
        f"| {s.label} | `{s.scores['sacrebleu'].signature}` |" for s in shown[::2]))
    out.figures.append(lines(ctx.run_dir / "val_bleu.png", {s.label.split()[0]: _steps(s) for s in shown[1::2]},
                             xlabel="training step", ylabel="validation BLEU",
                             title="Multi30k validation BLEU during training"))
    t = p.transformer
    out.notes += [
        f"transformer_small (N={t.num_layers}, d_model={t.d_model}, h={t.num_heads}, d_ff={t.d_ff}, dropout "
        f"{t.dropout:g}), {p.train.steps:,} steps of Adam (0.9, 0.98, 1e-9) with Eq. 3's rate times "
        f"{p.train.optimizer.lr:g} and a warm-up of {p.train.schedule.warmup_steps:,} steps, label smoothing 0.1; "
        "a checkpoint every "
        f"{p.train.checkpoint_every:,} steps and the last {p.average} averaged (Section 6.1); test translations with "
        + decoding_note(BEAM, ALPHA) + ".",
        signature_note(shown),
        f"Target: {TUTORIAL_BLEU:g} tokenised BLEU (de->en test2016) from a published PyTorch Multi30k tutorial, which "
        "lowercases and tokenises with spaCy and scores with torchtext's bleu_score; our tokenised form uses "
        "sacreBLEU's 13a tokens, so small differences in tokenisation remain. Noise: a bootstrap over the test "
        "sentences (1,000 resamples) of the lowercased translations, the standard error of the tokenised BLEU. "
        "en->de is reported, not judged (no published target).",
    ]
    return out


def _steps(system: System) -> tuple[list[int], list[float]]:
    return system.result.history("eval", "val_bleu")


MULTI30K_CLAIM = register_claim(Claim(
    id="transformer.multi30k",
    paper="transformer",
    title="A Transformer translates Multi30k well",
    statement=("A Transformer trained with the paper's recipe (Adam with warm-up, label smoothing, dropout), decoded "
               "with beam search and checkpoint averaging, translates Multi30k at the BLEU published "
               "implementations report (about 36.5 tokenised BLEU de->en on test2016)."),
    source="Sections 5-6.1 (recipe); published Multi30k tutorials (target)",
    presets={
        "quick": Multi30kPreset(
            description=("de->en only, a 2-layer Transformer (d_model 128), 400 steps of up to 1,200 tokens, "
                         "4,000-token vocabulary, the last 3 checkpoints (every 50 steps) averaged; BLEU on 300 "
                         "test sentences; 1.2 min on 2 idle CPU cores"),
            data=QUICK_DATA, train=noam(QUICK_SIZE, 100, 400, scale=QUICK_SCALE, eval_every=100, log_every=25,
                                        checkpoint_every=50, keep_checkpoints=3, amp=False),
            transformer=QUICK_SIZE, directions=("de-en",), average=3, test_sentences=300),
        "cpu": Multi30kPreset(
            description=("for a machine without a GPU: de->en, the quick preset's 2-layer Transformer (d_model 128) "
                         "for 3,000 steps of up to 1,200 tokens (about 5 epochs), the last 5 checkpoints (every 250 "
                         "steps) averaged; all 1,000 test sentences with beam 4; 7.0 min on 2 idle CPU cores"),
            data=replace(QUICK_DATA, bleu_sentences=200),
            train=noam(QUICK_SIZE, 100, 3000, scale=QUICK_SCALE, eval_every=500, log_every=100, checkpoint_every=250,
                       keep_checkpoints=5, amp=False),
            transformer=QUICK_SIZE, directions=("de-en",), average=5),
        "full": Multi30kPreset(
            description=("de->en and en->de, a 3-layer Transformer (d_model 256, 8 heads), 20,000 steps of up to "
                         "4,096 tokens, 8,000-token vocabulary, the last 5 checkpoints averaged; the 1,000 test "
                         "sentences; one GPU"),
            data=MULTI30K, train=noam(TransformerSize(), 4000, 20000, eval_every=2000, checkpoint_every=1000),
            transformer=TransformerSize()),
    },
    experiment=multi30k_experiment,
    verdict=R.all_of(R.long_enough(MULTI30K_TRAINED, why=MULTI30K_WHY),
                     R.at_least("tok_bleu/de-en", TUTORIAL_BLEU - TOLERANCE, unit=" BLEU",
                                words="tokenised test BLEU de->en (averaged checkpoints, beam search)")),
    targets=(Target("tok_bleu/de-en", TUTORIAL_BLEU, "a published PyTorch Multi30k tutorial (Transformer, de->en "
                    "test2016, tokenised BLEU)", tolerance=TOLERANCE, label="tokenised test BLEU de->en", unit=""),),
))
