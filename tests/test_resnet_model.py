"""ResNet and plain networks (He et al. 2015): sizes, shortcuts, responses, init, torchvision keys."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from paperzoo.errors import UserError
from paperzoo.metrics.flops import count_macs, count_params
from paperzoo.papers.resnet import model as M
from paperzoo.registry import list_models, model_entry

CIFAR_N = {"resnet8": 1, "resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18,
           "resnet1202": 200}
PLAIN_CIFAR = ["plain8", "plain20", "plain32", "plain44", "plain56", "plain110"]
IMAGENET = ["resnet10", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plain18", "plain34"]


def build(name: str, *, meta: bool = False, **kwargs) -> M.ResNet:
    if meta:
        with torch.device("meta"):
            return getattr(M, name)(**kwargs)
    return getattr(M, name)(**kwargs)


def cifar_params(n: int) -> int:
    """Parameters of the 6n+2-layer CIFAR ResNet with option A (no shortcut parameters).

    Convolutions have no bias; each BN has 2 parameters per channel.
      stem:    3*16*9 + 2*16                                     = 464
      stage 1: 2n convs 16->16: 2n * (16*16*9 + 2*16)           = 4672 n
      stage 2: 16->32 conv, then 2n-1 convs 32->32, 2n BNs:
               16*32*9 + (2n-1)*32*32*9 + 2n*2*32                = 18560 n - 4608
      stage 3: 32*64*9 + (2n-1)*64*64*9 + 2n*2*64                = 73984 n - 18432
      fc:      64*10 + 10                                        = 650
      total                                                      = 97216 n - 21926
    """
    return 97216 * n - 21926


# --- registry -------------------------------------------------------------------------------


def test_all_builders_registered_keyword_only_with_summary():
    names = set(list_models(paper="resnet"))
    assert set(CIFAR_N) | set(PLAIN_CIFAR) | set(IMAGENET) <= names
    for name in names:
        entry = model_entry(name)
        params = entry.signature().parameters
        assert {"num_classes", "shortcut"} <= set(params), name
        assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in params.values()), name
        assert entry.summary, name
        cifar = name in CIFAR_N or name in PLAIN_CIFAR
        assert entry.input_size == ((3, 32, 32) if cifar else (3, 224, 224))
        assert entry.num_classes == (10 if cifar else 1000)
        assert entry.tiny == (name in ("resnet8", "plain8", "resnet10"))
    for name in ("resnet50", "resnet101", "resnet152"):
        assert "stride_in_3x3" in model_entry(name).signature().parameters


def test_defaults_follow_the_paper():
    assert build("resnet20").shortcut == "A"
    assert build("resnet18", meta=True).shortcut == "B"
    with pytest.raises(UserError, match="shortcut"):
        build("resnet20", shortcut="D")
    with pytest.raises(UserError, match="stride_in_3x3"):
        M.ResNet(block=M.BasicBlock, layers=(1, 1, 1), stride_in_3x3=True)
    with pytest.raises(UserError, match="plain"):
        M.ResNet(residual=False, zero_init_residual=True)


# --- sizes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("resnet18", 11_689_512), ("resnet34", 21_797_672), ("resnet50", 25_557_032),
    ("resnet101", 44_549_160), ("resnet152", 60_192_808),
])
def test_imagenet_parameter_counts_match_torchvision_exactly(name, expected):
    assert count_params(build(name, meta=True)) == expected


@pytest.mark.parametrize("name, paper_millions", [
    ("resnet20", 0.27), ("resnet32", 0.46), ("resnet44", 0.66), ("resnet56", 0.85),
    ("resnet110", 1.7), ("resnet1202", 19.4),
])
def test_cifar_parameter_counts_match_table_6(name, paper_millions):
    n = count_params(build(name, meta=True))
    assert n == cifar_params(CIFAR_N[name])
    # The paper's figure is the count rounded to its printed precision (1.728M -> "1.7M").
    digits = 2 if paper_millions < 1 else 1
    assert round(n / 1e6, digits) == paper_millions


def test_cifar_depth_is_6n_plus_2():
    for name, n in CIFAR_N.items():
        if n > 18:
            continue
        m = build(name)
        weighted = [x for x in m.modules() if isinstance(x, (nn.Conv2d, nn.Linear))]
        assert len(weighted) == 6 * n + 2


# --- shortcuts ------------------------------------------------------------------------------


def test_option_a_adds_no_parameters_over_plain():
    for res, plain in [("resnet20", "plain20"), ("resnet56", "plain56")]:
        assert count_params(build(res)) == count_params(build(plain)) == cifar_params(CIFAR_N[res])
    assert count_params(build("resnet34", meta=True, shortcut="A")) == count_params(build("plain34", meta=True))


def test_option_b_adds_projections_at_stage_transitions_only():
    # CIFAR: 1x1 convs 16->32 and 32->64, each with a BN: (16*32 + 2*32) + (32*64 + 2*64) = 2752
    assert count_params(build("resnet20", shortcut="B")) - count_params(build("resnet20")) == 2752
    b = build("resnet20", shortcut="B")
    assert sum(isinstance(blk.downsample, nn.Sequential) for blk in b.blocks()) == 2
    # ImageNet basic: 64->128, 128->256, 256->512: 8192+256 + 32768+512 + 131072+1024 = 173824
    r34 = build("resnet34", meta=True)
    assert count_params(r34) - count_params(build("plain34", meta=True)) == 173_824
    assert sum(isinstance(blk.downsample, nn.Sequential) for blk in r34.blocks()) == 3
    assert count_params(build("plain34", meta=True)) == 21_797_672 - 173_824


def test_option_c_projects_every_shortcut():
    c = build("resnet20", shortcut="C")
    assert all(isinstance(blk.downsample, nn.Sequential) for blk in c.blocks())
    # stage 1: 3 * (16*16 + 2*16) = 864; stage 2: (16*32 + 64) + 2 * (32*32 + 64) = 2752;
    # stage 3: (32*64 + 128) + 2 * (64*64 + 128) = 10624; total 14240
    assert count_params(c) - count_params(build("resnet20")) == 14_240


def test_option_a_shortcut_subsamples_and_zero_pads():
    x = torch.randn(2, 16, 8, 8)
    out = M.ZeroPadShortcut(in_channels=16, out_channels=32, stride=2)(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])   # the notes' tf.pad: 8 zeros before, 8 after
    assert torch.equal(out[:, :8], torch.zeros(2, 8, 4, 4)) and torch.equal(out[:, 24:], torch.zeros(2, 8, 4, 4))
    blk = build("resnet20").layer2[0]
    assert isinstance(blk.downsample, M.ZeroPadShortcut) and not list(blk.downsample.parameters())
    assert blk.downsample.placement == "symmetric"
    assert build("resnet20").layer1[0].downsample is None  # pure identity (Eq. 1)


def test_option_a_placements_on_a_known_tensor():
    # channel c holds the value c + 1 at every position; 2 -> 5 channels, stride 2 on a 2x2 map
    x = torch.arange(1.0, 3.0).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    symmetric = M.ZeroPadShortcut(in_channels=2, out_channels=5, stride=2)(x)
    appended = M.ZeroPadShortcut(in_channels=2, out_channels=5, stride=2, placement="append")(x)
    assert symmetric.flatten().tolist() == [0.0, 1.0, 2.0, 0.0, 0.0]  # (5-2)//2 = 1 before, 2 after
    assert appended.flatten().tolist() == [1.0, 2.0, 0.0, 0.0, 0.0]
    notes = np.pad(x[:, :, ::2, ::2].permute(0, 2, 3, 1).numpy(), [[0, 0], [0, 0], [0, 0], [1, 1]])  # NHWC
    even = M.ZeroPadShortcut(in_channels=2, out_channels=4, stride=2)(x)
    assert np.array_equal(even.permute(0, 2, 3, 1).numpy(), notes)  # the notes' tf.pad, (out-in)//2 each side
    with pytest.raises(ValueError, match="placement"):
        M.ZeroPadShortcut(in_channels=2, out_channels=4, placement="middle")


def test_option_a_placements_differ_only_in_where_the_zeros_go():
    sym, app = build("resnet20"), build("resnet20", shortcut="A-append")
    assert app.layer2[0].downsample.placement == "append" and app.shortcut == "A-append"
    assert count_params(sym) == count_params(app)
    assert count_macs(sym, (3, 32, 32)) == count_macs(app, (3, 32, 32))
    app.load_state_dict(sym.state_dict())   # same tensors, same names ...
    sym.eval(), app.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(sym(x), app(x), atol=1e-3)   # ... but a different network


def test_make_shortcut_options():
    same = dict(in_channels=16, out_channels=16, stride=1)
    grow = dict(in_channels=16, out_channels=32, stride=2)
    assert M.make_shortcut("A", **same) is None and M.make_shortcut("B", **same) is None
    assert isinstance(M.make_shortcut("A", **grow), M.ZeroPadShortcut)
    assert M.make_shortcut("A-append", **same) is None
    assert M.make_shortcut("A-append", **grow).placement == "append"
    for option, kw in [("B", grow), ("C", same), ("C", grow)]:
        proj = M.make_shortcut(option, **kw)
        conv, bn = proj
        assert conv.kernel_size == (1, 1) and conv.stride == (kw["stride"],) * 2 and conv.bias is None
        assert isinstance(bn, nn.BatchNorm2d)


@pytest.mark.parametrize("train", [True, False])
def test_zeroed_residual_branch_gives_relu_of_shortcut(train):
    """With the last BN's gamma = 0 (and beta = 0), F(x) = 0, so y = relu(x) (Eq. 1)."""
    net = build("resnet8", zero_init_residual=True).train(train)
    x = torch.randn(4, 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(net.layer1[0](x), torch.relu(x))
        shortcut = net.layer2[0].downsample(x)  # option A
        assert torch.equal(net.layer2[0](x), torch.relu(shortcut))
    blk = M.Bottleneck(in_channels=256, channels=64).train(train)
    nn.init.zeros_(blk.bn3.weight)
    x = torch.randn(2, 256, 6, 6)
    with torch.no_grad():
        assert torch.equal(blk(x), torch.relu(x))


def test_zero_init_residual_zeroes_last_bn_of_each_block():
    net = build("resnet8", zero_init_residual=True)
    for blk in net.blocks():
        assert torch.all(blk.bn2.weight == 0) and torch.all(blk.bn1.weight == 1)
    assert torch.all(build("resnet8").layer1[0].bn2.weight == 1)


def test_plain_blocks_have_no_shortcut_path():
    plain = build("plain8").eval()
    res = build("resnet8").eval()
    for net in (plain, res):
        for blk in net.blocks():
            with torch.no_grad():
                blk.conv1.weight.zero_()
                blk.conv2.weight.zero_()
                blk.bn2.bias.uniform_(-1, 1)
    x1, x2 = torch.randn(3, 16, 32, 32), torch.randn(3, 16, 32, 32)
    with torch.no_grad():
        # No convolution, no path: the plain block's output is the same for every input.
        assert torch.equal(plain.layer1[0](x1), plain.layer1[0](x2))
        assert torch.equal(plain.layer2[0](x1), plain.layer2[0](x2))
        # The residual block still passes its input on through the shortcut.
        assert not torch.equal(res.layer1[0](x1), res.layer1[0](x2))
    assert all(blk.downsample is None for blk in build("plain20", shortcut="C").blocks())
    assert not any(m.kernel_size == (1, 1) for m in build("plain34", meta=True).modules()
                   if isinstance(m, nn.Conv2d))


# --- shapes ---------------------------------------------------------------------------------


def test_cifar_output_shape_and_stage_resolutions():
    for name in ("resnet8", "plain8"):
        net = build(name)
        x = torch.randn(2, 3, 32, 32)
        shapes = []
        hooks = [s.register_forward_hook(lambda m, i, o, shapes=shapes: shapes.append(tuple(o.shape)))
                 for s in net.stages()]
        assert net(x).shape == (2, 10)
        for h in hooks:
            h.remove()
        assert shapes == [(2, 16, 32, 32), (2, 32, 16, 16), (2, 64, 8, 8)]
    assert build("resnet8", num_classes=100)(torch.randn(1, 3, 32, 32)).shape == (1, 100)


def test_imagenet_output_shape_and_7x7_before_pooling():
    net = build("resnet10").eval()
    seen = []
    h = net.avgpool.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    with torch.no_grad():
        assert net(torch.randn(2, 3, 224, 224)).shape == (2, 1000)
    h.remove()
    assert seen == [(2, 512, 7, 7)]
    for name in ("resnet50", "plain34"):
        r = build(name, meta=True)
        feats = r.forward_features(torch.empty(2, 3, 224, 224, device="meta"))
        assert feats.shape == (2, r.num_features, 7, 7)
        assert r(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 1000)
    assert build("resnet50", meta=True).num_features == 2048


def test_bottleneck_stride_placement():
    v1 = build("resnet50", meta=True).layer2[0]
    assert v1.conv1.stride == (2, 2) and v1.conv2.stride == (1, 1)
    v15 = build("resnet50", meta=True, stride_in_3x3=True).layer2[0]
    assert v15.conv1.stride == (1, 1) and v15.conv2.stride == (2, 2)
    for blk in (v1, v15):
        assert blk.downsample[0].stride == (2, 2)


# --- layer responses (Fig. 7) ---------------------------------------------------------------


@pytest.mark.parametrize("name, count", [
    ("resnet20", 18), ("plain20", 18), ("resnet56", 54), ("plain56", 54), ("resnet110", 108),
    ("resnet18", 16), ("resnet34", 32), ("resnet50", 16),
])
def test_response_layer_counts(name, count):
    net = build(name, meta=True)
    layers = net.response_layers()
    assert len(layers) == count  # 2 per basic block, 1 per bottleneck
    assert all(isinstance(bn, nn.BatchNorm2d) for bn in layers)
    assert net.response_layers(include_stem=True) == [net.bn1] + layers


def test_response_layers_follow_3x3_convs_in_depth_order():
    net = build("resnet8")
    names = {m: n for n, m in net.named_modules()}
    assert [names[bn] for bn in net.response_layers()] == [
        f"layer{s}.0.bn{k}" for s in (1, 2, 3) for k in (1, 2)]
    convs = dict(net.named_modules())
    for bn in net.response_layers():
        conv = convs[names[bn].replace("bn", "conv")]
        assert conv.kernel_size == (3, 3) and conv.out_channels == bn.num_features
    r50 = build("resnet50", meta=True)
    assert all(bn is blk.bn2 for bn, blk in zip(r50.response_layers(), r50.blocks()))


def test_response_hooks_record_pre_activation_outputs():
    for name in ("resnet8", "plain8"):
        net = build(name).eval()
        recorded = []
        hooks = [bn.register_forward_hook(lambda m, i, o, recorded=recorded: recorded.append(o))
                 for bn in net.response_layers()]
        with torch.no_grad():
            net(torch.randn(4, 3, 32, 32))
        for h in hooks:
            h.remove()
        assert [tuple(r.shape[1:]) for r in recorded] == [
            (16, 32, 32), (16, 32, 32), (32, 16, 16), (32, 16, 16), (64, 8, 8), (64, 8, 8)]
        # Before ReLU: negative values survive (no in-place ReLU overwrote what the hook kept).
        assert all((r < 0).any() for r in recorded)


# --- initialisation -------------------------------------------------------------------------


def test_conv_init_is_he_normal_with_fan_in():
    torch.manual_seed(0)
    net = build("resnet18")
    w = net.layer4[1].conv2.weight  # 512 x 512 x 3 x 3: n = k^2 c = 9 * 512
    expected = math.sqrt(2 / (9 * 512))
    assert abs(w.std().item() - expected) / expected < 0.1
    assert abs(w.mean().item()) < 0.1 * expected
    stem = build("resnet8").conv1.weight  # only 432 weights: loose
    assert abs(stem.std().item() - math.sqrt(2 / 27)) / math.sqrt(2 / 27) < 0.25
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
        if isinstance(m, nn.Conv2d):
            assert m.bias is None
    assert torch.all(net.fc.bias == 0)
    assert net.fc.weight.abs().max() <= 1 / math.sqrt(512)


# --- torchvision state dicts ----------------------------------------------------------------


def torchvision_state_dict(block: str, layers: list[int], num_classes: int = 1000) -> dict:
    """A state dict with torchvision's key names and shapes, written out from its ResNet code."""
    g = torch.Generator().manual_seed(0)
    sd: dict[str, torch.Tensor] = {}

    def conv(key, o, i, k):
        sd[f"{key}.weight"] = torch.randn(o, i, k, k, generator=g)

    def bn(key, c):
        sd[f"{key}.weight"] = torch.rand(c, generator=g) + 0.5
        sd[f"{key}.bias"] = torch.randn(c, generator=g)
        sd[f"{key}.running_mean"] = torch.randn(c, generator=g)
        sd[f"{key}.running_var"] = torch.rand(c, generator=g) + 0.5
        sd[f"{key}.num_batches_tracked"] = torch.tensor(7)

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    inplanes, expansion = 64, 1 if block == "basic" else 4
    for s, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
        for j in range(n):
            p = f"layer{s + 1}.{j}"
            if block == "basic":
                conv(f"{p}.conv1", planes, inplanes, 3), bn(f"{p}.bn1", planes)
                conv(f"{p}.conv2", planes, planes, 3), bn(f"{p}.bn2", planes)
            else:
                conv(f"{p}.conv1", planes, inplanes, 1), bn(f"{p}.bn1", planes)
                conv(f"{p}.conv2", planes, planes, 3), bn(f"{p}.bn2", planes)
                conv(f"{p}.conv3", planes * 4, planes, 1), bn(f"{p}.bn3", planes * 4)
            if j == 0 and (s > 0 or inplanes != planes * expansion):
                conv(f"{p}.downsample.0", planes * expansion, inplanes, 1)
                bn(f"{p}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    sd["fc.weight"] = torch.randn(num_classes, inplanes, generator=g)
    sd["fc.bias"] = torch.randn(num_classes, generator=g)
    return sd


@pytest.mark.parametrize("name, block, layers, kwargs", [
    ("resnet18", "basic", [2, 2, 2, 2], {}),
    ("resnet50", "bottleneck", [3, 4, 6, 3], {"stride_in_3x3": True}),
])
def test_torchvision_keys_load_strictly(name, block, layers, kwargs):
    sd = torchvision_state_dict(block, layers)
    net = build(name, **kwargs)
    M.load_torchvision_state_dict(net, sd)
    assert net.state_dict().keys() == sd.keys()
    assert all(torch.equal(net.state_dict()[k], v) for k, v in sd.items())
    net.load_state_dict(sd)  # the mapping is the identity: plain strict loading works too
    M.load_torchvision_state_dict(build(name, **kwargs), {f"module.{k}": v for k, v in sd.items()})


def test_torchvision_loading_refuses_mismatched_models():
    with pytest.raises(UserError, match="stride_in_3x3"):
        M.load_torchvision_state_dict(build("resnet50", meta=True), {})
    with pytest.raises(UserError, match="option B"):
        M.load_torchvision_state_dict(build("resnet18", meta=True, shortcut="A"), {})
    with pytest.raises(UserError):
        M.load_torchvision_state_dict(build("resnet20"), {})
    with pytest.raises(RuntimeError):  # strict: a missing key is an error
        sd = torchvision_state_dict("basic", [2, 2, 2, 2])
        del sd["fc.bias"]
        M.load_torchvision_state_dict(build("resnet18"), sd)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_outputs_equal_torchvision(name):
    tv = pytest.importorskip("torchvision")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    theirs = getattr(tv.models, name)(weights=None)
    with torch.no_grad():
        for m in theirs.modules():  # non-trivial BN statistics, so that eval mode tests them
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 1.5)
    kwargs = {"stride_in_3x3": True} if name == "resnet50" else {}  # torchvision's are "v1.5"
    ours = build(name, **kwargs)
    M.load_torchvision_state_dict(ours, theirs.state_dict())
    assert count_params(ours) == count_params(theirs)
    assert count_macs(ours) == count_macs(theirs)
    ours, theirs = ours.to(device, torch.float64).eval(), theirs.to(device, torch.float64).eval()
    x = torch.randn(2, 3, 224, 224, device=device, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
    if name == "resnet50":  # the stride placement matters: v1 with the same weights differs
        v1 = build(name).to(device, torch.float64).eval()
        v1.load_state_dict(theirs.state_dict())
        with torch.no_grad():
            assert not torch.allclose(v1(x), theirs(x), atol=1e-3)
