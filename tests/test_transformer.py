"""The Transformer: masks, the fused attention path, equality with torch.nn's layers, Table 3's
parameter counts, incremental decoding, beam search, label smoothing, checkpoint averaging."""

import itertools
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from tolerances import assert_close, tol

from paperzoo.data.text import collate_pairs, encode_pairs, multi30k_pairs, random_pairs, train_bpe
from paperzoo.errors import DataError
from paperzoo.metrics.flops import count_params
from paperzoo.nn.decoding import beam_search, greedy_search, length_penalty
from paperzoo.papers.transformer.model import (
    EncoderLayer,
    MultiHeadAttention,
    PositionalEncoding,
    Transformer,
    causal_mask,
    label_smoothed_cross_entropy,
    scaled_dot_product_attention,
    transformer_base,
    transformer_big,
    transformer_tiny,
)
from paperzoo.train.checkpoint import average_checkpoints, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


# transformer_tiny's longest chain of float32 reductions from the embeddings to the logits: 2 encoder layers
# (attention 64 + 16 + 10 + 64, FFN 64 + 128, 2 LayerNorms of 64) and 2 decoder layers (self- and cross-attention,
# FFN, 3 LayerNorms), then the 64-wide output projection
TINY_CHAIN = 2 * (154 + 192 + 2 * 64) + 2 * (2 * 154 + 192 + 3 * 64) + 64


def _tiny(**kw):
    torch.manual_seed(0)
    return transformer_tiny(**kw).eval()


def _set_fast(model, fast):
    for m in model.modules():
        if isinstance(m, MultiHeadAttention):
            m.fast = fast
    return model


# --- masks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fast", [True, False])
def test_no_position_sees_the_future_or_padding(fast):
    model = _set_fast(_tiny(), fast)
    src, tgt = random_pairs(4, vocab_size=1000, src_len=9, tgt_len=8)
    assert (src == 0).any() and (tgt == 0).any()  # the batch has padding on both sides
    real = (tgt != 0)[:, :, None].expand(-1, -1, 999)  # real target positions, every class but <pad>
    with torch.no_grad():
        out = model(src, tgt)
        # the future: change target tokens 5.. ; positions 0..4 must not move
        changed = tgt.clone()
        changed[:, 5:] = torch.randint(4, 1000, changed[:, 5:].shape)
        assert torch.allclose(model(src, changed)[:, :5], out[:, :5], atol=1e-5)
        assert not torch.allclose(model(src, changed)[:, 5:], out[:, 5:], atol=1e-3)
        # padding: change what every padded position (source and target) feeds in
        model.embedding.weight[0] += 5.0
        assert torch.allclose(model(src, tgt)[..., 1:][real], out[..., 1:][real], atol=1e-5)
        model.pad_id = -1  # without the padding masks the same change does move real positions
        assert not torch.allclose(model(src, tgt)[..., 1:][real], out[..., 1:][real], atol=1e-3)


def test_causal_mask():
    assert torch.equal(causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool))


# --- attention --------------------------------------------------------------------------------

def test_scaled_dot_product_attention_equals_pytorch_fused_kernel():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 4, 5, 8), torch.randn(2, 4, 7, 8), torch.randn(2, 4, 7, 6)
    mask = torch.rand(2, 1, 5, 7) > 0.3
    mask[..., 0] = True  # every query may attend somewhere
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    # float32, two kernels: 8-term scores, a softmax and a 7-term weighted sum of values up to max|v|
    attention_tol = dict(n=8 + 7, scale=v.abs().max().item())
    assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **attention_tol)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 4, 5))
    assert (weights[~mask.expand_as(weights)] == 0).all()
    # Eq. 1 by hand for one head and query
    scores = q[0, 0, 0] @ k[0, 0].T / math.sqrt(8)
    scores[~mask[0, 0, 0]] = -math.inf
    assert_close(ours[0, 0, 0], scores.softmax(0) @ v[0, 0], **attention_tol)


