"""The sequence-to-sequence papers' card and claims, as runnable experiments.

``seq2seq.tatoeba`` (Bahdanau et al. 2015, Table 1 and Fig. 3): on Tatoeba English-French, the
same encoder-decoder with and without additive attention, trained alike; BLEU of both on held-out
sentences, and the attention weights of one sentence drawn as the paper's Fig. 3.

The pieces shared with the Transformer's claims (train a translation model on a corpus, translate
the test sentences, score them) are here too: the Transformer paper builds on this one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn as nn

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.arms import Arm, run_arm
from ...claims.catalog import PaperCard, register_claim, register_paper
from ...claims.figures import bars, heatmaps
from ...claims.presets import Preset
from ...claims.stats import Estimate
from ...data.text import save_tokenizer, train_bpe
from ...metrics.bleu import bootstrap_bleu, score
from ...optim import OptimizerConfig, ScheduleConfig
from ...train.loop import TrainConfig, TrainResult
from ...train.translation import (
    BOS_ID,
    EOS_ID,
    Criterion,
    Pairs,
    TranslationData,
    TranslationTask,
    load_corpus,
    translate_texts,
)
from .model import masked_cross_entropy

PAPER = register_paper(PaperCard(
    key="seq2seq",
    title="Sequence to Sequence Learning with Neural Networks",
    authors="Ilya Sutskever, Oriol Vinyals, Quoc V. Le",
    year=2014,
    arxiv="1409.3215",
    venue="NeurIPS 2014",
    problem=("Deep networks need inputs and outputs of fixed size, but translation maps a sentence of any "
             "length to a sentence of another length, with words that do not line up one to one."),
    idea=("Read the source with a deep LSTM into its final state, and let a second LSTM, started from that "
          "state, write the target one token at a time until it emits end-of-sentence. Feeding the source "
          "in reverse puts the first words of source and target close together and makes optimisation "
          "much easier. On WMT'14 English-French an ensemble of five 4-layer LSTMs with 1000 cells reached 34.8 "
          "BLEU (one LSTM 30.6)."),
    notes=(
        "Companion paper: Bahdanau, Cho, Bengio (2015), Neural Machine Translation by Jointly Learning to "
        "Align and Translate, ICLR 2015, arXiv:1409.0473 (RNNsearch). A single fixed-size vector is a "
        "bottleneck for long sentences; a bidirectional GRU encoder keeps one annotation per source word and "
        "the decoder attends to them with an additive alignment model at every step.",
        "Cho et al. (2014), arXiv:1406.1078, introduced the GRU and the RNN encoder-decoder (RNNencdec), "
        "Bahdanau et al.'s baseline.",
    ),
))


@dataclass(frozen=True)
class RnnSize:
    """The recurrent model's size (``seq2seq_small``): embeddings, units, dropout."""

    embed_dim: int = 256
    hidden_size: int = 512
    dropout: float = 0.3

    def kwargs(self, *, attention: bool = True) -> dict[str, Any]:
        return {"embed_dim": self.embed_dim, "hidden_size": self.hidden_size, "dropout": self.dropout,
                "attention": attention, "bidirectional": True}


#: How the recurrent models train here: Adam at 1e-3 (the Multi30k tutorials' choice; Bahdanau et
#: al. used Adadelta, Sutskever et al. SGD at 0.7 halved every half epoch after the fifth), no
#: weight decay, gradients clipped to norm 1 (Sutskever: 5, on a sum over the batch).
RNN_RECIPE = TrainConfig(steps=20000, optimizer=OptimizerConfig(name="adam", lr=1e-3, weight_decay=0.0),
                         schedule=ScheduleConfig(name="constant"), grad_clip=1.0, eval_every=1000, log_every=100,
                         checkpoint_every=0, keep_checkpoints=1, amp=True)


# --- shared by the translation claims ----------------------------------------------------------

