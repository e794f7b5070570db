"""BERT's fine-tuning heads (Fig. 4, Sections 4 and 5.3) and the fine-tuning optimiser, on a tiny
stand-in encoder with BertModel's call signature."""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from tolerances import assert_close

from paperzoo.optim import BertAdam, no_decay_parameter_names
from paperzoo.papers.bert.heads import (
    FINETUNE_GRID,
    IGNORE_INDEX,
    FeatureBased,
    MultipleChoice,
    SequenceClassifier,
    SpanExtractor,
    TokenClassifier,
    align_word_labels,
    best_spans,
    finetune_optimizer,
    word_starts,
)

pytestmark = pytest.mark.usefixtures("one_thread")

H, V = 16, 40


class Out(NamedTuple):
    sequence: torch.Tensor
    pooled: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None


class TinyEncoder(nn.Module):
    """Embeddings (token + segment, LayerNorm, dropout), then ``layers`` tanh layers that each see a
    position and the mean over the real positions, and a tanh pooler on position 0 ([CLS])."""

    def __init__(self, layers: int = 4):
        super().__init__()
        self.embed = nn.Embedding(V, H)
        self.segment = nn.Embedding(2, H)
        self.layers = nn.ModuleList(nn.Linear(2 * H, H) for _ in range(layers))
        self.LayerNorm = nn.LayerNorm(H)
        self.pooler = nn.Linear(H, H)
        self.drop = nn.Dropout(0.5)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, output_hidden_states=False):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        m = mask.unsqueeze(-1).float()
        h = self.drop(self.LayerNorm(self.embed(input_ids) + self.segment(token_type_ids)))
        states = [h]
        for layer in self.layers:
            mean = (h * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)
            h = torch.tanh(layer(torch.cat([h, mean.expand_as(h)], -1)))
            states.append(h)
        return Out(h, torch.tanh(self.pooler(h[:, 0])), tuple(states) if output_hidden_states else None)


