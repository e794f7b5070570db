"""Layer normalisation paper: the sentence classifier's batch (in)dependence, the probes, the task
and the verdict rule."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import paperzoo
import paperzoo.claims.catalog
import paperzoo.registry
from paperzoo.claims import Outcome
from paperzoo.data import Vocabulary
from paperzoo.data.sentences import LabelledSentences
from paperzoo.papers.layernorm import experiments as ex
from paperzoo.papers.layernorm.model import token_batch
from paperzoo.papers.layernorm.task import Encoded, SentenceClassificationTask, SentenceDataConfig, sentence_task


def _model(norm, seed=0):
    torch.manual_seed(seed)
    model = paperzoo.create_model("sentence_conv", vocab_size=50, norm=norm, dropout=0.0, embed_dim=8, channels=8)
    with torch.no_grad():   # non-trivial norm parameters, so a wrong axis cannot hide behind gamma=1, beta=0
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("norm.bias"):
                p.uniform_(0.5, 1.5)
    return model.train()


def _one_sentence_in_two_batches():
    first = token_batch(6, vocab_size=50, length=10, seed=1)
    others = token_batch(6, vocab_size=50, length=7, seed=2)
    probe = first[:1]   # a full-length sentence
    return torch.cat([probe, first[1:]]), torch.cat([probe, F.pad(others[1:], (0, 3))])


@pytest.mark.parametrize("norm,depends_on_batch,depends_on_padding", [
    (None, False, False), ("layer", False, False), ("batch", True, True), ("masked_batch", True, False)])
def test_which_normalisation_depends_on_the_batch(norm, depends_on_batch, depends_on_padding):
    model = _model(norm)
    batch_a, batch_b = _one_sentence_in_two_batches()
    with torch.no_grad():
        out_a, out_b = model(batch_a)[0], model(batch_b)[0]
        out_padded = model(F.pad(batch_a, (0, 5)))[0]   # the same batch with 5 more padding tokens
    assert (not torch.allclose(out_a, out_b, atol=1e-5)) is depends_on_batch
    assert (not torch.allclose(out_a, out_padded, atol=1e-5)) is depends_on_padding
    model.eval()   # with running statistics BN treats each sentence on its own
    with torch.no_grad():
        torch.testing.assert_close(model(batch_a)[0], model(batch_b)[0], atol=1e-5, rtol=1e-5)


def test_padding_is_zero_and_pooling_ignores_it():
    model = _model("layer")
    tokens = token_batch(4, vocab_size=50, length=9)
    seen = []
    model.blocks[-1].register_forward_hook(lambda _m, _i, out: seen.append(out))
    with torch.no_grad():
        model(tokens)
    assert torch.equal(seen[0][tokens == 0], torch.zeros_like(seen[0][tokens == 0]))


def _encoded(n=40):
    tokens = token_batch(n, vocab_size=50, length=8, seed=3)
    words = tuple(tuple(str(int(t)) for t in row if t) for row in tokens)
    data = LabelledSentences(tuple(i % 2 for i in range(n)), words, "test")
    return Encoded(data, Vocabulary.build(words))


def test_dependence_probe_measures_zero_for_ln_and_more_for_bn():
    data = _encoded()
    p = ex.DependencePreset(description="t", shuffles=3, probe_batch_size=8, extra_padding=4)
    ln = ex.dependence(_model("layer"), data, p, seed=0)
    bn = ex.dependence(_model("batch"), data, p, seed=0)
    masked = ex.dependence(_model("masked_batch"), data, p, seed=0)
    assert ln["batch_change_max"] < 1e-5 and ln["pad_change_max"] < 1e-5
    assert bn["batch_change"] > 1e-3 and bn["pad_change"] > 1e-3 and bn["eval_change_max"] < 1e-5
    assert masked["batch_change"] > 1e-3 and masked["pad_change_max"] < 1e-5
    assert len(bn["batch_change_items"]) == len(data)
    assert max(bn["pad_change_items"]) == pytest.approx(bn["pad_change_max"])
    model = _model("batch")
    before = model.blocks[0].norm.running_mean.clone()
    ex.dependence(model, data, p, seed=0)
    assert torch.equal(model.blocks[0].norm.running_mean, before) and model.training   # probes use a copy


def test_logits_in_batches_places_every_example():
    data = _encoded(10)
    model = _model("layer").eval()
    out = ex.logits_in_batches(model, data, shuffles=2, batch_size=3, seed=0)
    with torch.no_grad():
        alone = torch.cat([model(data.batch([i])[0]) for i in range(10)])
    torch.testing.assert_close(out[0], alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[1], alone, atol=1e-5, rtol=1e-5)


def test_sentence_task_batches_and_resume(shared_data):
    cfg = SentenceDataConfig(batch_size=8, train_subset=30, eval_subset=20)
    task = SentenceClassificationTask(cfg, root=shared_data, seed=1)
    assert len(task.dev) == 20 and task.num_classes == 2 and "stsa.binary.train" in task.source
    batches = task.train_batches()
    tokens, labels = next(batches)
    assert tokens.shape[0] == labels.shape[0] == 8 and (tokens[:, -1] != 0).any()   # padded to the longest
    for _ in range(3):   # into the second epoch (3 full batches of 8 per epoch of 30)
        next(batches)
    state = task.state_dict()
    expected = [next(batches)[0] for _ in range(4)]
    again = SentenceClassificationTask(cfg, root=shared_data, seed=1)
    again.load_state_dict(state)
    resumed = again.train_batches()
    for e in expected:
        assert torch.equal(next(resumed)[0], e)
    model = paperzoo.create_model("sentence_conv", vocab_size=len(task.vocab)).eval()
    with torch.no_grad():
        metrics = task.evaluate(model)
    assert set(metrics) == {"dev_loss", "dev_error"} and 0 <= metrics["dev_error"] <= 1


def test_sentence_task_fixes_the_models_vocabulary_and_classes(shared_data):
    cfg = SentenceDataConfig(batch_size=8, train_subset=30, eval_subset=20)
    task = sentence_task(cfg, device="cpu", seed=0, root=shared_data, run_dir=None, channels_last=False)
    assert task.model_kwargs(paperzoo.registry.model_entry("sentence_conv")) == {
        "vocab_size": len(task.vocab), "num_classes": 2}
    arms = ex._arms(ex.DependencePreset(description="t"))
    assert [a.label for a in arms] == ["none", "batch", "masked_batch", "layer"]
    assert arms[0].kwargs["norm"] is None and all(a.task is sentence_task for a in arms)


def _dependence_outcome(ln_change, bn_batch, bn_pad, seeds=1, sentences=872):
    """LN's largest change (logits), and BN's mean changes with each sentence's change around them."""
    out = Outcome()
    out.add_exact(ex.LN_CHANGE, [1e6 * ln_change])
    for key, mean in (("batch_change/batch", bn_batch), ("pad_change/batch", bn_pad)):
        out.add_items(key, [[mean * (0.5 + (i % 2)) * (1 + 0.1 * s) for i in range(sentences)] for s in range(seeds)])
    return out


def test_batch_independence_verdict_rule():
    claim = paperzoo.claims.catalog.get_claim("layernorm.batch-independence")
    assert claim.rule == "" and "LN's largest change" in claim.rule_text

    def verdict(*args, **kw):
        return claim.verdict(_dependence_outcome(*args, **kw), ex.DependencePreset(description="t")).status

    assert verdict(1e-7, 0.3, 0.1) == "holds"
    assert verdict(1e-7, 0.3, 0.1, seeds=3) == "holds"
    assert verdict(1e-2, 0.3, 0.1) == "does not hold"        # LN moved beyond round-off: exact check, no noise
    assert verdict(1e-7, 0.3, 1e-6) == "does not hold"       # BN's padding probe far below one tolerance
    assert verdict(1e-7, 0.3, 1e-3) == "inconclusive"        # above round-off, below 100 tolerances
    assert verdict(1e-7, 0.3, 0.012, sentences=10) == "inconclusive"   # few sentences: the interval reaches below