@pytest.mark.parametrize("norm_first", [False, True])
def test_fast_attention_path_equals_the_written_out_one(norm_first):
    model = _tiny(norm_first=norm_first)
    src, tgt = random_pairs(4, vocab_size=1000)
    with torch.no_grad():
        fast = model(src, tgt)
        slow = _set_fast(model, False)(src, tgt)
    # float32 logits through 4 layers: rounding errors of the chained reductions add in quadrature
    assert_close(fast, slow, n=TINY_CHAIN)


def test_multi_head_attention_equals_torch():
    torch.manual_seed(0)
    d, h = 32, 4
    ours = MultiHeadAttention(d_model=d, num_heads=h, bias=True).eval()
    for p in ours.parameters():
        nn.init.normal_(p, std=0.2)  # nonzero biases too
    theirs = nn.MultiheadAttention(d, h, bias=True, batch_first=True).eval()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)
    query, memory = torch.randn(3, 5, d), torch.randn(3, 7, d)
    key_padding = torch.zeros(3, 7, dtype=torch.bool)
    key_padding[1, 4:] = True
    expected, _ = theirs(query, memory, memory, key_padding_mask=key_padding)
    got = ours(query, memory, memory, (~key_padding)[:, None, None, :])
    assert torch.allclose(got, expected, atol=1e-5)
    # self-attention with a causal mask
    expected, _ = theirs(query, query, query, attn_mask=~causal_mask(5))
    assert torch.allclose(ours(query, query, query, causal_mask(5)), expected, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_equals_torch(norm_first):
    torch.manual_seed(0)
    d, h, d_ff = 32, 4, 64
    ours = EncoderLayer(d_model=d, num_heads=h, d_ff=d_ff, dropout=0.0, attn_bias=True, norm_first=norm_first)
    for p in ours.parameters():
        nn.init.normal_(p, std=0.2)
    theirs = nn.TransformerEncoderLayer(d, h, d_ff, dropout=0.0, activation="relu", batch_first=True,
                                        norm_first=norm_first)
    a = ours.self_attn
    with torch.no_grad():
        theirs.self_attn.in_proj_weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
        theirs.self_attn.in_proj_bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
        theirs.self_attn.out_proj.load_state_dict(a.out_proj.state_dict())
        theirs.linear1.load_state_dict(ours.ffn.linear1.state_dict())
        theirs.linear2.load_state_dict(ours.ffn.linear2.state_dict())
        theirs.norm1.load_state_dict(ours.norm1.state_dict())
        theirs.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(3, 6, d)
    padding = torch.zeros(3, 6, dtype=torch.bool)
    padding[2, 3:] = True
    expected = theirs(x, src_key_padding_mask=padding)  # with autograd on: torch's reference path
    got = ours(x, (~padding)[:, None, None, :])
    assert torch.allclose(got, expected, atol=1e-5)


def test_positional_encoding_formula():
    pe = PositionalEncoding(d_model=16, max_len=50)(0, 50)
    pos, i = 7, 3
    assert pe[pos, 2 * i].item() == pytest.approx(math.sin(pos / 10000 ** (2 * i / 16)), abs=1e-6)
    assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(pos / 10000 ** (2 * i / 16)), abs=1e-6)
    assert "table" not in PositionalEncoding(d_model=16).state_dict()  # recomputed, not stored
    learned = PositionalEncoding(d_model=16, max_len=50, learned=True)
    assert torch.equal(learned(3, 4), learned.embedding.weight[3:7])


def test_embeddings_are_scaled_and_tied_to_the_output_projection():
    """Section 3.4: embeddings times sqrt(d_model) plus positional encodings; the pre-softmax
    projection is the same matrix, transposed."""
    model = _tiny()
    ids = torch.tensor([[5, 9, 2]])
    expected = model.embedding.weight[ids] * math.sqrt(64) + model.positional(0, 3)
    assert torch.allclose(model.embed(ids), expected)
    h = torch.randn(1, 3, 64)
    assert torch.allclose(model.logits(h), h @ model.embedding.weight.T)