@dataclass
class System:
    """One trained translation model and its test translations."""

    label: str
    result: TrainResult
    model: nn.Module
    task: TranslationTask
    test: Pairs
    hypotheses: list[str]
    scores: dict[str, Any] = field(default_factory=dict)
    measured_ppl: bool = True   # False: the weights differ from those whose validation perplexity was logged

    @property
    def bleu(self) -> float:
        return self.scores["sacrebleu"].score

    def curve(self, key: str = "val_bleu") -> tuple[list[float], list[float]]:
        """``key`` at each evaluation against the training seconds before it."""
        rows = [r for r in self.result.records if r["split"] == "eval" and key in r]
        return [r["train_seconds"] for r in rows], [r[key] for r in rows]


def translation_task(criterion: Criterion, splits: dict[str, Pairs]):
    """A task factory for :func:`~paperzoo.claims.arms.run_arm`: a :class:`TranslationTask` on
    ``splits`` with the training loss ``criterion``, its joint BPE tokenizer learnt on the training
    split and saved in the arm's run folder (``tokenizer.json``, which ``paperzoo translate`` reads)."""

    def make(data: TranslationData, *, run_dir: Path, device: torch.device, seed: int, **_: Any) -> TranslationTask:
        tokenizer = train_bpe([s for pair in splits["train"] for s in pair], vocab_size=data.vocab_size)
        save_tokenizer(tokenizer, run_dir)
        return TranslationTask(data, splits, tokenizer, criterion, device=device, seed=seed)

    return make


def translation_arm(label: str, model: str, kwargs: dict[str, Any], criterion: Criterion, splits: dict[str, Pairs],
                    *, train: TrainConfig | None = None) -> Arm:
    """One translation model of a comparison: registry name ``model`` with ``kwargs`` (the task
    adds the vocabulary, :meth:`TranslationTask.model_kwargs`), trained on ``splits`` with
    ``criterion`` (and its own recipe ``train``, else the preset's)."""
    return Arm(label, model, kwargs, train=train, task=translation_task(criterion, splits),
               meta={"criterion": getattr(criterion, "__name__", repr(criterion))})


def train_system(ctx: RunContext, arm: Arm, seed: int, *, data: TranslationData, train: TrainConfig, beam: int,
                 alpha: float, test_sentences: int = 0) -> System:
    """Train ``arm`` for ``seed`` with the one arm runner (its run folder ``runs/<label>-seed<seed>``)
    and translate the first `test_sentences` test sentences (0: all) with beam `beam` (1: greedy)."""
    run = run_arm(ctx, arm, seed, data=data, train=train)
    return test_system(arm.label, run.result, run.model, run.task, beam=beam, alpha=alpha,
                       test_sentences=test_sentences)


def test_system(label: str, result: TrainResult, model: nn.Module, task: TranslationTask, *, beam: int,
                alpha: float, test_sentences: int = 0) -> System:
    """Translate the test sentences with `model` and score them (:func:`score`)."""
    test = task.test[:test_sentences] if test_sentences else task.test
    hyps = translate_texts(model, task.tokenizer, [s for s, _ in test], beam_size=beam, alpha=alpha,
                           max_extra=task.cfg.max_extra, device=task.device)
    return System(label, result, model, task, test, hyps, score(hyps, [t for _, t in test]))


def decoding_note(beam: int, alpha: float) -> str:
    return "greedy decoding" if beam == 1 else f"beam search (beam {beam}, length penalty alpha {alpha:g})"


def add_scores(out: Outcome, systems: Sequence[System], seed_values: dict[str, list[float]]) -> None:
    """Per system: sacreBLEU, tokenised BLEU, final validation perplexity and training time."""
    for s in systems:
        for key, value in (("bleu", s.bleu), ("tok_bleu", s.scores["tokenized"]),
                           ("val_ppl", s.result.final.get("val_ppl", math.nan)),
                           ("train_minutes", s.task.train_seconds / 60)):
            seed_values.setdefault(f"{key}/{s.label}", []).append(value)
    for key, values in seed_values.items():
        out.add(key, values)
    out.values["train_steps"] = min([out.values.get("train_steps", math.inf), *(s.result.steps for s in systems)])


