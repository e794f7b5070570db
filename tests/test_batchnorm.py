"""Batch normalisation paper: the Section 4.1 networks, the percentile tracking and the verdict rules."""

from __future__ import annotations

import math

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.metrics.flops import count_params
from paperzoo.nn import BatchNorm1d
from paperzoo.papers.batchnorm import experiments as ex


def test_section_4_1_networks():
    base, bn = paperzoo.create_model("mlp_sigmoid"), paperzoo.create_model("mlp_sigmoid_bn")
    # 784-100-100-100-10 with biases; with BN the hidden biases give way to gamma and beta
    assert count_params(base) == 784 * 100 + 100 + 2 * (100 * 100 + 100) + 100 * 10 + 10 == 99_710
    assert count_params(bn) == 99_710 - 300 + 2 * 300 == 100_010
    assert [type(layer.norm) for layer in bn.hidden] == [BatchNorm1d] * 3
    assert all(isinstance(layer.act, torch.nn.Sigmoid) for layer in base.hidden)
    w = torch.cat([layer.linear.weight.flatten() for layer in base.hidden])
    assert abs(w.std().item() - 0.01) < 0.001 and abs(w.mean().item()) < 0.001   # small Gaussian weights


def test_percentile_tracker_records_the_last_hidden_layers_input():
    model = paperzoo.create_model("mlp_sigmoid", hidden=(8, 5)).eval()
    x = torch.randn(40, 1, 28, 28)

    class Task:
        def evaluate(self, m):
            m(x[:25])
            m(x[25:])
            return {"test_error": 0.5}

    tracker = ex.PercentileTracker(Task(), model.hidden[-1].norm)
    assert tracker.evaluate(model) == {"test_error": 0.5}
    with torch.no_grad():
        pre = model.hidden[-1].linear(model.hidden[0](x.flatten(1)))   # W u + b of the last hidden layer
    expected = torch.quantile(pre, torch.tensor([0.15, 0.5, 0.85]), dim=0)
    torch.testing.assert_close(tracker.trace[0], expected)


def test_relative_drift_and_typical_unit():
    still = [torch.tensor([[-1.0, -2.0], [0.0, 0.0], [1.0, 2.0]])] * 4   # (3 percentiles, 2 units)
    assert ex.relative_drift(still).tolist() == [0.0, 0.0]
    moving = [torch.tensor([[-1.0 + t, -1.0], [t, 0.0], [1.0 + t, 1.0 + t]]) for t in (0.0, 1.0, 2.0)]
    # unit 0 shifts by 2 with a final spread of 2; unit 1's 85th percentile moves by 2, final spread 4
    torch.testing.assert_close(ex.relative_drift(moving), torch.tensor([1.0, 0.5]))
    trace = [torch.stack([torch.zeros(5), torch.zeros(5) + t * torch.arange(5.0), torch.ones(5)]) for t in (0, 1)]
    assert ex.typical_unit(trace) == 2   # drifts 0, 1, 2, 3, 4: the median is unit 2


def _mnist_outcome(acc_bn, acc_base, steps_bn, steps_base, drift_bn, drift_base):
    out = Outcome()
    for k, v in {"test_accuracy/bn": acc_bn, "test_accuracy/baseline": acc_base, "drift/bn": drift_bn,
                 "drift/baseline": drift_base, "steps_to_baseline_final/bn": steps_bn,
                 "steps_to_baseline_final/baseline": steps_base}.items():
        out.add(k, [v])
    return out


def test_mnist_verdict_rule():
    p = ex.MnistPreset("t")
    assert ex.mnist_verdict(_mnist_outcome(98.0, 96.5, 2000, 45000, 0.2, 1.0), p).status == "holds"
    # 0.2 points on 10,000 images is inside two standard errors
    assert ex.mnist_verdict(_mnist_outcome(97.0, 96.8, 2000, 45000, 0.2, 1.0), p).status == "inconclusive"
    assert ex.mnist_verdict(_mnist_outcome(98.0, 96.5, 30000, 45000, 0.2, 1.0), p).status == "inconclusive"
    assert ex.mnist_verdict(_mnist_outcome(98.0, 96.5, math.inf, 45000, 0.2, 1.0), p).status == "does not hold"
    assert ex.mnist_verdict(_mnist_outcome(98.0, 96.5, 2000, 45000, 1.2, 1.0), p).status == "does not hold"
    assert ex.mnist_verdict(_mnist_outcome(95.0, 96.5, 2000, 45000, 0.2, 1.0), p).status == "does not hold"


def test_higher_lr_verdict_rule():
    p = ex.MnistPreset("t", lrs=(0.1, 1.0, 10.0, 100.0))

    def outcome(base, bn):
        out = Outcome()
        out.values.update({"max_lr/baseline": max(base, default=0.0), "min_lr/baseline": min(base, default=0.0),
                           "max_lr/bn": max(bn, default=0.0), "min_lr/bn": min(bn, default=0.0)})
        return out

    assert ex.higher_lr_verdict(outcome([0.1, 1.0], [0.1, 1.0, 10.0]), p).status == "holds"
    assert ex.higher_lr_verdict(outcome([1.0, 10.0], [0.1, 1.0]), p).status == "does not hold"
    assert ex.higher_lr_verdict(outcome([1.0, 10.0], [1.0, 10.0]), p).status == "does not hold"
    assert ex.higher_lr_verdict(outcome([0.1, 100.0], [100.0]), p).status == "inconclusive"
    assert ex.higher_lr_verdict(outcome([0.1], []), p).status == "inconclusive"


@pytest.mark.parametrize("accs,trains", [([91.0, 95.0], True), ([91.0, 89.0], False), ([0.0], False)])
def test_a_network_trains_only_if_every_seed_clears_the_threshold(accs, trains):
    out = Outcome()
    out.add("test_accuracy/bn/lr3", accs)
    assert ex._trains(out, "bn", 3.0, ex.MnistPreset("t")) is trains
