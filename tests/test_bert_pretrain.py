"""BERT pre-training through the shared loop on a small real corpus: both losses learn.

The classic failures are an MLM loss stuck near ln V (about 7 for a 1,000-token vocabulary: the
ignore index or the label array is wrong) and NSP accuracy stuck at 50% (labels detached from the
pairs). A few hundred steps of a small BERT over instances from the inaugural addresses must
move both well past what a model blind to its input reaches."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from pathlib import Path

import pytest
import torch
from tolerances import assert_close

from paperzoo.data.corpora import read_corpus
from paperzoo.papers.bert.model import BertForPreTraining
from paperzoo.papers.bert.pretrain import PretrainingTask, pretraining_recipe
from paperzoo.papers.bert.pretraining_data import PretrainingData, PretrainingSettings, build_pretraining_data
from paperzoo.papers.bert.tokenizer import train_wordpiece
from paperzoo.train.loop import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_corpus(shared_data):
    """256 instances of 32 tokens from 40 inaugural addresses, half IsNext and half NotNext (so that chance is
    a coin), a 1,000-token WordPiece vocabulary."""
    docs = read_corpus("inaugural", shared_data)[:40]
    tok = train_wordpiece((s for d in docs for s in d.sentences), vocab_size=1000)
    settings = PretrainingSettings(max_seq_length=32, max_predictions_per_seq=5, dupe_factor=1, seed=0)
    data = build_pretraining_data(docs, tok, settings)
    labels = data.next_sentence_labels
    index = torch.cat([(labels == 0).nonzero()[:128, 0], (labels == 1).nonzero()[:128, 0]])
    return tok, PretrainingData(**{f.name: getattr(data, f.name)[index] if f.name != "metadata" else data.metadata
                                   for f in dataclasses.fields(PretrainingData)})


def test_recipe_is_appendix_a2s():
    cfg = pretraining_recipe(1_000_000)
    assert (cfg.optimizer.name, cfg.optimizer.lr, cfg.optimizer.weight_decay, cfg.optimizer.eps) == \
        ("bert_adam", 1e-4, 0.01, 1e-6)
    assert not cfg.optimizer.decay_bias_and_norm and cfg.grad_clip == 1.0
    assert (cfg.schedule.name, cfg.schedule.warmup_steps, cfg.schedule.warmup) == ("linear", 10_000, "linear")
    assert pretraining_recipe(3000).schedule.warmup_steps == 300


def test_masked_lm_and_next_sentence_prediction_both_learn(small_corpus, tmp_path):
    """300 steps memorise the 256 instances: the MLM loss falls far below the unigram entropy of the
    masked tokens (the best a model blind to the context reaches) and NSP accuracy rises above a coin's
    50% (the balanced labels' majority share), beyond 5 standard errors."""
    tok, data = small_corpus
    V, n = tok.get_vocab_size(), len(data)
    counts = torch.bincount(data.masked_ids[data.masked_weights > 0].long(), minlength=V).double()
    p = counts[counts > 0] / counts.sum()
    unigram = float(-(p * p.log()).sum())
    share = data.next_sentence_labels.float().mean().item()
    majority = 100 * max(share, 1 - share)
    torch.manual_seed(0)
    model = BertForPreTraining(vocab_size=V, hidden=64, num_layers=2, num_heads=2, intermediate=256,
                               max_position=32, dropout=0.0, attn_dropout=0.0)
    task = PretrainingTask(data, batch_size=32, seed=0, eval_data=data)
    before = task.evaluate(model)
    assert abs(before["mlm_loss"] - math.log(V)) < 1.0   # an untrained model is near uniform
    after = Trainer(model, task, pretraining_recipe(300, lr=3e-3, log_every=100), run_dir=tmp_path).fit().final
    assert after["mlm_loss"] < unigram - 2.0, (after, unigram)
    assert share == 0.5
    assert after["nsp_accuracy"] > majority + 5 * 100 * math.sqrt(share * (1 - share) / n), (after, majority)


def test_benchmark_compares_the_same_model_on_the_same_batch():
    """benchmarks/bert_pretraining.py: paperzoo's and HF's models hold the same weights and give the
    same loss on its batch (so the timing compares two ways of computing one thing)."""
    pytest.importorskip("transformers")
    spec = importlib.util.spec_from_file_location("bert_pretraining", REPO / "benchmarks" / "bert_pretraining.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cfg = dict(bench.QUICK)
    models = bench.build(cfg, torch.device("cpu"))
    b = bench.batch(cfg, torch.device("cpu"))
    assert (b["labels"] != -100).sum() == b["masked_weights"].sum() > 0
    with torch.no_grad():
        losses = [float(bench.loss_of(k, m.eval(), b)) for k, m in models.items()]
    H, T = 128, cfg["seq_len"]   # reductions: the embeddings, 2 layers of 7H + 4H + d_k + 2T, the heads, the loss
    assert_close(losses[0], losses[1], n=3 + 2 * H + 2 * (11 * H + H // 2 + 2 * T) + 4 * H + cfg["vocab_size"])
