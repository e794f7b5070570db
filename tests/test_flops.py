"""Multiply-accumulate and parameter counting (paperzoo.metrics.flops)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from paperzoo.metrics.flops import count_macs, count_params
from paperzoo.papers.resnet import model as M


def meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return getattr(M, name)(**kwargs)


# --- single layers against hand computation -------------------------------------------------


def test_conv2d_macs():
    # 8 x 16 x 16 outputs, each a sum over 3 channels x 3 x 3 taps: 8*256*27 = 55296
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    assert count_macs(conv, (3, 32, 32)) == 8 * 16 * 16 * 3 * 9 == 55_296
    assert count_macs(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), (3, 32, 32)) == 55_296


def test_grouped_and_other_dim_convs():
    # groups=4: each of 16 x 10 x 10 outputs sees 8/4 = 2 input channels x 9 taps
    assert count_macs(nn.Conv2d(8, 16, 3, padding=1, groups=4), (8, 10, 10)) == 16 * 100 * 2 * 9
    assert count_macs(nn.Conv1d(4, 6, 5), (4, 20)) == 6 * 16 * 4 * 5
    assert count_macs(nn.Conv3d(2, 3, 3, padding=1), (2, 4, 4, 4)) == 3 * 64 * 2 * 27
    # transposed, kernel = stride = 2: each of 4 x 5 x 5 inputs feeds 6 channels x 4 taps
    assert count_macs(nn.ConvTranspose2d(4, 6, 2, stride=2), (4, 5, 5)) == 100 * 6 * 4


def test_linear_macs():
    assert count_macs(nn.Linear(20, 7), (20,)) == 140
    assert count_macs(nn.Linear(20, 7, bias=False), (20,)) == 140
    assert count_macs(nn.Linear(20, 7), (5, 20)) == 5 * 140  # per example of shape (5, 20)
    assert count_macs(nn.Linear(20, 7), torch.randn(9, 20)) == 140  # a batch: per example


def test_sequential_sums_layers_and_ignores_others():
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(4, 2))
    assert count_macs(net, (3, 8, 8)) == 4 * 64 * 3 + 4 * 2


def test_hooks_removed_and_modes_restored_even_on_error():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            assert not self.training and not torch.is_grad_enabled()
            self.conv(x)
            raise RuntimeError("boom")

    net = Broken().train()
    net.fc.eval()  # mixed modes come back as they were
    with pytest.raises(RuntimeError, match="boom"):
        count_macs(net, (3, 4, 4))
    assert not net.conv._forward_hooks and not net.fc._forward_hooks
    assert net.training and net.conv.training and not net.fc.training


def test_count_params():
    net = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))  # 55 + 12
    assert count_params(net) == 67
    net[0].requires_grad_(False)
    assert count_params(net) == 12
    assert count_params(net, trainable_only=False) == 67


# --- the paper's Table 1 --------------------------------------------------------------------


def test_resnet18_macs_by_hand():
    conv1 = 64 * 112 * 112 * 3 * 7 * 7  # 7x7/2 stem: 118,013,952
    layer1 = 4 * 64 * 56 * 56 * 64 * 9  # four 3x3 convs 64->64 at 56x56: 462,422,016
    # Every later stage has the same cost (channels double, maps halve): a 3x3/2 conv C->2C,
    # three 3x3 convs 2C->2C and the 1x1/2 projection C->2C, at 28x28 for C = 64.
    stage = 128 * 28 * 28 * (64 * 9 + 3 * 128 * 9 + 64)  # 411,041,792
    fc = 512 * 1000
    assert count_macs(meta("resnet18")) == conv1 + layer1 + 3 * stage + fc == 1_814_073_344


@pytest.mark.parametrize("name, giga", [
    ("resnet18", 1.8), ("resnet34", 3.6), ("resnet50", 3.8), ("resnet101", 7.6), ("resnet152", 11.3),
])
def test_table_1_flops(name, giga):
    macs = count_macs(meta(name))
    # Measured: 1.81, 3.66, 3.86, 7.57, 11.28 GMACs (the paper's figures are not all rounded up).
    assert abs(macs / 1e9 - giga) / giga < 0.05


def test_resnet50_v15_costs_more():
    # Moving the stride to the 3x3 conv runs the first 1x1 conv of each downsampling block at
    # the higher resolution: torchvision's resnet50 is quoted at 4.09 GFLOPs.
    macs = count_macs(meta("resnet50", stride_in_3x3=True))
    assert macs == 4_089_184_256
    assert macs > count_macs(meta("resnet50"))


def test_real_and_meta_counts_agree():
    real = M.resnet8()
    assert count_macs(real, (3, 32, 32)) == count_macs(meta("resnet8"), (3, 32, 32))
    assert count_macs(real, torch.randn(3, 3, 32, 32)) == count_macs(real, (3, 32, 32))
    assert count_macs(M.resnet10()) == 889_229_312