def score_table(systems: Sequence[System]) -> str:
    rows = ["| model | parameters | test sacreBLEU | tokenised BLEU (lowercased) | val perplexity | training time |",
            "|---|---|---|---|---|---|"]
    for s in systems:
        params = sum(p.numel() for p in s.model.parameters())
        ppl = f"{s.result.final.get('val_ppl', math.nan):.2f}" if s.measured_ppl else "not measured"
        rows.append(f"| {s.label} | {params:,} | {s.bleu:.2f} | {s.scores['tokenized']:.2f} | {ppl} | "
                    f"{s.task.train_seconds / 60:.1f} min |")
    return "\n".join(rows)


def data_note(task: TranslationTask, test: Pairs, *, held_out: str = "test") -> str:
    c, n = task.cfg, task.sizes
    dropped = f" ({n['train_dropped']:,} longer than {c.max_len} tokens left out)" if n["train_dropped"] else ""
    return (f"{c.describe()}: {n['train']:,} training pairs{dropped}, {len(test):,} {held_out} sentences; one joint "
            f"BPE vocabulary of {task.tokenizer.get_vocab_size():,} tokens learnt on the training pairs; batches of at "
            f"most {c.max_tokens:,} source and target tokens; validation BLEU during training on "
            f"{len(task.bleu_pairs):,} validation sentences with {decoding_note(c.eval_beam, c.eval_alpha)}.")


def signature_note(systems: Sequence[System]) -> str:
    return (f"BLEU is sacreBLEU on detokenised output ({systems[0].scores['sacrebleu'].signature}); the tokenised "
            "form is lowercased 13a tokens scored as multi-bleu.perl and torchtext's bleu_score do.")


def token_labels(tokenizer, ids: Sequence[int]) -> list[str]:
    """Readable labels of token ids: BPE pieces without the word-start marker, ``</s>`` as is."""
    return [tokenizer.id_to_token(i).replace("\u2581", "_") if i != EOS_ID else "</s>" for i in ids]


def pick_sentence(test: Pairs, tokenizer, *, shortest: int = 6, longest: int = 14) -> str:
    """The first test source of `shortest` to `longest` tokens (else the first), for attention figures."""
    for src, _ in test:
        if shortest <= len(tokenizer.encode(src).ids) <= longest:
            return src
    return test[0][0]


def encode_one(tokenizer, text: str, device: torch.device) -> torch.Tensor:
    return torch.tensor([tokenizer.encode(text).ids + [EOS_ID]], device=device)  # (1, S)


def decoder_input(hypothesis_ids: Sequence[int], device: torch.device) -> torch.Tensor:
    """``<s>`` and the output tokens up to and without ``</s>``, as a (1, T) teacher-forcing input."""
    ids = list(hypothesis_ids)
    ids = ids[:ids.index(EOS_ID)] if EOS_ID in ids else ids
    return torch.tensor([[BOS_ID, *ids]], device=device)


# --- how BLEU differences are read ------------------------------------------------------------

#: The minimum effect of a BLEU difference: a change of less than 1 BLEU point is not read as one
#: system translating better than another, however small the paired bootstrap's interval (BLEU of a
#: few hundred sentences moves by fractions of a point with the decoding alone, and sub-point
#: differences are not a difference in translation quality that readers of these papers act on).
#: It is a floor on the size of the effect, not a noise estimate: the noise is the bootstrap's.
MIN_BLEU_DIFFERENCE = 1.0

Direction = Literal["higher", "lower", "same"]


def direction(est: Estimate, minimum: float = 0.0) -> Direction:
    """Whether a difference is above or below 0: its 95% interval excludes 0 and the difference is
    at least ``minimum`` in size (the minimum effect); "same" otherwise (also with no noise model)."""
    if not est.measured:
        return "same"
    lo, hi = est.interval()
    if lo > 0 and est.value >= minimum:
        return "higher"
    if hi < 0 and est.value <= -minimum:
        return "lower"
    return "same"


