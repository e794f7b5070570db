"""The translation task of the training loop, checkpoints that translate, scoring, and the claims' rules."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from tolerances import tol

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.cli import main
from paperzoo.data.text import collate_pairs, encode_pairs, multi30k_pairs, save_tokenizer, train_bpe
from paperzoo.errors import UserError
from paperzoo.metrics.bleu import bootstrap_bleu, corpus_bleu, score
from paperzoo.optim import OptimizerConfig, ScheduleConfig
from paperzoo.papers.seq2seq import experiments as s2s
from paperzoo.papers.seq2seq.model import masked_cross_entropy, seq2seq_small
from paperzoo.papers.transformer import experiments as tfx
from paperzoo.papers.transformer.model import transformer_small
from paperzoo.registry import create_model, model_entry
from paperzoo.train.checkpoint import save_model
from paperzoo.train.loop import TrainConfig
from paperzoo.train.translation import (
    TranslationData,
    TranslationTask,
    load_corpus,
    load_translator,
    train_translator,
    translate,
    translate_texts,
)

HYPS = ["A man rides a bike down the street .", "Two dogs play in the snow.", "A girl is eating an apple",
        "People are walking on a beach at sunset."]
REFS = ["A man is riding a bike down the street.", "Two dogs are playing in the snow.",
        "A little girl eats an apple.", "People walk along the beach at sunset."]


@pytest.fixture(scope="module")
def pairs(shared_data):
    return multi30k_pairs("train", src="de", tgt="en")[:8]


def _recipe(steps: int, **kw) -> TrainConfig:
    return TrainConfig(steps=steps, optimizer=OptimizerConfig(name="adam", lr=3e-3, betas=(0.9, 0.98), eps=1e-9,
                                                              weight_decay=0.0),
                       schedule=ScheduleConfig(name="constant"), log_every=10, amp=False, progress=False,
                       device="cpu", **kw)


def _small_data(**kw) -> TranslationData:
    return TranslationData(**{"vocab_size": 300, "max_tokens": 400, "bleu_sentences": 4, "max_extra": 10, **kw})


# --- data ----------------------------------------------------------------------------------------

def test_multi30k_splits_in_the_asked_direction(shared_data):
    splits = load_corpus(TranslationData(src="en", tgt="de"))
    assert [len(splits[k]) for k in ("train", "val", "test")] == [29000, 1014, 1000]
    assert splits["test"][0] == multi30k_pairs("test_2016_flickr", src="en", tgt="de")[0]


def test_tatoeba_split_holds_out_whole_sentences(shared_data):
    splits = load_corpus(TranslationData(corpus="tatoeba", src="fr", tgt="en", holdout=500))
    assert len(splits["val"]) == len(splits["test"]) == 500
    train_en = {en for _, en in splits["train"]}
    held = {en for _, en in splits["val"] + splits["test"]}
    assert len(held) == 1000 and not held & train_en          # no held-out English sentence is trained on
    assert len(splits["train"]) + 1000 <= 167130
    assert load_corpus(TranslationData(corpus="tatoeba", src="en", tgt="fr", holdout=500))["test"][0] == \
        splits["test"][0][::-1]                                # the same split whatever the direction
    with pytest.raises(UserError, match="English-French"):
        load_corpus(TranslationData(corpus="tatoeba", src="en", tgt="de"))


# --- the task --------------------------------------------------------------------------------------

def test_task_batches_loss_and_evaluation(pairs):
    splits = {"train": pairs * 4, "val": pairs[:5], "test": pairs[:3]}
    tokenizer = train_bpe([s for p in pairs for s in p], vocab_size=200)
    cfg = _small_data(max_len=30, bleu_sentences=3)
    task = TranslationTask(cfg, splits, tokenizer, masked_cross_entropy)
    batches = task.train_batches()
    for _ in range(6):
        src, tgt_in, tgt_out = next(batches)
        assert src.numel() <= cfg.max_tokens and tgt_in.numel() <= cfg.max_tokens
        assert torch.equal(tgt_in[:, 1:], tgt_out[:, :-1]) and (tgt_in[:, 0] == 2).all()
    torch.manual_seed(0)
    model = transformer_small(vocab_size=tokenizer.get_vocab_size(), d_model=32, num_layers=1, num_heads=2, d_ff=64,
                              dropout=0.0)
    loss, metrics = task.training_step(model, (src, tgt_in, tgt_out))
    assert loss.item() == pytest.approx(masked_cross_entropy(model(src, tgt_in), tgt_out).item(), rel=1e-5)
    assert metrics["tokens"].item() == (tgt_out != 0).sum().item()
    model.eval()
    with torch.no_grad():
        result = task.evaluate(model)
        # the validation loss is the mean over all real target tokens of all validation pairs
        vs, vi, vo = collate_pairs(encode_pairs(tokenizer, splits["val"]))
        expected = F.cross_entropy(model(vs, vi).flatten(0, 1), vo.flatten(), ignore_index=0).item()
    # float32, batched differently: logits after ≈ 700 chained multiply-adds (one d_model=32 layer each side), a
    # log-softmax over 200 tokens and a mean over ≈ 100; an error Δ in the loss is a relative error Δ in exp(loss)
    loss_tol = tol(n=700 + 200 + 100, scale=expected)
    assert result["val_loss"] == pytest.approx(expected, rel=0, abs=loss_tol)
    assert result["val_ppl"] == pytest.approx(math.exp(expected), rel=loss_tol)
    assert 0 <= result["val_bleu"] <= 100 and result["train_seconds"] > 0
    assert len(task.evaluations) == 1 and len(task.evaluations[0].hypotheses) == 3


def test_long_training_pairs_are_left_out(pairs):
    tokenizer = train_bpe([s for p in pairs for s in p], vocab_size=200)
    splits = {"train": pairs, "val": pairs[:2], "test": pairs[:2]}
    lengths = sorted(max(len(s), len(t) - 1) for s, t in encode_pairs(tokenizer, pairs))
    limit = lengths[len(lengths) // 2]
    task = TranslationTask(_small_data(max_len=limit), splits, tokenizer, masked_cross_entropy)
    assert all(len(s) <= limit and len(t) - 1 <= limit for s, t in task.train_ids)
    assert task.sizes["train"] + task.sizes["train_dropped"] == len(pairs) and task.sizes["train_dropped"] > 0


def test_builders_take_sizes():
    tf = transformer_small(vocab_size=100, d_model=48, num_layers=1, num_heads=3, d_ff=96)
    assert tf.d_model == 48 and len(tf.encoder) == 1 and tf.encoder[0].self_attn.num_heads == 3
    rnn = seq2seq_small(src_vocab_size=50, tgt_vocab_size=60, embed_dim=16, hidden_size=24, attention=False)
    assert rnn.attention is None and rnn.hidden_size == 24 and rnn.out.out_features == 60


# --- checkpoints that translate --------------------------------------------------------------------

@pytest.mark.slow  # about 10 s on an idle 2-core CPU, minutes on a busy one
def test_trained_run_translates_from_its_folder_end_to_end(pairs, tmp_path, capsys):
    """A tiny Transformer learns 8 real pairs; the run folder alone (weights, description, tokenizer)
    then translates them exactly, from Python and from the command line."""
    run = tmp_path / "run"
    splits = {"train": pairs, "val": pairs, "test": pairs}
    result, _, _ = train_translator(model_entry("transformer_tiny"), _small_data(), _recipe(150),
                                    criterion=masked_cross_entropy, run_dir=run, splits=splits)
    assert (run / "tokenizer.json").is_file() and result.final["val_loss"] < 0.1
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    assert translate(run, sources, create_model) == targets
    assert paperzoo.translate(run / "checkpoints", sources[:2], beam_size=1) == targets[:2]
    assert main(["translate", "--checkpoint", str(run), sources[0], sources[1]]) == 0
    assert capsys.readouterr().out.splitlines() == targets[:2]
    meta = json.loads((run / "config.json").read_text())
    assert meta["model"] == "transformer_tiny" and meta["data"]["src"] == "de"


def test_reloaded_model_equals_the_trained_one(pairs, tmp_path, capsys):
    """A few steps of training; the run folder rebuilds the same model, which translates as the
    trained one does, from Python and from the command line."""
    run = tmp_path / "run"
    splits = {"train": pairs, "val": pairs[:2], "test": pairs[:2]}
    _, model, task = train_translator(model_entry("seq2seq_tiny"), _small_data(), _recipe(3),
                                      criterion=masked_cross_entropy, run_dir=run, splits=splits)
    sources = [s for s, _ in pairs[:3]]
    loaded = load_translator(run, create_model)
    assert loaded.meta["model"] == "seq2seq_tiny"
    for a, b in zip(loaded.model.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    expected = translate_texts(model, task.tokenizer, sources, beam_size=2, max_extra=50)
    assert loaded(sources, beam_size=2) == expected
    assert main(["translate", "--checkpoint", str(run), "--beam", "2", *sources]) == 0
    assert capsys.readouterr().out.splitlines() == expected


def test_translate_errors(pairs, tmp_path):
    with pytest.raises(UserError, match="no checkpoint"):
        translate(tmp_path / "missing", "x", create_model)
    save_model(tmp_path / "model.safetensors", {"w": torch.zeros(1)}, {"model": "resnet20"})
    with pytest.raises(UserError, match="not a translation model"):
        translate(tmp_path, "x", create_model)
    meta = {"model": "transformer_tiny", "model_kwargs": {"vocab_size": 300}, "data": {"task": "translation"}}
    save_model(tmp_path / "model.safetensors", transformer_small(vocab_size=300, d_model=32, num_layers=1,
                                                                 num_heads=2, d_ff=64).state_dict(), meta)
    with pytest.raises(UserError, match="tokenizer.json"):
        translate(tmp_path, "x", create_model)
    save_tokenizer(train_bpe([s for p in pairs for s in p], vocab_size=300), tmp_path)
    with pytest.raises(UserError, match="do not fit transformer_tiny"):
        translate(tmp_path, "x", create_model)
    assert main(["translate", "--checkpoint", str(tmp_path / "missing"), "x"]) == 2


# --- scoring -------------------------------------------------------------------------------------

def test_bootstrap_statistics_give_sacrebleu():
    from paperzoo.metrics.bleu import _bleu_from_stats, _sentence_stats

    stats = _sentence_stats(HYPS, REFS).sum(0)
    assert _bleu_from_stats(stats).item() == pytest.approx(corpus_bleu(HYPS, REFS).score, abs=1e-9)


def test_bootstrap_bleu():
    same = bootstrap_bleu(REFS, HYPS, HYPS, samples=200)
    assert same["se/diff"] == 0 and same["win/0"] == 0 and same["se/0"] > 0
    perfect = bootstrap_bleu(REFS, REFS, HYPS, samples=200)
    assert perfect["se/0"] == pytest.approx(0, abs=1e-9) and perfect["win/0"] == 1.0


def test_score_tokenized_form_is_lowercased_13a_bleu():
    s = score(HYPS, REFS)
    assert s["sacrebleu"].score == pytest.approx(corpus_bleu(HYPS, REFS).score)
    assert s["tokenized"] == pytest.approx(corpus_bleu(HYPS, REFS, lowercase=True).score, abs=1e-9)
    upper = score([h.upper() for h in HYPS], REFS)
    assert upper["tokenized"] == pytest.approx(s["tokenized"]) and upper["sacrebleu"].score < s["sacrebleu"].score


# --- the arm runner ------------------------------------------------------------------------------

def test_translation_arm_trains_as_train_translator_does(pairs, tmp_path):
    """An arm run by the one arm runner (claims.arms.run_arm with the translation task factory)
    learns the tokenizer on the training split, saves it in its run folder and ends with the
    weights train_translator gives for the same seed, data and recipe."""
    from paperzoo.claims import RunContext

    splits = {"train": pairs, "val": pairs[:2], "test": pairs[:3]}
    ctx = RunContext(None, "t", None, (0,), "cpu", None, tmp_path / "claim", progress=False)
    arm = s2s.translation_arm("tiny", "seq2seq_tiny", {}, masked_cross_entropy, splits)
    system = s2s.train_system(ctx, arm, 0, data=_small_data(), train=_recipe(3), beam=1, alpha=0.0)
    run = tmp_path / "claim" / "runs" / "tiny-seed0"
    assert (run / "tokenizer.json").is_file() and system.label == "tiny" and len(system.hypotheses) == 3
    _, model, _ = train_translator(model_entry("seq2seq_tiny"), _small_data(), _recipe(3),
                                   criterion=masked_cross_entropy, run_dir=tmp_path / "direct", splits=splits)
    for a, b in zip(system.model.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    assert load_translator(run, create_model).meta["criterion"] == "masked_cross_entropy"
    assert system.bleu == score(system.hypotheses, [t for _, t in system.test])["sacrebleu"].score


# --- verdict rules -------------------------------------------------------------------------------

def _outcome(values: dict[str, float | list[float]], se: dict[tuple[str, str, str], float] | None = None) -> Outcome:
    """``values``: metric -> its value per seed (or one value); ``se``: (metric, a, b) -> the
    bootstrap SE of ``metric/a - metric/b`` in every seed."""
    out = Outcome()
    for k, v in values.items():
        out.add(k, v if isinstance(v, list) else [v])
    for (metric, a, b), value in (se or {}).items():
        out.add_difference_se(metric, a, b, [value] * len(out.per_seed[f"{metric}/{a}"]))
    return out


def _tatoeba(attention, plain, se, steps=20000):
    out = _outcome({"bleu/attention": attention, "bleu/no-attention": plain},
                   {("bleu", "attention", "no-attention"): se})
    out.values["train_steps"] = steps
    return s2s.TATOEBA.verdict(out, s2s.TATOEBA.preset("full")).status


def test_tatoeba_rule():
    assert _tatoeba(30.0, 25.0, 1.0) == "holds"
    assert _tatoeba(26.5, 25.0, 1.0) == "inconclusive"          # within the noise
    assert _tatoeba(25.8, 25.0, 0.1) == "inconclusive"          # beyond the noise, under the 1-BLEU minimum effect
    assert _tatoeba(22.0, 25.0, 1.0) == "does not hold"
    # two seeds that disagree: the seed variance (1 degree of freedom) swamps the gain
    assert _tatoeba([30.0, 24.0], [25.0, 25.0], 0.5) == "inconclusive"
    assert _tatoeba([30.0, 29.0], [25.0, 25.0], 0.5) == "holds"
    assert _tatoeba(30.0, 25.0, 1.0, steps=500) == "inconclusive"   # the quick preset: too short to judge


def test_vs_rnn_rule():
    p = tfx.VS_RNN.preset("full")

    def verdict(tf, rnn, se, reach, reach_se=0.02, steps=20000):
        out = _outcome({"val_bleu_at_budget/transformer": tf, "val_bleu_at_budget/rnnsearch": rnn,
                        "reach_fraction": reach}, {("val_bleu_at_budget", "transformer", "rnnsearch"): se})
        out.value_se["reach_fraction"] = [reach_se]
        out.values["train_steps"] = steps
        return tfx.VS_RNN.verdict(out, p).status

    assert verdict(20, 12, 1.0, 0.3) == "holds"
    assert verdict(20, 12, 1.0, 0.8) == "does not hold"      # better, but not within half the time
    assert verdict(20, 12, 1.0, 0.45, reach_se=0.1) == "inconclusive"   # the crossing is not located well enough
    assert verdict(13, 12, 1.0, 0.3) == "inconclusive"       # within the noise
    assert verdict(10, 15, 1.0, math.inf) == "does not hold"
    assert verdict(20, 12, 1.0, math.nan) == "inconclusive"  # never reached, but trained too briefly to know
    assert verdict(20, 12, 1.0, 0.3, steps=300) == "inconclusive"


def test_vs_rnn_reach_time_is_censored_by_the_transformers_own_time():
    from types import SimpleNamespace

    def system(times, bleus, seconds):
        return SimpleNamespace(curve=lambda: (times, bleus), task=SimpleNamespace(train_seconds=seconds))

    rnn = system([10, 20, 40], [5, 10, 15], 40)
    assert tfx._reach(system([4, 8, 12], [9, 16, 20], 12), rnn, 0.5) == (pytest.approx(0.2),
                                                                        pytest.approx(4 / math.sqrt(12) / 40))
    assert tfx._reach(system([10, 20], [5, 10], 20), rnn, 0.5) == (math.inf, 0.0)   # half the time, not reached
    assert math.isnan(tfx._reach(system([5, 10], [5, 10], 10), rnn, 0.5)[0])       # a quarter: unknown


def test_multi30k_rule():
    rule, full, cpu = tfx.MULTI30K_CLAIM.verdict, tfx.MULTI30K_CLAIM.preset("full"), tfx.MULTI30K_CLAIM.preset("cpu")

    def verdict(bleu, se, preset=full, steps=20000):
        out = _outcome({"tok_bleu/de-en": bleu})
        out.value_se["tok_bleu/de-en"] = [se]
        out.values["train_steps"] = steps
        return rule(out, preset).status

    assert verdict(37.0, 0.8) == "holds"
    assert verdict(35.0, 0.8) == "inconclusive"      # within 2 BLEU of the target, but not surely
    assert verdict(30.0, 0.8) == "does not hold"
    assert verdict(30.0, 0.8, cpu, steps=3000) == "inconclusive"   # too short to judge


@pytest.mark.parametrize("claim_id", ["seq2seq.tatoeba", "transformer.vs-rnn", "transformer.multi30k"])
def test_the_rule_text_comes_from_the_rule(claim_id):
    from paperzoo.claims.catalog import get_claim

    claim = get_claim(claim_id)
    assert claim.rule == "" and "inconclusive if the run trains" in claim.rule_text
