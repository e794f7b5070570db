"""paperzoo.nn against torch.nn: batch and layer normalisation (outputs, gradients, running
statistics, state dicts), dropout's statistics, and the MLP built from them."""

from __future__ import annotations

import pytest
import torch

import paperzoo.nn as pnn

BN_CASES = [  # (ours, torch's, input shape)
    (pnn.BatchNorm1d, torch.nn.BatchNorm1d, (16, 5)),
    (pnn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 5, 7)),
    (pnn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 6)),
    (pnn.BatchNorm2d, torch.nn.BatchNorm2d, (2, 6, 1, 3)),
]
BN_OPTIONS = [dict(), dict(momentum=0.3, eps=1e-3), dict(momentum=None), dict(affine=False),
              dict(track_running_stats=False)]


def _pair(ours_cls, torch_cls, channels, **kw):
    ours = ours_cls(channels, **kw).double()
    ref = torch_cls(channels, **kw).double()
    if ref.affine:  # non-trivial gamma and beta, the same in both
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            ref.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _step(module, x, upstream):
    x = x.clone().requires_grad_(True)
    out = module(x)
    (out * upstream).sum().backward()
    grads = {n: p.grad.clone() for n, p in module.named_parameters()}
    module.zero_grad()
    return out.detach(), x.grad, grads


