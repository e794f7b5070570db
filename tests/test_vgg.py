"""VGG (Simonyan & Zisserman 2015): Table 1 layouts, Table 2 counts, init, init_from, dense evaluation."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from paperzoo.errors import UserError
from paperzoo.metrics.flops import count_params
from paperzoo.nn.lrn import LocalResponseNorm
from paperzoo.papers.vgg import model as M
from paperzoo.registry import list_models, model_entry

IMAGENET = {"vgg11": "A", "vgg11_lrn": "A", "vgg13": "B", "vgg16_c": "C", "vgg16": "D", "vgg19": "E"}
CIFAR = ["vgg11_cifar", "vgg13_cifar", "vgg16_c_cifar", "vgg16_cifar", "vgg19_cifar", "vgg_shallow5x5_cifar",
         "vgg_tiny"]


def small_imagenet_vgg(config: str, **kwargs) -> M.VGG:
    """Table 1's geometry (five pools, a 7x7 window for fc6) with few channels, so it runs fast at 224.

    Glorot initialisation keeps the activations of order one, so that positions and classes differ.
    """
    return M.VGG(config=config, widths=(4, 4, 8, 8, 8), hidden=16, num_classes=5, init="glorot", **kwargs)


def test_registered_with_a_tiny_variant():
    names = set(list_models(paper="vgg"))
    assert set(IMAGENET) | set(CIFAR) <= names
    assert model_entry("vgg_tiny").tiny and model_entry("vgg16").input_size == (3, 224, 224)


@pytest.mark.parametrize("name, table2_millions, exact", [
    ("vgg11", 133, 132_863_336), ("vgg11_lrn", 133, 132_863_336), ("vgg13", 133, 133_047_848),
    ("vgg16_c", 134, 133_638_952), ("vgg16", 138, 138_357_544), ("vgg19", 144, 143_667_240),
])
def test_parameter_counts_match_table2(name, table2_millions, exact):
    with torch.device("meta"):
        model = getattr(M, name)()
    n = count_params(model)
    assert round(n / 1e6) == table2_millions
    assert n == exact
    assert model.config == IMAGENET[name]


def test_vgg16_count_derived():
    """D: 13 3x3 convolutions and three FC layers, 138,357,544 parameters with 1000 classes."""
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    fcs = [(7 * 7 * 512, 4096), (4096, 4096), (4096, 1000)]
    total = sum(9 * i * o + o for i, o in convs) + sum(i * o + o for i, o in fcs)
    with torch.device("meta"):
        assert count_params(M.vgg16()) == total == 138_357_544


@pytest.mark.parametrize("config, weight_layers, one_by_one", [
    ("A", 11, []), ("B", 13, []), ("C", 16, ["conv3_3", "conv4_3", "conv5_3"]), ("D", 16, []), ("E", 19, []),
])
def test_table1_layouts(config, weight_layers, one_by_one):
    model = small_imagenet_vgg(config)
    convs = model.convs()
    assert len(convs) + 3 == weight_layers
    assert [n for n, c in convs.items() if c.kernel_size == (1, 1)] == one_by_one
    assert all(c.padding == (c.kernel_size[0] // 2,) * 2 and c.stride == (1, 1) for c in convs.values())
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 5
    assert [m.p for m in model.classifier if isinstance(m, nn.Dropout)] == [0.5, 0.5]


def test_shallow_5x5_net_replaces_each_pair_of_3x3_layers_of_b():
    """Section 4.1: five 5x5 convolutions where B has five pairs of 3x3, the same receptive field."""
    shallow, b = small_imagenet_vgg("B-5x5"), small_imagenet_vgg("B")
    assert [c.kernel_size for c in shallow.convs().values()] == [(5, 5)] * 5
    assert [c.out_channels for c in shallow.convs().values()] == [c.out_channels for c in b.convs().values()][::2]
    assert len(shallow.convs()) + 3 == 8
    assert M.vgg_shallow5x5_cifar(widths=(4, 4, 8, 8, 8), hidden=8)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_cifar_variants_take_widths_and_hidden_units():
    model = M.vgg16_cifar(widths=(8, 16, 32, 64, 64), hidden=64)
    assert [c.out_channels for c in model.convs().values()][::3] == [8, 16, 32, 64, 64]
    assert model.fcs()["fc6"].in_features == 64 and model.fcs()["fc7"].in_features == 64
    assert count_params(M.vgg16_cifar()) == 15_245_130  # the default widths and 512 hidden units


def test_a_lrn_has_one_lrn_after_the_first_layer():
    model = small_imagenet_vgg("A", lrn=True)
    kinds = [type(m) for m in model.features[:4]]
    assert kinds == [nn.Conv2d, nn.ReLU, LocalResponseNorm, nn.MaxPool2d]
    assert sum(isinstance(m, LocalResponseNorm) for m in model.features) == 1
    assert count_params(model) == count_params(small_imagenet_vgg("A"))
    with pytest.raises(UserError, match="configuration"):
        M.VGG(config="F")


def test_forward_shapes():
    model = small_imagenet_vgg("D").eval()
    assert model(torch.randn(2, 3, 224, 224)).shape == (2, 5)
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 5)  # the adaptive pool repeats the 2x2 maps
    assert M.vgg_tiny()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_initialisation():
    torch.manual_seed(0)
    model = M.vgg11_cifar()
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            assert (m.bias == 0).all()
    assert model.convs()["conv4_1"].weight.std().item() == pytest.approx(0.01, rel=0.02)
    glorot = M.vgg11_cifar(init="glorot").convs()["conv4_1"].weight
    bound = (6 / (9 * 256 + 9 * 512)) ** 0.5
    assert glorot.abs().max() <= bound and glorot.abs().max() > 0.99 * bound
    torch.manual_seed(0)
    he = M.vgg11_cifar(init="kaiming").convs()["conv4_1"].weight   # N(0, 2 / fan_in), fan_in = 9 * 256
    assert he.std().item() == pytest.approx((2 / (9 * 256)) ** 0.5, rel=0.02) and he.mean().abs() < 1e-3
    with pytest.raises(UserError, match="init"):
        M.vgg11_cifar(init="he")


def test_literal_init_reading_explodes_and_outputs_scale_as_std_to_the_depth():
    """The module docstring's figures: A's logits scale as std^11; 0.1 gives ~2e4 on CIFAR input."""
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    stds = {}
    for std in (0.1, 0.01):
        torch.manual_seed(0)
        with torch.no_grad():
            stds[std] = M.vgg11_cifar(init_std=std).eval()(x).std().item()
    assert stds[0.1] > 1e3 and stds[0.01] < 1e-3
    assert stds[0.1] / stds[0.01] == pytest.approx(1e11, rel=1e-3)


# --- Section 3.1: initialising a deeper net from A ----------------------------------------------


@pytest.mark.parametrize("config", ["B", "C", "D", "E"])
def test_init_from_copies_first_four_convs_and_the_fc_layers(config):
    torch.manual_seed(0)
    trained_a = small_imagenet_vgg("A")
    torch.manual_seed(1)
    deep = small_imagenet_vgg(config)
    before = {name: layer.weight.clone() for name, layer in {**deep.convs(), **deep.fcs()}.items()}
    copied = M.init_from(deep, trained_a)
    assert copied == ["conv1_1", "conv2_1", "conv3_1", "conv3_2", "fc6", "fc7", "fc8"]
    source = {**trained_a.convs(), **trained_a.fcs()}
    target = {**deep.convs(), **deep.fcs()}
    for name, layer in target.items():
        if name in copied:
            assert not torch.equal(layer.weight, before[name]), name
            assert torch.equal(layer.weight, source[name].weight) and torch.equal(layer.bias, source[name].bias)
        else:  # still the random initialisation
            assert torch.equal(layer.weight, before[name]), name


def test_init_from_refuses_mismatched_shapes():
    with pytest.raises(UserError, match="cannot copy"):
        M.init_from(small_imagenet_vgg("D"), M.VGG(config="A", widths=(4, 8, 8, 8, 8), hidden=16, num_classes=5))


# --- Section 3.2: dense evaluation -------------------------------------------------------------


def test_dense_score_map_equals_the_fc_model_at_224():
    torch.manual_seed(0)
    model = small_imagenet_vgg("A").eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        scores = model.score_map(x)
        logits = model(x)
    assert scores.shape == (2, 5, 1, 1) and logits.std() > 0.01
    assert torch.allclose(scores[:, :, 0, 0], logits, atol=1e-6, rtol=1e-5)


def test_dense_score_map_on_larger_images_is_the_fc_model_on_each_window():
    torch.manual_seed(0)
    model = small_imagenet_vgg("A").eval()
    x = torch.randn(1, 3, 288, 256)  # features 9x8 -> score map 3x2
    with torch.no_grad():
        scores = model.score_map(x)
        features = model.features(x)
        assert scores.shape == (1, 5, 3, 2)
        assert (scores - scores.mean(dim=(2, 3), keepdim=True)).abs().max() > 1e-3  # positions differ
        for i in range(3):
            for j in range(2):
                window = features[:, :, i:i + 7, j:j + 7].flatten(1)
                assert torch.allclose(scores[:, :, i, j], model.classifier(window), atol=1e-6, rtol=1e-5)


def test_dense_evaluate_averages_space_flips_and_scales():
    from paperzoo.data.imagenet import resize_shorter

    torch.manual_seed(0)
    model = small_imagenet_vgg("A")
    images = torch.randn(2, 3, 240, 250)
    probs = M.dense_evaluate(model, images, scales=(224, 256))
    assert not model.training and probs.shape == (2, 5) and torch.allclose(probs.sum(1), torch.ones(2))
    manual = []
    with torch.no_grad():
        for q in (224, 256):
            x = resize_shorter(images, q)
            for view in (x, x.flip(-1)):
                manual.append(model.score_map(view).mean(dim=(2, 3)).softmax(1))
    assert torch.allclose(probs, torch.stack(manual).mean(0), atol=1e-6)
    assert not torch.allclose(manual[0], manual[2], atol=1e-3)  # the scales give different posteriors
    no_flip = M.dense_evaluate(model, images, scales=(224,), flip=False)
    with torch.no_grad():
        assert torch.allclose(no_flip, model.score_map(resize_shorter(images, 224)).mean((2, 3)).softmax(1))