def batch(b=3, t=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, V, (b, t), generator=g)
    types = torch.zeros(b, t, dtype=torch.long)
    types[:, t // 2:] = 1
    return ids, types, torch.ones(b, t, dtype=torch.long)


def check_bert_init(layer: nn.Linear):
    assert torch.all(layer.bias == 0)
    assert layer.weight.abs().max() <= 0.04 + 1e-7     # truncated at 2 std
    if layer.weight.numel() >= 256:
        assert 0.012 < layer.weight.std().item() < 0.022   # a normal cut at ±2σ has std 0.88σ


def test_sequence_classifier_is_a_linear_layer_on_the_pooled_cls_output():
    torch.manual_seed(0)
    head = SequenceClassifier(encoder=TinyEncoder(), hidden_size=H, num_labels=3).eval()
    check_bert_init(head.classifier)
    ids, types, mask = batch()
    logits = head(ids, types, mask)
    assert logits.shape == (3, 3)
    pooled = head.encoder(ids, token_type_ids=types, attention_mask=mask).pooled
    torch.testing.assert_close(logits, pooled @ head.classifier.weight.T + head.classifier.bias)
    # the pair's segments reach the encoder
    assert not torch.allclose(logits, head(ids, torch.zeros_like(types), mask))
    labels = torch.tensor([0, 2, 1])
    torch.testing.assert_close(head.loss(logits, labels), F.cross_entropy(logits, labels))
    head.train()
    assert not torch.allclose(head(ids, types, mask), head(ids, types, mask))    # dropout in training only


def test_regression_head_uses_mean_squared_error():
    head = SequenceClassifier(encoder=TinyEncoder(), hidden_size=H, num_labels=1).eval()
    logits = head(*batch())
    assert logits.shape == (3, 1)
    target = torch.tensor([0.5, 4.75, 2.0])
    torch.testing.assert_close(head.loss(logits, target), ((logits.squeeze(1) - target) ** 2).mean())
    with pytest.raises(ValueError, match="num_labels"):
        SequenceClassifier(encoder=TinyEncoder(), hidden_size=H, num_labels=0)


def test_fine_tuning_learns_a_sentence_pair_rule():
    """End to end with the paper's optimiser: label = whether token 5 is in segment B."""
    torch.manual_seed(0)
    head = SequenceClassifier(encoder=TinyEncoder(layers=2), hidden_size=H, num_labels=2, dropout=0.0)
    steps = 150
    opt, sched = finetune_optimizer(head, lr=1e-2, total_steps=steps)
    g = torch.Generator().manual_seed(1)
    first = last = None
    for step in range(steps):
        ids, types, mask = batch(32, 8, seed=step)
        labels = torch.randint(0, 2, (32,), generator=g)
        ids[:, 4:] = torch.where(ids[:, 4:] == 5, 6, ids[:, 4:])
        ids[labels == 1, 6] = 5
        loss = head.loss(head(ids, types, mask), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        first = loss.item() if first is None else first
        last = loss.item()
    assert first > 0.6 and last < 0.2
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)     # decayed to 0 at the last step


def test_token_classifier_and_first_sub_token_labels():
    head = TokenClassifier(encoder=TinyEncoder(), hidden_size=H, num_labels=5).eval()
    check_bert_init(head.classifier)
    ids, types, mask = batch()
    logits = head(ids, types, mask)
    assert logits.shape == (3, 7, 5)
    seq = head.encoder(ids, token_type_ids=types, attention_mask=mask).sequence
    torch.testing.assert_close(logits, head.classifier(seq))
    # [CLS] John Jo ##hanson 's [SEP]: the first piece of each word is labelled, the rest ignored
    word_ids = [None, 0, 1, 1, 2, None]
    assert align_word_labels(word_ids, [3, 1, 4]) == [IGNORE_INDEX, 3, 1, IGNORE_INDEX, 4, IGNORE_INDEX]
    assert align_word_labels(word_ids, [3, 1, 4], ignore=-1)[0] == -1
    assert word_starts(word_ids) == [1, 2, 4]
    # a pair restarts word ids in segment B: still the first piece of each word
    assert word_starts([None, 0, 0, 1, None, 0, 1, 1, None]) == [1, 3, 5, 6]
    with pytest.raises(ValueError, match="word id 3 has no label"):
        align_word_labels([None, 3], [0])
    labels = torch.full((3, 7), IGNORE_INDEX)
    labels[:, 1] = torch.tensor([0, 4, 2])
    changed = logits.clone()
    changed[:, 2:] += 10 * torch.randn_like(changed[:, 2:])     # ignored positions change nothing
    torch.testing.assert_close(head.loss(logits, labels), F.cross_entropy(logits[:, 1], labels[:, 1]))
    torch.testing.assert_close(head.loss(changed, labels), head.loss(logits, labels))


def test_span_head_start_and_end_vectors_and_loss():
    head = SpanExtractor(encoder=TinyEncoder(), hidden_size=H).eval()
    check_bert_init(head.qa_outputs)
    ids, types, mask = batch()
    start, end = head(ids, types, mask)
    assert start.shape == end.shape == (3, 7)
    seq = head.encoder(ids, token_type_ids=types, attention_mask=mask).sequence
    S, E = head.qa_outputs.weight
    torch.testing.assert_close(start, seq @ S + head.qa_outputs.bias[0])
    torch.testing.assert_close(end, seq @ E + head.qa_outputs.bias[1])
    sp, ep = torch.tensor([4, 5, 0]), torch.tensor([5, 6, 0])
    expected = -(start.log_softmax(-1).gather(1, sp[:, None]) + end.log_softmax(-1).gather(1, ep[:, None])).mean() / 2
    torch.testing.assert_close(head.loss(start, end, sp, ep), expected)


def brute_force(s, e, ctx, max_len):
    best, arg = -math.inf, (-1, -1)
    for i, j in itertools.product(range(len(s)), repeat=2):
        if ctx[i] and ctx[j] and 0 <= j - i < max_len and s[i] + e[j] > best:
            best, arg = s[i] + e[j], (i, j)
    return arg, best


def test_best_spans_is_the_exact_maximum_over_valid_spans():
    g = torch.Generator().manual_seed(0)
    B, T = 6, 12
    s, e = torch.randn(B, T, generator=g), torch.randn(B, T, generator=g)
    ctx = torch.zeros(B, T, dtype=torch.bool)
    for b in range(B):
        ctx[b, 3 + b % 3:T - 1] = True        # question and [SEP] first, final [SEP] excluded
    for max_len in (1, 3, 30):
        pred = best_spans(s, e, ctx, max_answer_length=max_len)
        for b in range(B):
            (i, j), score = brute_force(s[b].tolist(), e[b].tolist(), ctx[b].tolist(), max_len)
            assert (pred.start[b].item(), pred.end[b].item()) == (i, j)
            assert pred.score[b].item() == pytest.approx(score)
        assert torch.all(pred.end >= pred.start) and torch.all(pred.end - pred.start < max_len)
        assert torch.all(ctx.gather(1, pred.start[:, None])) and torch.all(ctx.gather(1, pred.end[:, None]))
    # an end before the start is never chosen, however high its logit
    s1, e1 = torch.tensor([[0.0, 0, 9, 0, 0]]), torch.tensor([[0.0, 9, 0, 0, 1]])
    one = best_spans(s1, e1, torch.tensor([[False, True, True, True, True]]))
    assert (one.start.item(), one.end.item()) == (2, 4)
    # no context token: no span
    none = best_spans(s1, e1, torch.zeros(1, 5, dtype=torch.bool))
    assert none.start.item() == none.end.item() == -1 and none.score.item() == -math.inf


def test_squad2_null_answer_threshold():
    s = torch.tensor([[3.0, 0, 1, 0], [0.0, 0, 2, 0]])
    e = torch.tensor([[3.0, 0, 0, 1], [0.0, 0, 0, 2]])
    ctx = torch.tensor([[False, True, True, True]] * 2)
    # row 0: s_null = 6 > best 2; row 1: s_null = 0 < best 4
    pred = SpanExtractor.decode(s, e, ctx, null_threshold=0.0)
    assert pred.start.tolist() == [-1, 2] and pred.end.tolist() == [-1, 3]
    assert pred.null_score.tolist() == [6.0, 0.0] and pred.score.tolist() == [2.0, 4.0]
    # ŝ > s_null + τ: τ = -5 answers row 0 too, τ = 4 answers neither (4 > 0 + 4 is false)
    assert best_spans(s, e, ctx, null_threshold=-5.0).start.tolist() == [2, 2]
    assert best_spans(s, e, ctx, null_threshold=4.0).start.tolist() == [-1, -1]
    assert best_spans(s, e, ctx).start.tolist() == [2, 2]      # v1.1: always an answer
    with pytest.raises(ValueError, match="max_answer_length"):
        best_spans(s, e, ctx, max_answer_length=0)


def test_multiple_choice_scores_each_pair_with_one_vector():
    torch.manual_seed(0)
    head = MultipleChoice(encoder=TinyEncoder(), hidden_size=H).eval()
    check_bert_init(head.classifier)
    assert head.classifier.weight.shape == (1, H)
    B, C, T = 2, 4, 6
    ids = torch.randint(4, V, (B, C, T))
    types = torch.zeros(B, C, T, dtype=torch.long)
    types[..., 3:] = 1
    mask = torch.ones(B, C, T, dtype=torch.long)
    mask[1, 2, 5] = 0
    logits = head(ids, types, mask)
    assert logits.shape == (B, C)
    for b, c in itertools.product(range(B), range(C)):
        pooled = head.encoder(ids[b, c][None], token_type_ids=types[b, c][None], attention_mask=mask[b, c][None]).pooled
        torch.testing.assert_close(logits[b, c], (pooled @ head.classifier.weight.T + head.classifier.bias)[0, 0])
    labels = torch.tensor([3, 0])
    torch.testing.assert_close(head.loss(logits, labels), F.cross_entropy(logits, labels))
    assert head(ids, None, None).shape == (B, C)


def test_feature_based_freezes_the_encoder_and_combines_layers():
    torch.manual_seed(0)
    encoder = TinyEncoder(layers=5)
    head = FeatureBased(encoder=encoder, hidden_size=H, num_labels=4, lstm_hidden=8)
    assert head.lstm.num_layers == 2 and head.lstm.bidirectional and head.lstm.input_size == 4 * H
    check_bert_init(head.classifier)
    head.train()
    assert not head.encoder.training and head.lstm.training       # frozen: no dropout in the encoder
    ids, types, mask = batch()
    hidden = encoder(ids, token_type_ids=types, attention_mask=mask, output_hidden_states=True).hidden_states
    assert len(hidden) == 6
    torch.testing.assert_close(head.features(ids, types, mask), torch.cat([hidden[i] for i in (-1, -2, -3, -4)], -1))
    logits = head(ids, types, mask)
    assert logits.shape == (3, 7, 4)
    labels = torch.randint(0, 4, (3, 7))
    head.loss(logits, labels).backward()
    assert all(p.grad is None and not p.requires_grad for p in encoder.parameters())
    assert head.classifier.weight.grad is not None and head.lstm.weight_ih_l0.grad is not None
    opt, _ = finetune_optimizer(head, lr=1e-3, total_steps=10)
    assert sum(len(g["params"]) for g in opt.param_groups) == sum(1 for p in head.parameters() if p.requires_grad)

    summed = FeatureBased(encoder=encoder, hidden_size=H, num_labels=4, layers=(-1, -2), combine="sum", lstm_hidden=8)
    torch.testing.assert_close(summed.features(ids, types, mask), hidden[-1] + hidden[-2])
    weighted = FeatureBased(encoder=encoder, hidden_size=H, num_labels=4, layers=range(6), combine="weighted",
                            lstm_hidden=8)
    torch.testing.assert_close(weighted.features(ids, types, mask), torch.stack(hidden).mean(0))   # equal weights
    with pytest.raises(ValueError, match="combine"):
        FeatureBased(encoder=encoder, hidden_size=H, num_labels=4, combine="max")


def test_feature_based_bilstm_ignores_right_padding():
    torch.manual_seed(0)
    head = FeatureBased(encoder=TinyEncoder(), hidden_size=H, num_labels=3, lstm_hidden=8).eval()
    ids, types, mask = batch(2, 5)
    alone = head(ids, types, mask)
    padded_ids = torch.cat([ids, torch.zeros(2, 3, dtype=torch.long)], 1)
    padded_mask = torch.cat([mask, torch.zeros(2, 3, dtype=torch.long)], 1)
    padded = head(padded_ids, torch.cat([types, torch.ones(2, 3, dtype=torch.long)], 1), padded_mask)
    assert padded.shape == (2, 8, 3)
    torch.testing.assert_close(padded[:, :5], alone)


def test_no_decay_for_biases_and_layer_norm():
    head = SequenceClassifier(encoder=TinyEncoder(), hidden_size=H, num_labels=2)
    exempt = no_decay_parameter_names(head)
    assert "encoder.LayerNorm.weight" in exempt and "encoder.LayerNorm.bias" in exempt
    assert "classifier.bias" in exempt and "encoder.layers.0.bias" in exempt
    assert "classifier.weight" not in exempt and "encoder.embed.weight" not in exempt
    named = dict(head.named_parameters())
    opt, _ = finetune_optimizer(head, lr=3e-5, total_steps=100)
    assert isinstance(opt, BertAdam)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert {id(p) for p in no_decay["params"]} == {id(named[n]) for n in exempt}
    assert len(decay["params"]) + len(no_decay["params"]) == len(named)
    assert decay["betas"] == (0.9, 0.999) and decay["eps"] == 1e-6 and decay["bias_correction"] is False
    assert 3e-5 in FINETUNE_GRID["lr"] and FINETUNE_GRID["batch_size"] == (16, 32)


def test_warmup_then_linear_decay():
    param = nn.Parameter(torch.zeros(1))
    opt, sched = finetune_optimizer(nn.ParameterList([param]), lr=2e-5, total_steps=1000)
    rates = []
    for _ in range(1000):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # Google's create_optimizer: lr·s/w for s < w (w = 10% = 100 steps), then lr·(1 − s/T)
    for s in (0, 1, 50, 99):
        assert rates[s] == pytest.approx(2e-5 * s / 100)
    for s in (100, 500, 999):
        assert rates[s] == pytest.approx(2e-5 * (1 - s / 1000))
    # as Google's code, the decay takes over at 1 − w/T: the rate steps down from 0.99·lr to 0.9·lr
    assert max(rates) == pytest.approx(rates[99]) == pytest.approx(2e-5 * 0.99)


def test_one_step_is_googles_adam_weight_decay_update():
    """m = (1−β1)g, v = (1−β2)g², u = m/(√v + ε) + λθ, θ ← θ − η_t u (no bias correction)."""
    lin = nn.Linear(3, 2)
    theta_w, theta_b = lin.weight.detach().clone(), lin.bias.detach().clone()
    opt, sched = finetune_optimizer(lin, lr=5e-5, warmup_fraction=0.0, total_steps=4)
    x = torch.randn(5, 3)
    lin(x).pow(2).sum().backward()
    g_w, g_b = lin.weight.grad.clone(), lin.bias.grad.clone()
    opt.step()
    eta = 5e-5 * (1 - 0 / 4)

    def update(theta, g, decay):
        m, v = 0.1 * g, 0.001 * g * g
        return theta - eta * (m / (v.sqrt() + 1e-6) + decay * theta)

    torch.testing.assert_close(lin.weight.detach(), update(theta_w, g_w, 0.01))
    torch.testing.assert_close(lin.bias.detach(), update(theta_b, g_b, 0.0))
    with pytest.raises(ValueError, match="warmup_fraction"):
        finetune_optimizer(lin, lr=5e-5, warmup_fraction=1.0, total_steps=4)


# --- the heads on paperzoo's BertModel against Hugging Face's task models ------------------------

def _hf_pair(hf_class, head_factory, *, num_labels: int = 3, seed: int = 0):
    """An HF task model with random weights (biases and LayerNorms moved off 0 and 1) and the same
    weights in paperzoo's head over paperzoo's BertModel, both in eval mode; (hf, ours, cfg)."""
    transformers = pytest.importorskip("transformers")
    from paperzoo.papers.bert.hf import load_hf_bert
    from paperzoo.papers.bert.model import from_hf_config

    cfg = transformers.BertConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=2, intermediate_size=128,
                                  vocab_size=V, num_labels=num_labels)
    torch.manual_seed(seed)
    hf = hf_class(cfg).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if name.endswith("bias") or "norm" in name.lower():
                p.add_(0.1 * torch.randn(p.shape, generator=g))
    sd = hf.state_dict()
    encoder = from_hf_config(cfg, heads=False)
    bare = {k[len("bert."):]: v for k, v in sd.items() if k.startswith("bert.")}
    # HF's token and span models have no pooler (add_pooling_layer=False): keep ours, unused by those heads
    bare.setdefault("pooler.dense.weight", encoder.pooler.weight.detach().clone())
    bare.setdefault("pooler.dense.bias", encoder.pooler.bias.detach().clone())
    load_hf_bert(encoder, bare)
    ours = head_factory(encoder, cfg).eval()
    head = {k: v for k, v in sd.items() if not k.startswith("bert.")}
    (layer,) = [m for m in ours.children() if isinstance(m, nn.Linear)]   # the head's one new layer
    (prefix,) = {k.rsplit(".", 1)[0] for k in head}
    layer.load_state_dict({"weight": head[f"{prefix}.weight"], "bias": head[f"{prefix}.bias"]})
    return hf, ours, cfg


