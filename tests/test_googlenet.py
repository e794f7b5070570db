"""GoogLeNet (Szegedy et al. 2015): the Inception module, Table 1's widths and params, auxiliary classifiers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from paperzoo.errors import UserError
from paperzoo.metrics.flops import count_params
from paperzoo.nn.lrn import LocalResponseNorm
from paperzoo.papers.googlenet import model as M
from paperzoo.registry import list_models, model_entry

#: Table 1's output depth of each Inception module.
TABLE1_OUTPUT = {"3a": 256, "3b": 480, "4a": 512, "4b": 512, "4c": 512, "4d": 528, "4e": 832, "5a": 832, "5b": 1024}


def weights(module: nn.Module) -> int:
    return sum(p.numel() for name, p in module.named_parameters() if name.endswith("weight"))


@pytest.fixture(scope="module")
def meta_googlenet() -> M.GoogLeNet:
    with torch.device("meta"):
        return M.googlenet()


def test_registered_with_a_tiny_variant():
    assert {"googlenet", "googlenet_cifar", "googlenet_tiny"} <= set(list_models(paper="googlenet"))
    assert model_entry("googlenet_tiny").tiny


def test_inception_module_concatenates_its_four_branches():
    torch.manual_seed(0)
    m = M.Inception(in_channels=6, c1=2, c3r=3, c3=4, c5r=2, c5=5, pool_proj=3)
    assert m.out_channels == 2 + 4 + 5 + 3
    assert m.branch2[1][0].kernel_size == (3, 3) and m.branch3[1][0].kernel_size == (5, 5)  # 5x5, not 3x3
    pool = m.branch4[0]
    assert (pool.kernel_size, pool.stride, pool.padding) == (3, 1, 1)
    x = torch.randn(2, 6, 9, 9)
    out = m(x)
    assert out.shape == (2, 14, 9, 9)
    parts = torch.split(out, [2, 4, 5, 3], dim=1)
    manual = (
        F.relu(m.branch1[0](x)),
        F.relu(m.branch2[1][0](F.relu(m.branch2[0][0](x)))),
        F.relu(m.branch3[1][0](F.relu(m.branch3[0][0](x)))),
        F.relu(m.branch4[1][0](F.max_pool2d(x, 3, 1, 1))),
    )
    for got, want in zip(parts, manual):
        assert torch.allclose(got, want, atol=1e-6)


def test_table1_widths(meta_googlenet):
    for name, module in meta_googlenet.inceptions().items():
        assert module.out_channels == TABLE1_OUTPUT[name], name
        c1, c3r, c3, c5r, c5, pp = M.INCEPTION[name]
        assert module.branch3[0][0].out_channels == c5r and module.branch4[1][0].out_channels == pp


def test_parameters_against_table1(meta_googlenet):
    """Table 1's params column counts weights in units of 1024 (module docstring)."""
    m = meta_googlenet
    ours = {name: weights(module) / 1024 for name, module in m.inceptions().items()}
    ours.update(conv1=weights(m.stem[0]) / 1024, conv2=(weights(m.stem[3]) + weights(m.stem[4])) / 1024,
                fc=weights(m.fc) / 1024)
    rel = {name: ours[name] / M.TABLE1_PARAMS[name] - 1 for name in M.TABLE1_PARAMS}
    for name in ("conv2", "3a", "3b", "4b", "fc"):
        assert abs(rel[name]) < 0.005, (name, rel[name])
    for name in ("4a", "4d", "4e", "5b"):
        assert abs(rel[name]) < 0.02, (name, rel[name])
    assert rel["4c"] == pytest.approx(497.5 / 463 - 1) and rel["5a"] == pytest.approx(1018 / 1072 - 1)
    assert weights(m.stem[0]) == 7 * 7 * 3 * 64 == 9408  # Table 1 says 2.7K
    assert sum(M.TABLE1_PARAMS.values()) == pytest.approx(6797.7)
    assert weights(m) == 6_990_272 and weights(m) / 1024 / 6797.7 - 1 == pytest.approx(0.0042, abs=5e-4)
    assert count_params(m) == 6_998_552
    with torch.device("meta"):
        aux = M.googlenet(aux_logits=True)
    assert (count_params(aux.aux1), count_params(aux.aux2)) == (3_188_840, 3_190_888)
    assert count_params(aux.aux1) == 512 * 128 + 128 + 2048 * 1024 + 1024 + 1024 * 1000 + 1000


