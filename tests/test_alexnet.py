"""AlexNet (Krizhevsky et al. 2012): parameter count, maps, two towers, init, LRN, the CIFAR net."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from paperzoo.errors import UserError
from paperzoo.metrics.flops import count_params
from paperzoo.nn.lrn import LocalResponseNorm
from paperzoo.papers.alexnet import experiments as E
from paperzoo.papers.alexnet import model as M
from paperzoo.registry import list_models, model_entry


@pytest.fixture(scope="module")
def alexnet() -> M.AlexNet:
    torch.manual_seed(0)
    return M.alexnet()


def test_registered_with_a_tiny_variant():
    assert {"alexnet", "alexnet_tiny", "cifar_convnet"} <= set(list_models(paper="alexnet"))
    assert model_entry("alexnet_tiny").tiny and model_entry("alexnet").input_size == (3, 224, 224)
    assert model_entry("cifar_convnet").input_size == (3, 32, 32)


def test_parameter_count_is_derived_layer_by_layer():
    with torch.device("meta"):
        model = M.alexnet()
    layers = {
        "conv1": 11 * 11 * 3 * 96 + 96,       # conv1 sees the whole image on both GPUs
        "conv2": 5 * 5 * 48 * 256 + 256,      # two groups: each kernel is 5x5x48
        "conv3": 3 * 3 * 256 * 384 + 384,     # conv3 sees both GPUs' maps
        "conv4": 3 * 3 * 192 * 384 + 384,
        "conv5": 3 * 3 * 192 * 256 + 256,
        "fc6": 6 * 6 * 256 * 4096 + 4096,
        "fc7": 4096 * 4096 + 4096,
        "fc8": 4096 * 1000 + 1000,
    }
    for name, expected in layers.items():
        assert count_params(getattr(model, name)) == expected, name
    assert count_params(model) == sum(layers.values()) == M.ALEXNET_PARAMS == 60_965_224
    with torch.device("meta"):
        one_tower = M.alexnet(groups=1)  # ungrouped conv2/4/5 see twice the channels
    assert count_params(one_tower) - count_params(model) == (5 * 5 * 48 * 256 + 3 * 3 * 192 * 384
                                                             + 3 * 3 * 192 * 256)


@pytest.mark.parametrize("size", [224, 227])
def test_map_sizes_follow_fig2(size):
    model = M.alexnet_tiny().eval()
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[-2:])))
             for m in (model.conv1, model.conv2, model.conv3, model.conv4, model.conv5, model.avgpool)]
    model(torch.randn(1, 3, size, size))
    for h in hooks:
        h.remove()
    first = 55 if size == 224 else 56
    assert shapes == [(first, first), (27, 27), (13, 13), (13, 13), (13, 13), (6, 6)]
    x = torch.randn(1, 3, size, size)
    features = model.forward_features(x)
    assert torch.equal(model.avgpool(features), features)  # the adaptive pool is the identity here


def test_layer_order_relu_lrn_pool_and_dropout():
    model = M.alexnet_tiny(dropout=0.5)
    assert isinstance(model.lrn1, LocalResponseNorm) and isinstance(model.lrn2, LocalResponseNorm)
    assert (model.lrn1.size, model.lrn1.alpha, model.lrn1.beta, model.lrn1.k) == (5, 1e-4, 0.75, 2.0)
    assert (model.pool.kernel_size, model.pool.stride) == (3, 2)  # overlapping: s < z
    assert model.dropout.p == 0.5
    x = torch.randn(2, 3, 64, 64)
    model.train()
    assert not torch.equal(model(x), model(x))  # dropout active in training
    model.eval()
    assert torch.equal(model(x), model(x))
    assert isinstance(M.alexnet_tiny(lrn=False).lrn1, nn.Identity)


@pytest.mark.parametrize("layer", ["conv2", "conv4", "conv5"])
def test_grouped_convolutions_are_two_towers(layer):
    torch.manual_seed(0)
    conv = getattr(M.alexnet_tiny(), layer)
    assert conv.groups == 2
    half_in, half_out = conv.in_channels // 2, conv.out_channels // 2
    x = torch.randn(1, conv.in_channels, 9, 9)
    y = x.clone()
    y[:, half_in:] += torch.randn_like(y[:, half_in:])  # change only the second GPU's input maps
    with torch.no_grad():
        a, b = conv(x), conv(y)
    assert torch.equal(a[:, :half_out], b[:, :half_out])  # the first GPU's kernels do not see them
    assert not torch.allclose(a[:, half_out:], b[:, half_out:])


def test_conv1_conv3_and_fc_layers_see_both_towers():
    model = M.alexnet_tiny()
    assert model.conv1.groups == 1 and model.conv3.groups == 1


def test_initialisation_follows_section_5(alexnet):
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        w = getattr(alexnet, name).weight
        assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.01, rel=0.05), name
    for name in ("conv2", "conv4", "conv5", "fc6", "fc7"):
        assert (getattr(alexnet, name).bias == 1).all(), name
    for name in ("conv1", "conv3", "fc8"):
        assert (getattr(alexnet, name).bias == 0).all(), name
    he = M.AlexNet(widths=(16, 32, 48, 48, 32), hidden=64, init="he")
    assert he.conv3.weight.std().item() == pytest.approx((2 / (3 * 3 * 32)) ** 0.5, rel=0.1)
    assert (he.conv4.bias == 1).all()
    with pytest.raises(UserError, match="init"):
        M.AlexNet(init="xavier")


def test_paper_recipe():
    # Section 5: batch 128, SGD with momentum 0.9, weight decay 5e-4, learning rate 0.01
    r, data = E.FULL_RECIPE, E.CIFAR_DATA
    assert (data.batch_size, r.optimizer.name, r.optimizer.lr, r.optimizer.momentum, r.optimizer.weight_decay) == \
        (128, "sgd", 0.01, 0.9, 5e-4)
    assert r.schedule.gamma == 0.1 and len(r.schedule.milestones) == 2


# --- local response normalisation -------------------------------------------------------------


def lrn_by_hand(a: torch.Tensor, n: int, alpha: float, beta: float, k: float) -> torch.Tensor:
    """Section 3.3 written out: b^i = a^i / (k + alpha sum_{j=max(0, i-n/2)}^{min(N-1, i+n/2)} (a^j)^2)^beta."""
    channels = a.shape[1]
    out = torch.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        out[:, i] = a[:, i] / (k + alpha * (a[:, lo:hi + 1] ** 2).sum(dim=1)) ** beta
    return out


def test_lrn_equals_the_papers_formula_and_converts_torch_alpha():
    torch.manual_seed(0)
    a = torch.relu(torch.randn(2, 9, 4, 5, dtype=torch.float64)) * 30  # large enough for alpha to matter
    ours = LocalResponseNorm()
    expected = lrn_by_hand(a, 5, 1e-4, 0.75, 2.0)
    assert torch.allclose(ours(a), expected, rtol=1e-10, atol=0)
    assert ours.torch_alpha == pytest.approx(5e-4)
    torch_lrn = nn.LocalResponseNorm(5, alpha=ours.torch_alpha, beta=0.75, k=2.0)
    assert torch.allclose(torch_lrn(a), expected, rtol=1e-10, atol=0)
    unconverted = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)  # torch divides alpha by n
    assert not torch.allclose(unconverted(a), expected, rtol=1e-4)
    other = LocalResponseNorm(size=3, alpha=2e-3, beta=0.5, k=1.0)
    assert torch.allclose(other(a), lrn_by_hand(a, 3, 2e-3, 0.5, 1.0), rtol=1e-10, atol=0)
    with pytest.raises(ValueError):
        LocalResponseNorm(size=0)


# --- the CIFAR-10 network ---------------------------------------------------------------------


def test_cifar_convnet_layers_and_parameters():
    model = M.cifar_convnet()
    expected = {
        "conv1": 5 * 5 * 3 * 64 + 64,
        "conv2": 5 * 5 * 64 * 64 + 64,
        "local3": 8 * 8 * (32 * 3 * 3 * 64 + 32),   # unshared: one kernel and bias per position
        "local4": 8 * 8 * (32 * 3 * 3 * 32 + 32),
        "fc10": 32 * 8 * 8 * 10 + 10,
    }
    for name, n in expected.items():
        assert count_params(getattr(model, name)) == n, name
    assert count_params(model) == sum(expected.values()) == 1_901_386
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    small = M.cifar_convnet(image_size=24)  # cuda-convnet's 24x24 crops: pools round up, 24 -> 12 -> 6
    assert small.fc10.in_features == 32 * 6 * 6 and small(torch.randn(1, 3, 24, 24)).shape == (1, 10)
    norm = model.norm1
    assert (norm.size, norm.alpha, norm.beta, norm.k) == (5, pytest.approx(2e-4), 0.75, 1.0)
    assert isinstance(M.cifar_convnet(lrn=False).norm1, nn.Identity)
    assert isinstance(M.cifar_convnet(activation="tanh").act, nn.Tanh)
    assert isinstance(M.cifar_convnet(local=False).local3, nn.Conv2d)
    with pytest.raises(UserError, match="activation"):
        M.cifar_convnet(activation="sigmoid")


def test_cifar_convnet_initialisation():
    torch.manual_seed(0)
    model = M.cifar_convnet()
    for name, std in (("conv1", 1e-4), ("conv2", 0.01), ("local3", 0.04), ("local4", 0.04), ("fc10", 0.01)):
        layer = getattr(model, name)
        assert layer.weight.std().item() == pytest.approx(std, rel=0.1), name
        assert (layer.bias == 0).all(), name


def test_locally_connected_layer_is_a_convolution_without_weight_sharing():
    torch.manual_seed(0)
    local = M.LocallyConnected2d(in_channels=3, out_channels=4, in_size=5, kernel_size=3, padding=1)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():  # the same kernel at every position: a convolution
        local.weight.copy_(conv.weight.reshape(1, 4, -1).expand_as(local.weight))
        local.bias.copy_(conv.bias[:, None].expand_as(local.bias))
    x = torch.randn(2, 3, 5, 5)
    assert torch.allclose(local(x), conv(x), atol=1e-5)
    with torch.no_grad():  # change the kernel of one position only: only that output changes
        before = local(x)
        local.weight[7] += 1.0
        after = local(x)
    changed = (before != after).any(dim=(0, 1)).flatten()
    assert changed.nonzero().flatten().tolist() == [7]
    assert F.unfold(x, 3, padding=1).shape[-1] == local.weight.shape[0]


def test_cifar_convnet_ablation_options():
    overlap, plain = M.cifar_convnet(image_size=24), M.cifar_convnet(image_size=24, pool=2)
    assert (overlap.pool.kernel_size, overlap.pool.stride) == (3, 2)
    assert (plain.pool.kernel_size, plain.pool.stride) == (2, 2)
    assert count_params(plain) == count_params(overlap)   # both pools give 24 -> 12 -> 6 maps
    x = torch.randn(2, 3, 24, 24)
    assert plain(x).shape == (2, 10)
    with pytest.raises(UserError, match="pool"):
        M.cifar_convnet(pool=4)
    model = M.cifar_convnet(image_size=24, dropout=0.5, local=False)
    maps = []
    model.local4.register_forward_hook(lambda m, i, o: maps.append(i[0]))
    model.train()
    model(x)
    assert (maps[-1] == 0).float().mean() > 0.3          # local3's outputs are dropped before local4
    model.eval()
    assert torch.equal(model(x), model(x))
    assert M.cifar_convnet(dropout=0.0).dropout.p == 0.0  # the paper's CIFAR net has no dropout


@pytest.mark.parametrize("activation, gain", [("relu", 2.0), ("tanh", 1.0)])
def test_cifar_convnet_fan_in_initialisation(activation, gain):
    torch.manual_seed(0)
    model = M.cifar_convnet(activation=activation, init="fan-in")
    for name, fan_in in (("conv1", 3 * 25), ("conv2", 64 * 25), ("local3", 64 * 9), ("local4", 32 * 9)):
        std = getattr(model, name).weight.std().item()
        assert std == pytest.approx((gain / fan_in) ** 0.5, rel=0.1), name
    assert model.fc10.weight.std().item() == pytest.approx((1 / (32 * 8 * 8)) ** 0.5, rel=0.1)
    with pytest.raises(UserError, match="init"):
        M.cifar_convnet(init="xavier")