# --- Table 3 ------------------------------------------------------------------------------------

def _expected_params(V, d, d_ff, N):
    attention = 4 * d * d                       # W^Q, W^K, W^V, W^O, no biases
    ffn = 2 * d * d_ff + d_ff + d               # Eq. 2
    encoder = attention + ffn + 2 * 2 * d       # 2 LayerNorms
    decoder = 2 * attention + ffn + 3 * 2 * d   # 3 LayerNorms
    return V * d + N * (encoder + decoder)      # one shared embedding matrix


@pytest.mark.parametrize("build, paper_millions, d, d_ff, exact", [
    (transformer_base, 65, 512, 2048, 63_045_632),
    (transformer_big, 213, 1024, 4096, 214_171_648),
])
def test_parameter_counts_table3(build, paper_millions, d, d_ff, exact):
    with torch.device("meta"):
        model = build()
    count = count_params(model)
    assert count == exact == _expected_params(37000, d, d_ff, 6)
    # within 3% of the paper's count, which is rounded to whole millions
    low, high = (paper_millions - 0.5) * 1e6, (paper_millions + 0.5) * 1e6
    assert min(abs(count - low) / low, abs(count - high) / high) < 0.03 or low <= count <= high
    vocab_sized = [n for n, p in model.named_parameters() if p.shape[0] == 37000]
    assert vocab_sized == ["embedding.weight"]  # source, target and pre-softmax share one matrix


def test_learned_positions_and_configs():
    base = sum(p.numel() for p in Transformer(vocab_size=100, d_model=32, num_layers=1, num_heads=4,
                                              d_ff=64).parameters())
    learned = sum(p.numel() for p in Transformer(vocab_size=100, d_model=32, num_layers=1, num_heads=4,
                                                 d_ff=64, positional="learned", max_len=50).parameters())
    assert learned - base == 50 * 32
    from paperzoo.errors import UserError

    with pytest.raises(UserError, match="beyond max_len=8"):
        Transformer(vocab_size=100, d_model=32, num_layers=1, num_heads=4, d_ff=64, max_len=8)(
            torch.ones(1, 9, dtype=torch.long), torch.ones(1, 3, dtype=torch.long))


# --- incremental decoding and search ------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"norm_first": True}, {"positional": "learned"}])
def test_cached_decoding_equals_full_recomputation(kw):
    model = _tiny(**kw)
    src, tgt = random_pairs(3, vocab_size=1000, tgt_len=7)
    tgt[:, 1:] = torch.randint(4, 1000, (3, 6))  # no padding: every position is compared
    with torch.no_grad():
        full = model(src, tgt).log_softmax(-1)  # (B, T, V)
        state, steps = model.init_state(src), []
        for t in range(tgt.shape[1]):
            log_probs, state = model.decode_step(tgt[:, t], state)
            steps.append(log_probs)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)
    assert state["self"][0][0].shape[2] == 7  # one cached key per decoded position


def test_beam_of_one_is_greedy():
    model = _tiny()
    src, _ = random_pairs(5, vocab_size=1000)
    greedy = model.generate(src, beam_size=1, alpha=0.0)
    state = model.init_state(src)
    with torch.no_grad():
        beam, _ = beam_search(lambda tokens, st: model.decode_step(tokens[:, -1], st), state, batch_size=5,
                              bos=2, eos=3, pad=0, max_len=(src != 0).sum(1) + 50, beam_size=1, alpha=0.0)
    assert torch.equal(beam[:, 0, :greedy.shape[1]], greedy)
    assert (beam[:, 0, greedy.shape[1]:] == 0).all()
    assert greedy.shape[1] <= src.shape[1] + 50