def test_map_sizes_follow_table1():
    torch.manual_seed(0)
    model = M.googlenet().eval()
    sizes = {}
    for name, module in model.inceptions().items():
        module.register_forward_hook(lambda m, i, o, name=name: sizes.__setitem__(name, tuple(o.shape[1:])))
    stem = model.stem(torch.randn(1, 3, 224, 224))
    assert stem.shape == (1, 192, 28, 28)
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    spatial = {"3": 28, "4": 14, "5": 7}
    assert sizes == {n: (TABLE1_OUTPUT[n], spatial[n[0]], spatial[n[0]]) for n in TABLE1_OUTPUT}
    lrns = [m for m in model.stem if isinstance(m, LocalResponseNorm)]
    assert len(lrns) == 2 and (lrns[0].size, lrns[0].alpha, lrns[0].k) == (5, pytest.approx(2e-5), 1.0)
    assert model.dropout.p == 0.4


def test_auxiliary_classifiers_in_training_only():
    torch.manual_seed(0)
    model = M.googlenet(aux_logits=True, num_classes=7)
    assert model.aux1.fc1.in_features == 128 * 4 * 4 and model.aux1.dropout.p == 0.7
    x = torch.randn(2, 3, 224, 224)
    out = model(x)
    assert isinstance(out, M.GoogLeNetOutput) and all(t.shape == (2, 7) for t in out)
    model.eval()
    logits = model(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 7)
    assert isinstance(M.googlenet_cifar(aux_logits=True)(torch.randn(2, 3, 32, 32)), M.GoogLeNetOutput)


def test_loss_helper_weights_the_auxiliary_losses_by_0_3():
    torch.manual_seed(0)
    model = M.googlenet_tiny(aux_logits=True, num_classes=4)
    x, y = torch.randn(3, 3, 32, 32), torch.tensor([0, 1, 3])
    out = model(x)
    loss = M.googlenet_loss(out, y)
    manual = F.cross_entropy(out.logits, y) + 0.3 * (F.cross_entropy(out.aux1, y) + F.cross_entropy(out.aux2, y))
    assert torch.allclose(loss, manual)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())  # the auxiliary heads are trained too
    assert torch.equal(M.googlenet_loss(out.logits, y), F.cross_entropy(out.logits, y))


def test_initialisation_follows_the_caffe_reference():
    torch.manual_seed(0)
    model = M.googlenet_tiny(aux_logits=True)
    conv = model.inceptions()["4a"].branch2[1][0]
    bound = math.sqrt(3 / conv.weight[0].numel())
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.95 * bound
    assert (conv.bias == 0.2).all()
    assert (model.fc.bias == 0).all() and (model.aux1.fc2.bias == 0).all() and (model.aux2.fc1.bias == 0.2).all()


def test_layout_and_options():
    tiny = M.googlenet_tiny()
    assert tiny.layout == M.TINY_LAYOUT and list(tiny.inceptions()) == ["3a", "4a", "4d", "5b"]
    assert M.GoogLeNet().layout == M.LAYOUT
    with pytest.raises(UserError, match="auxiliary"):
        M.GoogLeNet(stem="cifar", width=1 / 8, layout=("3a", "pool", "5b"), aux_logits=True)
    with pytest.raises(UserError, match="Inception module"):
        M.GoogLeNet(stem="cifar", width=1 / 8, layout=("3c",))
    with pytest.raises(UserError, match="stem"):
        M.GoogLeNet(stem="mnist")
    assert all(isinstance(m, nn.Identity) for m in M.GoogLeNet(lrn=False, width=1 / 8).stem
               if not isinstance(m, (nn.Sequential, nn.MaxPool2d)))
