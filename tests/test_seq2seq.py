"""RNN encoder-decoders: shapes, padding, attention weights, the masked loss, decoding, overfitting."""

import pytest
import torch
from tolerances import assert_close

from paperzoo.data.text import collate_pairs, encode_pairs, multi30k_pairs, random_pairs, train_bpe
from paperzoo.metrics.flops import count_params
from paperzoo.nn.decoding import beam_search
from paperzoo.papers.seq2seq.model import (
    Seq2Seq,
    masked_cross_entropy,
    reverse_padded,
    seq2seq_gru_attn,
    seq2seq_lstm,
    seq2seq_tiny,
)

VARIANTS = [
    dict(cell="gru", bidirectional=True, attention=True),
    dict(cell="lstm", bidirectional=True, attention=True),
    dict(cell="lstm", bidirectional=False, attention=False, num_layers=2, reverse_source=True),
    dict(cell="gru", bidirectional=False, attention=True, maxout_dim=0),
]


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(**kw):
    torch.manual_seed(0)
    args = dict(src_vocab_size=300, tgt_vocab_size=200, embed_dim=16, hidden_size=24, num_layers=1, maxout_dim=8)
    return Seq2Seq(**{**args, **kw}).eval()


@pytest.mark.parametrize("kw", VARIANTS)
def test_shapes_and_cached_decoding_equals_teacher_forcing(kw):
    model = _model(**kw)
    src, tgt = random_pairs(3, vocab_size=200, src_len=9, tgt_len=6)
    with torch.no_grad():
        logits = model(src, tgt)
        assert logits.shape == (3, 6, 200)
        state, steps = model.init_state(src), []
        for t in range(6):
            log_probs, state = model.decode_step(tgt[:, t], state)
            steps.append(log_probs)
    assert torch.allclose(torch.stack(steps, 1), logits.log_softmax(-1), atol=1e-5)


@pytest.mark.parametrize("kw", VARIANTS)
def test_padding_changes_nothing(kw):
    """Extra padding columns, or other ids under the padding, leave every output unchanged: the
    encoder runs on packed sequences and attention gives padding no weight."""
    model = _model(**kw)
    src, tgt = random_pairs(4, vocab_size=200, src_len=9, tgt_len=6)
    wider = torch.cat([src, torch.zeros(4, 3, dtype=torch.long)], 1)
    with torch.no_grad():
        out = model(src, tgt)
        assert torch.allclose(model(wider, tgt), out, atol=1e-5)
        model.src_embedding.weight[0] += 3.0  # what padded positions would feed in
        assert torch.allclose(model(src, tgt), out, atol=1e-5)


def test_attention_weights_sum_to_one_over_the_real_source():
    model = _model(**VARIANTS[0])
    src, tgt = random_pairs(4, vocab_size=200, src_len=9, tgt_len=6)
    logits, alpha = model(src, tgt, return_attention=True)
    assert logits.shape == (4, 6, 200) and alpha.shape == (4, 6, 9)
    real = (src != 0)[:, None, :].expand_as(alpha)
    assert torch.allclose(alpha.sum(-1), torch.ones(4, 6), atol=1e-6)
    assert (alpha[~real] == 0).all() and (alpha[real] > 0).all()
    from paperzoo.errors import UserError

    with pytest.raises(UserError, match="no attention"):
        _model(attention=False)(src, tgt, return_attention=True)


def test_masked_loss_ignores_padding():
    torch.manual_seed(0)
    logits, target = torch.randn(3, 5, 7), torch.randint(1, 7, (3, 5))
    target[1, 3:] = 0
    target[2, 1:] = 0
    loss = masked_cross_entropy(logits, target)
    changed = logits.clone()
    changed[target == 0] = torch.randn(int((target == 0).sum()), 7) * 10
    assert masked_cross_entropy(changed, target).item() == pytest.approx(loss.item(), rel=1e-6)
    real = target != 0
    by_hand = -logits.log_softmax(-1).gather(-1, target[..., None]).squeeze(-1)[real].mean()
    # float32 losses ≈ 2.5: a log-softmax over 7 classes, then a mean over 9 real tokens, in two different kernels
    assert_close(loss, by_hand, n=7 + 9, scale=abs(by_hand.item()))


def test_reverse_source():
    ids = torch.tensor([[5, 6, 7, 3, 0], [8, 3, 0, 0, 0]])
    assert reverse_padded(ids, torch.tensor([4, 2])).tolist() == [[3, 7, 6, 5, 0], [3, 8, 0, 0, 0]]
    forward, backward = _model(reverse_source=False), _model(reverse_source=True)
    src, tgt = random_pairs(3, vocab_size=200)
    with torch.no_grad():
        assert torch.allclose(backward(src, tgt), forward(reverse_padded(src, (src != 0).sum(1)), tgt))


def test_sutskever_parameter_count():
    """Section 3.4: 384M parameters, 64M of them recurrent (32M per LSTM); PyTorch's second bias
    vector per layer adds 8 x 4,000."""
    with torch.device("meta"):
        model = seq2seq_lstm()
    assert count_params(model) == 384_144_000
    recurrent = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("encoder.", "decoder.")))
    assert recurrent == 64_064_000
    with torch.device("meta"):
        assert count_params(seq2seq_gru_attn()) > count_params(seq2seq_lstm(src_vocab_size=1, tgt_vocab_size=1))


@pytest.mark.parametrize("kw", VARIANTS[:3])
def test_beam_of_one_is_greedy(kw):
    model = _model(**kw)
    src, _ = random_pairs(5, vocab_size=200)
    greedy = model.generate(src)
    with torch.no_grad():
        beam, _ = beam_search(lambda tokens, st: model.decode_step(tokens[:, -1], st), model.init_state(src),
                              batch_size=5, bos=2, eos=3, pad=0, max_len=(src != 0).sum(1) + 50, beam_size=1,
                              alpha=0.0)
    assert torch.equal(beam[:, 0, :greedy.shape[1]], greedy)
    assert model.generate(src, beam_size=3).shape[0] == 5


def test_tiny_model_overfits_real_sentence_pairs(shared_data):
    """8 real Multi30k pairs: teacher-forced training drives the loss down and greedy decoding
    then writes the German targets."""
    pairs = multi30k_pairs("train", src="en", tgt="de")[:8]
    tokenizer = train_bpe([s for p in multi30k_pairs("train")[:400] for s in p], vocab_size=400)
    src, tgt_in, tgt_out = collate_pairs(encode_pairs(tokenizer, pairs))
    torch.manual_seed(0)
    model = seq2seq_tiny(src_vocab_size=400, tgt_vocab_size=400)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss = masked_cross_entropy(model(src, tgt_in), tgt_out)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    out = model.eval().generate(src)
    assert [tokenizer.decode(row.tolist()) for row in out] == [de for _, de in pairs]
