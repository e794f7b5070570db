"""DenseNet (Huang et al. 2017): parameter counts, dense connectivity, transitions, checkpointing, init."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn as nn

from paperzoo.errors import UserError
from paperzoo.metrics.flops import count_params
from paperzoo.papers.densenet import model as M
from paperzoo.registry import list_models, model_entry


def dense_count(*, blocks, k, bottleneck, theta, stem, classes=10):
    """Parameters of a CIFAR DenseNet counted layer by layer (bias-free convolutions, BN 2 per channel).

    A layer reading c maps: BN(c) + conv, i.e. 2c + 9ck, or with a bottleneck
    2c + 4k c + 2(4k) + 9(4k)k. A transition from m maps: 2m + m floor(theta m).
    """
    total, c = 3 * 9 * stem, stem
    for i, n in enumerate(blocks):
        for _ in range(n):
            total += 2 * c + (4 * k * c + 2 * 4 * k + 9 * 4 * k * k if bottleneck else 9 * c * k)
            c += k
        if i < len(blocks) - 1:
            out = math.floor(theta * c)
            total += 2 * c + c * out
            c = out
    return total + 2 * c + c * classes + classes


def test_registered_with_a_tiny_variant():
    names = set(list_models(paper="densenet"))
    assert {"densenet40", "densenet100", "densenet_bc100", "densenet_bc250", "densenet121", "densenet169",
            "densenet201", "densenet_tiny"} <= names
    assert model_entry("densenet_tiny").tiny


def test_cifar_parameter_counts_table2():
    # DenseNet (L=40, k=12): 12 layers per block, first convolution with 16 maps -> "1.0M"
    assert count_params(M.densenet40()) == dense_count(blocks=(12,) * 3, k=12, bottleneck=False, theta=1,
                                                       stem=16) == 1_019_722
    # DenseNet-BC (L=100, k=12): 16 bottleneck layers per block, 2k first maps, theta 0.5 -> "0.8M"
    assert count_params(M.densenet_bc100()) == dense_count(blocks=(16,) * 3, k=12, bottleneck=True, theta=0.5,
                                                           stem=24) == 769_162
    assert round(count_params(M.densenet100()) / 1e6, 1) == 7.0
    assert round(count_params(M.densenet_bc250()) / 1e6, 1) == 15.3


@pytest.mark.parametrize("name, expected", [
    ("densenet121", 7_978_856), ("densenet169", 14_149_480), ("densenet201", 20_013_928),
])
def test_imagenet_parameter_counts(name, expected):
    with torch.device("meta"):
        model = getattr(M, name)()
    assert count_params(model) == expected


def test_block_widths_and_transitions():
    with torch.device("meta"):
        model = M.densenet121()
    widths = [(m.layers[0].norm1.num_features, m.out_channels) for m in model.features if isinstance(m, M.DenseBlock)]
    assert widths == [(64, 64 + 6 * 32), (128, 128 + 12 * 32), (256, 256 + 24 * 32), (512, 512 + 16 * 32)]
    transition = model.features[1]
    assert [type(m) for m in transition] == [nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.AvgPool2d]
    assert (transition[2].in_channels, transition[2].out_channels) == (256, 128)  # theta = 0.5
    layer = model.features[0].layers[0]
    assert (layer.conv1.kernel_size, layer.conv1.out_channels, layer.conv2.kernel_size) == ((1, 1), 128, (3, 3))
    assert model.num_features == 1024
    bc = M.densenet_bc100()
    assert bc.features[1][2].out_channels == math.floor(0.5 * (24 + 16 * 12))
    odd = M.DenseNet(blocks=(1, 1), growth_rate=5, stem_channels=4)  # 9 maps -> floor(4.5) = 4
    assert odd.features[1][2].out_channels == 4 and odd.features[2].layers[0].norm1.num_features == 4
    plain = M.densenet40()
    assert plain.features[1][2].out_channels == 16 + 12 * 12 and not hasattr(plain.features[0].layers[0], "conv2")


def test_each_layer_reads_all_earlier_maps_and_the_block_keeps_its_input():
    torch.manual_seed(0)
    block = M.DenseBlock(layers=3, in_channels=5, growth_rate=4, bottleneck=True)
    assert [layer.norm1.num_features for layer in block.layers] == [5, 9, 13]  # Eq. 2: c_0 + (l-1) k
    x = torch.randn(2, 5, 6, 6)
    out = block(x)
    assert out.shape == (2, 5 + 3 * 4, 6, 6) and torch.equal(out[:, :5], x)
    block.eval()
    with torch.no_grad():
        out = block(x)
        first = block.layers[0]([x])
        second = block.layers[1]([x, first])
    assert torch.allclose(out[:, 5:9], first) and torch.allclose(out[:, 9:13], second)


def test_cifar_forward_and_map_sizes():
    model = M.densenet_tiny()
    sizes = []
    for m in model.features:
        if isinstance(m, M.DenseBlock):
            m.register_forward_hook(lambda mod, i, o: sizes.append(o.shape[-1]))
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert sizes == [32, 16, 8]


@pytest.mark.parametrize("drop_rate", [0.0, 0.2])
def test_memory_efficient_path_equals_the_plain_one(drop_rate):
    torch.manual_seed(0)
    plain = M.DenseNet(blocks=(3, 3), growth_rate=4, drop_rate=drop_rate, num_classes=5)
    efficient = copy.deepcopy(plain)
    efficient.set_memory_efficient(True)
    x = torch.randn(4, 3, 16, 16)
    results = []
    for model in (plain, efficient):
        xi = x.clone().requires_grad_(True)
        torch.manual_seed(1)
        out = model(xi)
        out.square().sum().backward()
        results.append((out, xi.grad, {n: p.grad for n, p in model.named_parameters()}, model.state_dict()))
    (out_a, gx_a, grads_a, state_a), (out_b, gx_b, grads_b, state_b) = results
    assert torch.allclose(out_a, out_b, atol=1e-6) and torch.allclose(gx_a, gx_b, atol=1e-6)
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], atol=1e-5), name
    for name in state_a:  # running statistics updated once, as on the plain path
        assert torch.allclose(state_a[name].float(), state_b[name].float(), atol=1e-6), name


def saved_numel(model: nn.Module, x: torch.Tensor) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x).sum().backward()
    return total


def test_memory_efficient_path_stores_less():
    torch.manual_seed(0)
    model = M.DenseNet(blocks=(6,), growth_rate=4, num_classes=5)
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    plain = saved_numel(model, x)
    model.set_memory_efficient(True)
    assert saved_numel(model, x) < 0.75 * plain
    assert all(layer.memory_efficient for layer in model.features[0].layers)
    model.eval()
    with torch.no_grad():  # no graph: the plain path
        assert model(x).shape == (2, 5)


def test_initialisation():
    torch.manual_seed(0)
    model = M.densenet_bc100()
    conv = model.features[0].layers[5].conv1  # 1x1 to 48 maps: fan-out 48
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / 48), rel=0.05)
    conv = model.features[2].layers[3].conv2  # 3x3 to 12 maps: fan-out 108
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / 108), rel=0.05)
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all((m.weight == 1).all() and (m.bias == 0).all() for m in bns)
    assert (model.fc.bias == 0).all() and model.fc.weight.abs().max() <= 1 / math.sqrt(model.fc.in_features)


def test_options_and_errors():
    with pytest.raises(UserError, match="3n \\+ 4"):
        M._cifar_blocks(41, False)
    with pytest.raises(UserError, match="6n \\+ 4"):
        M._cifar_blocks(42, True)
    assert M._cifar_blocks(100, True) == (16, 16, 16) and M._cifar_blocks(40, False) == (12, 12, 12)
    with pytest.raises(UserError, match="compression"):
        M.DenseNet(blocks=(1,), growth_rate=4, compression=0)
    with pytest.raises(UserError, match="stem"):
        M.DenseNet(blocks=(1,), growth_rate=4, stem="mnist")
    dropped = M.densenet_tiny(drop_rate=0.2)
    assert any(isinstance(m, nn.Dropout) for m in dropped.features[1])
    dropped.train()
    x = torch.randn(2, 3, 32, 32)
    assert not torch.equal(dropped(x), dropped(x))