def better_by(a: Any, *, than: Any, metric: str = "bleu", minimum: float = MIN_BLEU_DIFFERENCE,
              unit: str = " BLEU") -> R.Rule:
    """``a``'s ``metric`` above ``than``'s beyond the noise (seeds paired; a paired bootstrap over
    the sentences) and by at least ``minimum``, the minimum effect."""
    return R.higher(a, than=than, metric=metric, unit=unit, minimum=minimum)


# --- seq2seq.tatoeba ---------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class TatoebaPreset(Preset):
    """Both models on ``data`` with the recipe ``train``; test BLEU of ``test_sentences`` (0: all)
    test sentences decoded with beam ``test_beam``."""

    data: TranslationData
    train: TrainConfig
    rnn: RnnSize = RnnSize()
    test_beam: int = 1
    test_sentences: int = 0

    SMOKE: ClassVar[dict[str, str]] = {"test_sentences": "6"}


LABELS = {False: "RNNencdec (no attention)", True: "RNNsearch (attention)"}
SHORT = {False: "no-attention", True: "attention"}

#: The training the comparison needs: a tenth of the full preset's 20,000 steps. The claim is about
#: trained translators, and the model without attention starts translating later (at the quick
#: preset's 500 steps it is at BLEU 0.5, with attention 12.3): a shorter run measures which model
#: starts sooner, not which translates better.
TRAINED = RNN_RECIPE.steps // 10
TRAINED_WHY = "a tenth of the full preset's 20,000 steps, so that both models translate rather than start to"


def tatoeba_experiment(ctx: RunContext) -> Outcome:
    p: TatoebaPreset = ctx.preset
    splits = load_corpus(p.data, ctx.data_root)
    arms = {att: translation_arm(SHORT[att], "seq2seq_small", p.rnn.kwargs(attention=att), masked_cross_entropy,
                                 splits) for att in (False, True)}
    out, per_seed, first = Outcome(data="Tatoeba English-French (manythings.org fra-eng, 2019-04-07)"), {}, []
    diffs, ses = [], []
    for seed in ctx.seeds:
        systems = [train_system(ctx, arms[att], seed, data=p.data, train=p.train, beam=p.test_beam, alpha=0.0,
                                test_sentences=p.test_sentences) for att in (False, True)]
        plain, attn = systems
        noise = bootstrap_bleu([t for _, t in attn.test], attn.hypotheses, plain.hypotheses)
        diffs.append(attn.bleu - plain.bleu)
        ses.append(noise["se/diff"])
        add_scores(out, systems, per_seed)
        first = first or systems
    out.add("bleu_gain", diffs)
    out.add("se_gain", ses)
    out.add_difference_se("bleu", "attention", "no-attention", ses)
    plain, attn = first
    for s in first:
        s.label = LABELS[s is attn]
    out.tables.append(score_table(first))
    out.figures.append(bars(ctx.run_dir / "bleu.png", {LABELS[False]: out.values["bleu/no-attention"],
                                                       LABELS[True]: out.values["bleu/attention"]},
                            {LABELS[False]: out.std["bleu/no-attention"], LABELS[True]: out.std["bleu/attention"]},
                            ylabel="test BLEU (sacreBLEU)", title="Tatoeba en->fr, with and without attention"))
    out.figures.append(alignment_figure(ctx, attn))
    out.notes += [
        data_note(attn.task, attn.test),
        f"Both models: seq2seq_small with a bidirectional GRU encoder of {p.rnn.hidden_size} units per direction, "
        f"{p.rnn.embed_dim}-d embeddings, dropout {p.rnn.dropout:g}, the same initialisation seed, batches and "
        f"{p.train.steps:,} Adam steps; the only difference is the attention (Bahdanau's RNNencdec also had a "
        "unidirectional encoder). Test translations with " + decoding_note(p.test_beam, 0.0) + ".",
        signature_note(first),
        "Noise: paired bootstrap over the test sentences (1,000 resamples): the standard error of the BLEU "
        "difference, per seed; seeds are paired (both models share each seed's initialisation stream and batches).",
        "The paper's models (1000 units, WMT'14 English-French, 348M words, days of training) reached 26.75 "
        "(RNNsearch-50) and 17.82 (RNNencdec-50) BLEU on newstest2014; Tatoeba's short everyday sentences are far "
        "easier, so only the ordering is comparable.",
    ]
    return out


