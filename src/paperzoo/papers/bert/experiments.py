"""BERT's claims, on one shared pipeline: pre-train a small BERT on the shared corpora, then fine-tune.

:func:`pretrained_bert` is the one pre-training step every BERT claim calls: WordPiece trained on the
pre-training corpus (:func:`paperzoo.data.corpora.pretraining_corpus`: NLTK's brown, webtext,
state_union, inaugural, abc and WikiText-2 valid+test, 3.05M words), google's instances
(:mod:`.pretraining_data`, cached under :func:`paperzoo.data.root.cache_dir`), masked LM + NSP with
Appendix A.2's optimiser (:mod:`.pretrain`). Every 50th document is held out: its instances measure the
masked-LM loss and accuracy and the NSP accuracy along the run. The trained model and its tokenizer are
saved in the run folder as ``pretrained-<key>/`` and reused by any BERT claim run into the same results
folder with the same settings (the key hashes them).

``bert.pretraining-helps`` (Table 1, the paper's core claim; Section 3.2 and Fig. 1): the same small model
fine-tuned from that pre-training against the same model fine-tuned from a random initialisation, on
SST-2 (dev), SST-1 (dev) and TREC (test), several fine-tuning seeds ("fine-tuning is sometimes unstable on
small datasets", Section 4.1), each arm's learning rate chosen on a held-back tenth of SST-2's training
split. Accuracies are compared paired by seed and by example.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.catalog import register_claim
from ...claims.figures import bars, lines
from ...claims.presets import Preset
from ...config import to_dict
from ...data.corpora import PRETRAINING_CORPORA, pretraining_corpus
from ...data.root import cache_dir, data_root
from ...train.checkpoint import load_model_file, save_model
from ...train.env import resolve_device
from ...train.loop import Trainer
from .finetune import EVAL_SPLIT, SentenceTask, finetune_recipe
from .heads import SequenceClassifier
from .model import BertForPreTraining, BertModel
from .pretrain import PretrainingTask, pretraining_recipe
from .pretraining_data import PretrainingSettings, load_or_build
from .tokenizer import load_tokenizer, save_tokenizer, train_wordpiece

__all__ = ["FinetuneSpec", "PretrainSpec", "finetune", "pretrained_bert"]

#: Every HELD_OUT-th document of the corpus is held out of pre-training (its instances are the evaluation set).
HELD_OUT = 50


@dataclass(frozen=True)
class PretrainSpec:
    """What :func:`pretrained_bert` trains: the corpus and WordPiece vocabulary, the instances, the model
    (L layers, hidden H, A heads, 4H feed-forward) and Appendix A.2's recipe for ``steps`` updates."""

    corpora: tuple[str, ...] = PRETRAINING_CORPORA
    vocab_size: int = 8192
    max_seq_length: int = 128
    dupe_factor: int = 4
    layers: int = 2
    hidden: int = 128
    heads: int = 2
    steps: int = 5000
    batch_size: int = 32
    lr: float = 1e-3
    evaluations: int = 10


@dataclass(frozen=True)
class FinetuneSpec:
    """How every arm is fine-tuned: ``epochs`` over each task's training split (batch ``batch_size``,
    sentences cut to ``max_length`` WordPiece tokens), the rate chosen per arm from ``lrs`` on a held-back
    ``holdout`` of ``select_task``'s training split with the first seed."""

    tasks: tuple[str, ...] = ("sst2", "sst1", "trec")
    epochs: float = 3.0
    batch_size: int = 32
    max_length: int = 64
    lrs: tuple[float, ...] = (1e-4, 3e-4, 1e-3)
    select_task: str = "sst2"
    holdout: float = 0.1