def _toy_step(table):
    """A fixed next-token distribution that depends on the whole prefix (hashed into `table`)."""
    def step(tokens, state):
        keys = (tokens * torch.tensor([7, 3, 5, 11, 13, 17])[: tokens.shape[1]]).sum(1) % table.shape[0]
        return table[keys], state
    return step


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.5])
def test_a_wide_beam_finds_the_best_sequence(alpha):
    """With a beam wider than the number of hypotheses, beam search is exhaustive: it must return
    the sequence with the best log P / lp among all that end with </s> or reach the length limit."""
    torch.manual_seed(1)
    V, eos, bos, max_len = 4, 3, 2, 4  # tokens 0, 1 and 2 continue, 3 ends
    table = torch.randn(23, V).mul(2).log_softmax(-1)
    step = _toy_step(table)
    best, best_score = None, -math.inf
    for length in range(1, max_len + 1):
        for body in itertools.product(range(3), repeat=length - 1):
            for last in ([eos] if length < max_len else range(V)):
                seq = list(body) + [last]
                tokens, logp = torch.tensor([[bos]]), 0.0
                for tok in seq:
                    logp += step(tokens, None)[0][0, tok].item()
                    tokens = torch.cat([tokens, torch.tensor([[tok]])], 1)
                score = logp / length_penalty(float(length), alpha)
                if score > best_score:
                    best, best_score = seq, score
    tokens, scores = beam_search(step, None, batch_size=1, bos=bos, eos=eos, pad=0, max_len=max_len,
                                 beam_size=64, alpha=alpha)
    assert tokens[0, 0, :len(best)].tolist() == best and scores[0, 0].item() == pytest.approx(best_score, abs=1e-5)
    assert (scores[0, :-1] >= scores[0, 1:]).all()  # best first
    greedy, _ = greedy_search(step, None, batch_size=1, bos=bos, eos=eos, pad=0, max_len=max_len)
    narrow, _ = beam_search(step, None, batch_size=1, bos=bos, eos=eos, pad=0, max_len=max_len,
                            beam_size=1, alpha=0.0)
    assert torch.equal(narrow[0, 0], greedy[0])


def _scripted(script, V=3, eos=2):
    """A step function over tokens 0, 1 and </s> = 2 whose next-token probabilities for a prefix
    are `script[prefix]` (default: </s> almost surely)."""
    def step(tokens, state):
        rows = [script.get(tuple(row[1:]), [0.005, 0.005, 0.99]) for row in tokens.tolist()]
        return torch.tensor(rows).log(), state
    return step


def _search(step, beam_size, alpha):
    tokens, _ = beam_search(step, None, batch_size=1, bos=9, eos=2, pad=0, max_len=5, beam_size=beam_size,
                            alpha=alpha)
    return tokens[0, 0].tolist()


def test_beam_of_one_keeps_greedy_even_when_an_ending_ranked_second_scores_higher():
    """P(0) = 0.6, P(</s>) = 0.4 first, then P(</s> | 0) = 0.5: greedy says "0 </s>" (P = 0.3)
    though "</s>" alone has P = 0.4. An ending counts as finished only if it ranks within the beam."""
    step = _scripted({(): [0.6, 0.0, 0.4], (0,): [0.3, 0.2, 0.5]})
    greedy, _ = greedy_search(step, None, batch_size=1, bos=9, eos=2, pad=0, max_len=5)
    assert greedy[0].tolist() == [0, 2] == _search(step, 1, 0.0)[:2]
    assert _search(step, 2, 0.0)[:1] == [2]  # a beam of 2 finds the better short one