@pytest.mark.parametrize("options", BN_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("ours_cls,torch_cls,shape", BN_CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_batchnorm_matches_torch_in_training_and_evaluation(ours_cls, torch_cls, shape, options):
    torch.manual_seed(0)
    ours, ref = _pair(ours_cls, torch_cls, shape[1], **options)
    for step in range(5):  # several steps: the running statistics accumulate
        x = torch.randn(shape, dtype=torch.float64) * (step + 1) + step
        upstream = torch.randn(shape, dtype=torch.float64)
        for (a, b) in zip(_step(ours, x, upstream), _step(ref, x, upstream)):
            if isinstance(a, dict):
                assert a.keys() == b.keys()
                for k in a:
                    torch.testing.assert_close(a[k], b[k], rtol=1e-10, atol=1e-10)
            else:
                torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
        for name, buf in ref.named_buffers():
            torch.testing.assert_close(dict(ours.named_buffers())[name], buf, rtol=1e-12, atol=0)
    ours.eval()
    ref.eval()
    x = torch.randn(shape, dtype=torch.float64) + 2
    upstream = torch.randn(shape, dtype=torch.float64)
    for a, b in zip(_step(ours, x, upstream)[:2], _step(ref, x, upstream)[:2]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_batchnorm_running_variance_is_unbiased_and_momentum_is_torch_convention():
    """Algorithm 2: Var[x] = m/(m-1) E_B[sigma_B^2]; torch's momentum weighs the new batch."""
    bn = pnn.BatchNorm1d(1, momentum=0.25)
    x = torch.tensor([[1.0], [2.0], [4.0], [9.0]])
    bn(x)
    assert bn.running_mean.item() == pytest.approx(0.75 * 0 + 0.25 * 4.0)
    assert bn.running_var.item() == pytest.approx(0.75 * 1 + 0.25 * x.var(unbiased=True).item())
    assert bn.num_batches_tracked.item() == 1
    cumulative = pnn.BatchNorm1d(1, momentum=None)
    batches = [torch.randn(6, 1) for _ in range(4)]
    for b in batches:
        cumulative(b)
    torch.testing.assert_close(cumulative.running_mean, torch.stack([b.mean() for b in batches]).mean().view(1))
    torch.testing.assert_close(cumulative.running_var, torch.stack([b.var() for b in batches]).mean().view(1))


def test_batchnorm_state_dict_loads_either_way_and_checks_shapes():
    ours, ref = pnn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    assert list(ours.state_dict()) == list(ref.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    ref(torch.randn(3, 4, 2, 2))
    ours.load_state_dict(ref.state_dict())
    ref2 = torch.nn.BatchNorm2d(4)
    ref2.load_state_dict(ours.state_dict())
    torch.testing.assert_close(ref2.running_var, ref.running_var)
    with pytest.raises(ValueError, match="expects 4-D"):
        ours(torch.randn(3, 4))
    with pytest.raises(ValueError, match="4 channels"):
        ours(torch.randn(3, 5, 2, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        pnn.BatchNorm1d(4)(torch.randn(1, 4))


def test_masked_batchnorm_uses_real_positions_only():
    """Statistics over the masked positions equal BN over those positions gathered into a batch."""
    torch.manual_seed(0)
    x = torch.randn(3, 4, 6, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    ours = pnn.BatchNorm1d(4).double()
    ref = torch.nn.BatchNorm1d(4).double()
    out = ours(x, mask)
    real = x.transpose(1, 2)[mask]  # (m, C): the real positions as a batch
    expected = ref(real)
    torch.testing.assert_close(out.transpose(1, 2)[mask], expected)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    padded = x.clone()
    padded.transpose(1, 2)[~mask] = 100.0  # what sits at padded positions does not matter
    torch.testing.assert_close(pnn.BatchNorm1d(4).double()(padded, mask).transpose(1, 2)[mask], expected)
    with pytest.raises(ValueError, match="mask must have shape"):
        ours(x, mask[:, :3])


@pytest.mark.parametrize("normalized_shape,shape", [(7, (4, 7)), (7, (2, 3, 7)), ((3, 7), (2, 3, 7)),
                                                    ((2, 3, 4), (5, 2, 3, 4))])
@pytest.mark.parametrize("options", [dict(), dict(eps=1e-3), dict(elementwise_affine=False), dict(bias=False)])
def test_layernorm_matches_torch(normalized_shape, shape, options):
    torch.manual_seed(0)
    ref = torch.nn.LayerNorm(normalized_shape, **options).double()
    ours = pnn.LayerNorm(normalized_shape, **options).double()
    if ref.weight is not None:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            if ref.bias is not None:
                ref.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(ref.state_dict())
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(shape, dtype=torch.float64) * 3 + 1
    upstream = torch.randn(shape, dtype=torch.float64)
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(ref, mode)()
        a, b = _step(ours, x, upstream), _step(ref, x, upstream)
        torch.testing.assert_close(a[0], b[0], rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(a[1], b[1], rtol=1e-10, atol=1e-10)
        assert a[2].keys() == b[2].keys()
        for k in a[2]:
            torch.testing.assert_close(a[2][k], b[2][k], rtol=1e-10, atol=1e-10)


def test_layernorm_is_per_example():
    ln = pnn.LayerNorm(5)
    x = torch.randn(4, 5)
    torch.testing.assert_close(ln(x)[:1], ln(x[:1]))
    with pytest.raises(ValueError, match="expects inputs ending"):
        ln(torch.randn(4, 6))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    torch.manual_seed(0)
    x = torch.rand(400, 500) + 0.5  # positive, so a zero output is a dropped unit
    drop = pnn.Dropout(p)
    y = drop(x)
    n = x.numel()
    zero_fraction = (y == 0).float().mean().item()
    assert abs(zero_fraction - p) < 4 * (p * (1 - p) / n) ** 0.5  # within 4 binomial standard errors
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / (1 - p))  # kept units scaled by 1/(1-p)
    # E[y] = x: the mean over many draws of one unit approaches it
    ones = torch.ones(200_000)
    assert abs(pnn.dropout(ones, p).mean().item() - 1.0) < 4 * (p / (1 - p) / ones.numel()) ** 0.5
    drop.eval()
    assert torch.equal(drop(x), x)


def test_dropout_edge_cases_and_gradient():
    x = torch.randn(10, 10, requires_grad=True)
    assert torch.equal(pnn.Dropout(0.0)(x), x)
    y = pnn.Dropout(1.0)(x)
    assert torch.equal(y, torch.zeros_like(x))
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    x.grad = None
    g = torch.Generator().manual_seed(3)
    y = pnn.dropout(x, 0.5, generator=g)
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y != 0).float() * 2)  # gradient flows through kept units only
    assert torch.equal(pnn.dropout(x, 0.5, generator=torch.Generator().manual_seed(3)), y)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        pnn.Dropout(1.5)


def test_mlp_layers_and_options():
    mlp = pnn.MLP(in_features=12, hidden=(8, 6), out_features=3, activation="tanh", norm="batch",
                  dropout=0.2, input_dropout=0.1, init="gaussian", init_std=0.05)
    assert [type(layer.norm) for layer in mlp.hidden] == [pnn.BatchNorm1d, pnn.BatchNorm1d]
    assert all(layer.linear.bias is None for layer in mlp.hidden)  # BN's beta replaces the bias
    assert mlp.input_dropout.p == 0.1 and mlp.hidden[0].dropout.p == 0.2
    assert 0.03 < mlp.hidden[0].linear.weight.std().item() < 0.07
    assert mlp(torch.randn(5, 3, 2, 2)).shape == (5, 3)  # image input is flattened
    ln = pnn.MLP(in_features=4, hidden=(8,), out_features=2, norm="layer")
    assert isinstance(ln.hidden[0].norm, pnn.LayerNorm) and ln.hidden[0].linear.bias is not None
    linear = pnn.MLP(in_features=4, out_features=2)  # logistic regression
    assert len(linear.hidden) == 0 and linear(torch.randn(3, 4)).shape == (3, 2)
    for bad in (dict(activation="gelu"), dict(norm="group"), dict(init="xavier")):
        with pytest.raises(ValueError, match="unknown"):
            pnn.MLP(in_features=4, hidden=(3,), out_features=2, **bad)


def test_mlp_equals_the_same_network_from_torch_layers():
    torch.manual_seed(0)
    ours = pnn.MLP(in_features=6, hidden=(5, 4), out_features=3, activation="sigmoid", norm="batch").double()
    ref = torch.nn.Sequential(
        torch.nn.Linear(6, 5, bias=False), torch.nn.BatchNorm1d(5), torch.nn.Sigmoid(),
        torch.nn.Linear(5, 4, bias=False), torch.nn.BatchNorm1d(4), torch.nn.Sigmoid(),
        torch.nn.Linear(4, 3)).double()
    ref.load_state_dict({k.replace("hidden.0.linear", "0").replace("hidden.0.norm", "1")
                         .replace("hidden.1.linear", "3").replace("hidden.1.norm", "4").replace("out", "6"): v
                         for k, v in ours.state_dict().items()})
    x = torch.randn(7, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x))
    ours.eval()
    ref.eval()
    torch.testing.assert_close(ours(x), ref(x))