@dataclass(frozen=True, kw_only=True)
class HelpsPreset(Preset):
    """One pre-training (``pretrain``, seed 0), then every task fine-tuned from it and from scratch with
    each of ``seeds`` fine-tuning seeds. ``min_pretrain_steps``: fewer pre-training updates decide nothing."""

    pretrain: PretrainSpec = field(default_factory=PretrainSpec)
    finetune: FinetuneSpec = field(default_factory=FinetuneSpec)
    min_pretrain_steps: int = 2000

    SMOKE: ClassVar[dict[str, str]] = {"pretrain.corpora": "(inaugural,)", "pretrain.vocab_size": "300",
                                       "pretrain.max_seq_length": "32", "pretrain.dupe_factor": "1",
                                       "pretrain.hidden": "16", "pretrain.steps": "4", "pretrain.evaluations": "2",
                                       "finetune.tasks": "(trec,)", "finetune.epochs": "0.02",
                                       "finetune.lrs": "(1e-3,)", "finetune.max_length": "16", "seeds": "1"}


# --- the shared pre-training step ------------------------------------------------------------------------

def _key(spec: PretrainSpec, seed: int) -> str:
    blob = json.dumps({"pretrain": to_dict(spec), "seed": seed, "held_out": HELD_OUT}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class Pretrained:
    """A pre-trained BERT, its tokenizer, where it came from, and its evaluation records along the run."""

    model: BertForPreTraining
    tokenizer: Any
    origin: str
    records: list[dict[str, Any]]


def _model(spec: PretrainSpec, vocab_size: int) -> BertForPreTraining:
    return BertForPreTraining(vocab_size=vocab_size, hidden=spec.hidden, num_layers=spec.layers, num_heads=spec.heads,
                              intermediate=4 * spec.hidden, max_position=max(spec.max_seq_length, 64))


def pretrained_bert(ctx: RunContext, spec: PretrainSpec, seed: int = 0) -> Pretrained:
    """The BERT pre-trained with ``spec`` from ``seed``: reused from ``<out>/bert.*/*/pretrained-<key>`` when a
    run with the same settings left one, else trained here and saved under ``ctx.run_dir``."""
    name = f"pretrained-{_key(spec, seed)}"
    for found in sorted(ctx.run_dir.parent.parent.glob(f"bert.*/*/{name}/model.safetensors"), reverse=True):
        tokenizer = load_tokenizer(found.parent)
        weights, meta = load_model_file(found)
        model = _model(spec, tokenizer.get_vocab_size())
        model.load_state_dict(weights)
        return Pretrained(model.eval(), tokenizer, f"reused {found.parent}", meta.get("records", []))
    docs = pretraining_corpus(data_root(ctx.data_root), corpora=spec.corpora)
    train_docs = [d for i, d in enumerate(docs) if i % HELD_OUT]
    held_docs = [d for i, d in enumerate(docs) if not i % HELD_OUT]
    tokenizer = train_wordpiece((s for d in train_docs for s in d.sentences), vocab_size=spec.vocab_size)
    settings = PretrainingSettings(max_seq_length=spec.max_seq_length, dupe_factor=spec.dupe_factor, seed=seed)
    cache = cache_dir() / "bert"
    data_key = hashlib.sha256(json.dumps([spec.corpora, spec.vocab_size, spec.max_seq_length, spec.dupe_factor, seed,
                                          HELD_OUT]).encode()).hexdigest()[:16]   # what the instances depend on
    data = load_or_build(cache / f"instances-{data_key}.safetensors", train_docs, tokenizer, settings)
    held = load_or_build(cache / f"held-out-{data_key}.safetensors", held_docs, tokenizer,
                         PretrainingSettings(max_seq_length=spec.max_seq_length, dupe_factor=1, seed=seed + 1))
    device = resolve_device(ctx.device)
    task = PretrainingTask(data, batch_size=spec.batch_size, seed=seed, eval_data=held, device=device)
    torch.manual_seed(seed)
    model = _model(spec, tokenizer.get_vocab_size())
    cfg = pretraining_recipe(spec.steps, lr=spec.lr, eval_every=max(1, spec.steps // spec.evaluations))
    folder = ctx.subdir(name)
    cfg = replace(cfg, seed=seed, device=ctx.device, progress=ctx.progress)
    result = Trainer(model, task, cfg, run_dir=folder).fit()
    records = [r for r in result.records if r["split"] == "eval"]
    save_tokenizer(tokenizer, folder)
    save_model(folder / "model.safetensors", model.state_dict(),
               {"model": "bert", "pretrain": to_dict(spec), "seed": seed, "records": records,
                "instances": len(data), "held_out_instances": len(held)})
    return Pretrained(model.eval(), tokenizer, f"trained here ({Path(name)}, {len(data):,} instances)", records)


# --- fine-tuning -------------------------------------------------------------------------------------------

def finetune(ctx: RunContext, encoder: BertModel, tokenizer, task_name: str, spec: FinetuneSpec, *, lr: float,
             seed: int, name: str, holdout: float = 0.0) -> SentenceTask:
    """Fine-tune ``encoder`` (in place) with a new classification head on ``task_name`` for ``spec.epochs``;
    returns the task, whose ``correct`` holds each evaluation example's 0/100."""
    device = resolve_device(ctx.device)
    task = SentenceTask(task_name, tokenizer, max_length=spec.max_length, batch_size=spec.batch_size, seed=seed,
                        holdout=holdout, root=str(data_root(ctx.data_root)), device=device)
    torch.manual_seed(seed)
    model = SequenceClassifier(encoder=encoder, hidden_size=encoder.pooler.in_features, num_labels=task.num_classes)
    steps = max(1, math.ceil(spec.epochs * len(task) / spec.batch_size))
    cfg = finetune_recipe(steps, lr=lr)
    cfg = replace(cfg, seed=seed, device=ctx.device)
    Trainer(model, task, cfg, run_dir=ctx.subdir("finetune", f"{name}-seed{seed}")).fit()
    return task


def _encoder(pre: Pretrained, arm: str, spec: PretrainSpec, seed: int) -> BertModel:
    """A fresh copy of the pre-trained encoder, or (``scratch``) the same architecture newly initialised."""
    if arm == "pretrained":
        encoder = _model(spec, pre.tokenizer.get_vocab_size()).bert
        encoder.load_state_dict(pre.model.bert.state_dict())
        return encoder
    torch.manual_seed(10_000 + seed)
    return _model(spec, pre.tokenizer.get_vocab_size()).bert


ARMS = ("pretrained", "scratch")


def helps_experiment(ctx: RunContext) -> Outcome:
    p: HelpsPreset = ctx.preset
    f = p.finetune
    pre = pretrained_bert(ctx, p.pretrain)
    out = Outcome(data=f"pre-training: {', '.join(p.pretrain.corpora)} ({pre.origin}); fine-tuning: "
                       + ", ".join(f"{t} ({EVAL_SPLIT[t]})" for t in f.tasks))
    out.add_exact("train_steps", p.pretrain.steps)
    chosen: dict[str, float] = {}
    for arm in ARMS:   # each arm's rate, on the held-back part of the selection task, first seed
        scores = {lr: finetune(ctx, _encoder(pre, arm, p.pretrain, ctx.seeds[0]), pre.tokenizer, f.select_task, f,
                               lr=lr, seed=ctx.seeds[0], name=f"select-{arm}-lr{lr:g}", holdout=f.holdout).correct
                  for lr in f.lrs}
        chosen[arm] = max(f.lrs, key=lambda lr: sum(scores[lr]))
    for task_name in f.tasks:
        for arm in ARMS:
            items = [finetune(ctx, _encoder(pre, arm, p.pretrain, seed), pre.tokenizer, task_name, f,
                              lr=chosen[arm], seed=seed, name=f"{task_name}-{arm}").correct for seed in ctx.seeds]
            out.add_items(f"accuracy/{task_name}/{arm}", items)
    _report(ctx, out, pre, p, chosen)
    return out


def _report(ctx: RunContext, out: Outcome, pre: Pretrained, p: HelpsPreset, chosen: dict[str, float]) -> None:
    f = p.finetune
    rows = [f"| {t} ({EVAL_SPLIT[t]}) | {out.fmt(f'accuracy/{t}/pretrained')} | {out.fmt(f'accuracy/{t}/scratch')} |"
            for t in f.tasks]
    out.tables.append("| task | pre-trained (%) | from scratch (%) |\n|---|---|---|\n" + "\n".join(rows))
    if pre.records:
        steps = [r["step"] for r in pre.records]
        for key, label, file in (("mlm_loss", "masked-LM loss (nats)", "pretraining_mlm.png"),
                                 ("nsp_accuracy", "NSP accuracy (%)", "pretraining_nsp.png")):
            out.figures.append(lines(ctx.run_dir / file, {label: (steps, [r[key] for r in pre.records])},
                                     xlabel="pre-training step", ylabel=label,
                                     title=f"Pre-training: {label} on held-out documents"))
    values = {f"{t}/{a}": out.values[f"accuracy/{t}/{a}"] for t in f.tasks for a in ARMS}
    errors = {k: out.std.get(f"accuracy/{k}", 0.0) for k in values}
    out.figures.append(bars(ctx.run_dir / "accuracy.png", values, errors, ylabel="accuracy (%)",
                            title="Fine-tuned from pre-training vs from scratch"))
    s = p.pretrain
    out.notes += [f"Pre-training: L={s.layers}, H={s.hidden}, A={s.heads}, WordPiece {s.vocab_size:,}, sequences of "
                  f"{s.max_seq_length}, {s.steps:,} steps of {s.batch_size} at lr {s.lr:g} ({pre.origin}).",
                  f"Fine-tuning: {f.epochs:g} epochs of batch {f.batch_size}; rates chosen on a held-back "
                  f"{f.holdout:.0%} of {f.select_task}'s training split: "
                  + ", ".join(f"{a} {chosen[a]:g}" for a in ARMS) + "."]


register_claim(Claim(
    id="bert.pretraining-helps",
    paper="bert",
    title="Pre-training (masked LM + NSP) then fine-tuning beats training the same model from scratch",
    statement=("The same BERT fine-tuned from masked-LM and next-sentence pre-training on unlabelled text is more "
               "accurate on downstream sentence classification (SST-2, SST-1, TREC) than when fine-tuned from a "
               "random initialisation, beyond the noise of the fine-tuning seeds."),
    source="Section 3.2 and Table 1 (GLUE, with the pre-trained models against task-specific baselines)",
    presets={
        "quick": HelpsPreset(description="L=2, H=128 pre-trained 300 steps on 3.05M words (too short: inconclusive "
                                         "by the guard), then SST-2, SST-1, TREC for half an epoch, 1 seed, lr 1e-4; "
                                         "about 4 minutes on 2 CPU cores",
                             pretrain=PretrainSpec(steps=300, dupe_factor=1, evaluations=3),
                             finetune=FinetuneSpec(epochs=0.5, lrs=(1e-4,)), seeds=1),
        "cpu": HelpsPreset(description="L=2, H=128 pre-trained 3,000 steps of 32 sequences, then SST-2, SST-1, TREC "
                                       "for 2 epochs, 3 seeds, rates from {1e-4, 3e-4, 1e-3} per arm; about 40 "
                                       "minutes on 2 CPU cores",
                           pretrain=PretrainSpec(steps=3000), finetune=FinetuneSpec(epochs=2.0), seeds=3),
        "full": HelpsPreset(description="BERT-Small (L=4, H=512), WordPiece 30,522, 100,000 steps of 256 sequences, "
                                        "5 seeds; hours on one GPU",
                            pretrain=PretrainSpec(vocab_size=30522, layers=4, hidden=512, heads=8, steps=100_000,
                                                  batch_size=256, lr=1e-4, dupe_factor=10),
                            finetune=FinetuneSpec(lrs=(5e-5, 3e-5, 2e-5, 1e-4)), seeds=5),
    },
    experiment=helps_experiment,
    verdict=R.all_of(
        R.long_enough(R.Of(lambda p: p.min_pretrain_steps, "the preset's min_pretrain_steps (2,000)"),
                      why="a small model's masked LM starts on the unigram plateau; here its held-out loss left it "
                          "within 500 steps"),
        R.each(R.Of(lambda p: [(t,) for t in p.finetune.tasks], "the preset's tasks"),
               lambda t: R.higher("pretrained", than="scratch", metric=f"accuracy/{t}"), example=("SST-2",)),
    ),
    notes=("Not the paper's scale: 3.05M words instead of 3.3B, a two-layer 128-wide model instead of BERT_BASE, "
           "fine-tuning rates scaled up for the small model (the paper's {5e-5, 3e-5, 2e-5} suit BERT_BASE) and "
           "chosen per arm, so that from-scratch training gets its own best rate.",),
))