def _hf_inputs(B: int = 3, T: int = 10):
    from paperzoo.papers.bert.model import example_batch

    return example_batch(B, vocab_size=V, length=T, seed=1)


# n: two layers of 7H + 4H + d_k + 2T reductions, the embeddings' 3 + 2H, the head's H (and the pooler's H)
_N = 3 + 2 * 32 + 2 * (11 * 32 + 16 + 20) + 2 * 32


@pytest.mark.parametrize("kind", ["sequence", "token", "span"])
def test_heads_equal_hugging_faces_task_models(kind):
    transformers = pytest.importorskip("transformers")
    hf_class, factory = {
        "sequence": (transformers.BertForSequenceClassification,
                     lambda enc, cfg: SequenceClassifier(encoder=enc, hidden_size=cfg.hidden_size, num_labels=3)),
        "token": (transformers.BertForTokenClassification,
                  lambda enc, cfg: TokenClassifier(encoder=enc, hidden_size=cfg.hidden_size, num_labels=3)),
        "span": (transformers.BertForQuestionAnswering,
                 lambda enc, cfg: SpanExtractor(encoder=enc, hidden_size=cfg.hidden_size)),
    }[kind]
    hf, ours, _ = _hf_pair(hf_class, factory, num_labels=2 if kind == "span" else 3)   # HF: span = 2 "labels"
    ids, types, mask = _hf_inputs()
    with torch.no_grad():
        expected = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
        got = ours(ids, types, mask)
    if kind == "span":
        assert_close(got[0], expected.start_logits, n=_N, msg="start logits")
        assert_close(got[1], expected.end_logits, n=_N, msg="end logits")
    else:
        assert_close(got, expected.logits, n=_N)


def test_multiple_choice_equals_hugging_faces():
    transformers = pytest.importorskip("transformers")
    hf, ours, _ = _hf_pair(transformers.BertForMultipleChoice,
                           lambda enc, cfg: MultipleChoice(encoder=enc, hidden_size=cfg.hidden_size))
    ids, types, mask = (t.view(2, 2, -1) for t in _hf_inputs(B=4))   # (B, C, T): 2 questions, 2 choices
    with torch.no_grad():
        expected = hf(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
        got = ours(ids, types, mask)
    assert got.shape == (2, 2)
    assert_close(got, expected, n=_N)