def alignment_figure(ctx: RunContext, system: System):
    """Fig. 3: the attention weights alpha_ij of one test sentence, a target token per row."""
    task, model = system.task, system.model
    text = pick_sentence(system.test, task.tokenizer)
    src = encode_one(task.tokenizer, text, task.device)
    with torch.no_grad():
        model.eval()
        hyp = model.generate(src)[0].tolist()  # greedy
        tgt_in = decoder_input(hyp, task.device)
        _, alpha = model(src, tgt_in, return_attention=True)  # (1, T, S)
    out_ids = tgt_in[0, 1:].tolist() + [EOS_ID]
    panels = {f"{LABELS[True]}": (alpha[0].float().cpu().numpy(), token_labels(task.tokenizer, src[0].tolist()),
                                  token_labels(task.tokenizer, out_ids))}
    return heatmaps(ctx.run_dir / "alignment.png", panels, xlabel="source (English)", ylabel="output (French)",
                    title="Attention weights (cf. Bahdanau et al. Fig. 3)")


TATOEBA_DATA = TranslationData(corpus="tatoeba", src="en", tgt="fr", vocab_size=8000, max_tokens=4096, max_len=40,
                               holdout=1000, bleu_sentences=500)
#: The quick preset trains at Adam 3e-3: at the recipe's 1e-3, 400 steps left both models near BLEU 1 (1.35 and 0.99,
#: 174 s on the idle 2-core CPU); at 3e-3, 500 steps reach 12.3 with attention in 210 s.
QUICK_TATOEBA = TatoebaPreset(
    description=("20,000 training pairs, a 4,000-token vocabulary, 128-unit GRUs, 500 Adam steps at 3e-3 of up to "
                 "1,000 tokens; BLEU on 300 test sentences, greedy; 2.9 min on 2 idle CPU cores"),
    data=replace(TATOEBA_DATA, vocab_size=4000, max_tokens=1000, train_subset=20000, bleu_sentences=100, max_len=30),
    train=replace(RNN_RECIPE, steps=500, eval_every=125, log_every=25, amp=False,
                  optimizer=replace(RNN_RECIPE.optimizer, lr=3e-3)),
    rnn=RnnSize(embed_dim=128, hidden_size=128, dropout=0.1), test_sentences=300)

TATOEBA = register_claim(Claim(
    id="seq2seq.tatoeba",
    paper="seq2seq",
    title="Attention improves an RNN encoder-decoder",
    statement=("An encoder-decoder that attends over per-word annotations of the source (RNNsearch) translates "
               "better than the same encoder-decoder that passes the source through its final state only "
               "(RNNencdec), and its attention weights align target words with the source words they translate."),
    source="Bahdanau et al. 2015, Table 1, Figs. 2-3",
    presets={
        "quick": QUICK_TATOEBA,
        "full": TatoebaPreset(
            description=("all Tatoeba training pairs up to 40 tokens, an 8,000-token vocabulary, 512-unit GRUs, "
                         "20,000 Adam steps of up to 4,096 tokens; BLEU on 1,000 test sentences, beam 4; one GPU"),
            data=TATOEBA_DATA, train=RNN_RECIPE, rnn=RnnSize(), test_beam=4, seeds=2),
    },
    experiment=tatoeba_experiment,
    verdict=R.all_of(R.long_enough(TRAINED, why=TRAINED_WHY), better_by("attention", than="no-attention")),
    notes=("Tatoeba has no official split: its distinct English sentences are shuffled with a fixed seed and 1,000 "
           "each are held out for validation and test, so that no test sentence is trained on. The attention figure "
           "is reported, not judged."),
))