def test_length_penalty_lets_a_longer_hypothesis_win_and_search_goes_on_for_it():
    """Ending at once has P = 0.5 (score log 0.5 / lp(1)), "0 </s>" has P = 0.45 * 0.99: with
    alpha = 1.5 the longer one scores higher, and the search must not stop after the first ending,
    since the live hypothesis could still win once divided by a larger length penalty."""
    step = _scripted({(): [0.45, 0.05, 0.5], (0,): [0.005, 0.005, 0.99]})
    assert _search(step, 1, 0.0)[:1] == [2]
    assert _search(step, 1, 1.5)[:2] == [0, 2]
    assert math.log(0.45 * 0.99) / length_penalty(2.0, 1.5) > math.log(0.5) / length_penalty(1.0, 1.5)


def test_tiny_model_overfits_real_sentence_pairs_and_translates_them(shared_data):
    """One batch of 8 real Multi30k pairs: training drives the loss down, then greedy and beam
    search both reproduce the German targets."""
    pairs = multi30k_pairs("train", src="en", tgt="de")[:8]
    tokenizer = train_bpe([s for p in multi30k_pairs("train")[:400] for s in p], vocab_size=400)
    src, tgt_in, tgt_out = collate_pairs(encode_pairs(tokenizer, pairs))
    torch.manual_seed(0)
    model = transformer_tiny(vocab_size=400)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.98), eps=1e-9)
    for _ in range(150):
        loss = label_smoothed_cross_entropy(model(src, tgt_in), tgt_out, epsilon=0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    model.eval()
    for kw in ({"beam_size": 1, "alpha": 0.0}, {}):
        out = model.generate(src, **kw)
        assert [tokenizer.decode(row.tolist()) for row in out] == [de for _, de in pairs]


# --- loss and checkpoints -----------------------------------------------------------------------

def test_label_smoothing_forms():
    torch.manual_seed(0)
    logits, target = torch.randn(3, 5, 11), torch.randint(0, 11, (3, 5))
    target[0, :2] = 0  # padding
    ours = label_smoothed_cross_entropy(logits, target, epsilon=0.1, ignore_index=0)
    torch_form = F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=0, label_smoothing=0.1)
    # float32 losses ≈ 3: a sum over 11 classes per token, then a mean over 13 tokens
    loss_tol = dict(n=11 + 13, scale=abs(ours.item()))
    assert_close(ours, torch_form, **loss_tol)
    # tensor2tensor's form: 1 - eps on the true class, eps / (K - 1) on each other one
    q = torch.full((3, 5, 11), 0.1 / 10).scatter(-1, target[..., None], 0.9)
    explicit = -(q * logits.log_softmax(-1)).sum(-1)[target != 0].mean()
    others = label_smoothed_cross_entropy(logits, target, epsilon=0.1, spread="others")
    assert_close(others, explicit, **loss_tol)
    assert abs(others.item() - ours.item()) > 10 * tol(**loss_tol)   # the two spreads differ by far more (≈3e-3)
    plain = label_smoothed_cross_entropy(logits, target, epsilon=0.0)
    assert_close(plain, F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=0), **loss_tol)


def test_average_checkpoints(tmp_path):
    models = [_tiny() for _ in range(3)]
    for i, m in enumerate(models):
        for p in m.parameters():
            p.data.normal_()
        save_checkpoint(tmp_path / "ckpt", (i + 1) * 100, m.state_dict(), {"name": "transformer_tiny"}, {}, keep=3)
    folders = sorted((tmp_path / "ckpt").glob("step-*"))
    averaged = average_checkpoints(folders)
    for key, value in averaged.items():
        assert torch.allclose(value, sum(m.state_dict()[key] for m in models) / 3, atol=1e-6), key
    fresh = _tiny()
    fresh.load_state_dict(averaged)
    other = Transformer(vocab_size=1000, d_model=64, num_layers=1, num_heads=4, d_ff=128)
    save_checkpoint(tmp_path / "other", 1, other.state_dict(), {}, {})
    with pytest.raises(DataError, match="do not match"):
        average_checkpoints([folders[0], *sorted((tmp_path / "other").glob("step-*"))])
