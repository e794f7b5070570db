"""Batch normalisation paper: the Section 4.1 networks, the percentile tracking and the verdict rules."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
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


def test_the_percentiles_of_the_last_hidden_layers_input_are_recorded_by_a_hook():
    model = paperzoo.create_model("mlp_sigmoid", hidden=(8, 5)).eval()
    x = torch.randn(40, 1, 28, 28)

    def evaluate(m):
        m(x[:25])
        m(x[25:])
        return {"test_error": 0.5}

    metrics, percentiles = ex.sigmoid_input_percentiles(model, evaluate)
    assert metrics == {"test_error": 0.5}
    with torch.no_grad():
        pre = model.hidden[-1].linear(model.hidden[0](x.flatten(1)))   # W u + b of the last hidden layer
    expected = torch.quantile(pre, torch.tensor([0.15, 0.5, 0.85]), dim=0)
    torch.testing.assert_close(percentiles, expected)
    assert not model.hidden[-1].norm._forward_hooks   # the hook is gone
    model(x)


def test_the_percentile_task_traces_every_evaluation(shared_data):
    data = ex.DataConfig(dataset="mnist", batch_size=16, augment=False, val_size=0, train_subset=64, eval_subset=50)
    task = ex.percentile_task(data, device="cpu", seed=0, root=shared_data, channels_last=False, run_dir=None)
    model = paperzoo.create_model("mlp_sigmoid_bn").eval()
    with torch.no_grad():
        task.evaluate(model)
        task.evaluate(model)
    assert len(task.trace) == 2 and task.trace[0].shape == (3, 100) and task.errors["test"].shape == (50,)


def test_relative_drift_and_typical_unit():
    still = [torch.tensor([[-1.0, -2.0], [0.0, 0.0], [1.0, 2.0]])] * 4   # (3 percentiles, 2 units)
    assert ex.relative_drift(still).tolist() == [0.0, 0.0]
    moving = [torch.tensor([[-1.0 + t, -1.0], [t, 0.0], [1.0 + t, 1.0 + t]]) for t in (0.0, 1.0, 2.0)]
    # unit 0 shifts by 2 with a final spread of 2; unit 1's 85th percentile moves by 2, final spread 4
    torch.testing.assert_close(ex.relative_drift(moving), torch.tensor([1.0, 0.5]))
    trace = [torch.stack([torch.zeros(5), torch.zeros(5) + t * torch.arange(5.0), torch.ones(5)]) for t in (0, 1)]
    assert ex.typical_unit(trace) == 2   # drifts 0, 1, 2, 3, 4: the median is unit 2


def per_image(accuracy: float, n: int = 10000, seed: int = 0) -> list[float]:
    """Each test image's error (0 or 100) for a given accuracy (%), the wrong images drawn at random."""
    wrong = set(random.Random(seed).sample(range(n), round((100 - accuracy) * n / 100)))
    return [100.0 * (i in wrong) for i in range(n)]


def _mnist_outcome(acc_bn, acc_base, steps_bn, steps_base, drift_bn, drift_base, steps=6000):
    """Per-seed lists (one value each for a single seed); each image's error for the accuracies."""
    out = Outcome()
    for arm, accs in (("bn", acc_bn), ("baseline", acc_base)):
        out.add_items(f"test_error/{arm}", [per_image(a, seed=10 * (arm == "bn") + s) for s, a in enumerate(accs)])
    for k, v in {"drift/bn": drift_bn, "drift/baseline": drift_base, "steps_to_baseline_final/bn": steps_bn,
                 "steps_to_baseline_final/baseline": steps_base}.items():
        out.add(k, v)
    out.values["train_steps"] = steps
    return out


MNIST = get_claim("batchnorm.mnist")
HIGHER_LR = get_claim("batchnorm.higher-lr")


def test_mnist_verdict_rule():
    p = ex.MnistPreset(description="t")

    def verdict(*args, **kw):
        return MNIST.verdict(_mnist_outcome(*args, **kw), p).status

    three = dict(steps_bn=[2000, 3000, 2500], steps_base=[45000, 40000, 42000])
    assert verdict([98.0] * 3, [96.5] * 3, drift_bn=[0.2, 0.25, 0.22], drift_base=[1.0, 0.9, 1.1], **three) == "holds"
    # one seed: the steps and the drift have no noise model, so the claim cannot hold
    v = MNIST.verdict(_mnist_outcome([98.0], [96.5], [2000], [45000], [0.2], [1.0]), p)
    assert v.status == "inconclusive" and "no noise model" in v.reason
    # but a reversal of the accuracy beyond its paired noise refutes it even with one seed
    assert verdict([95.0], [96.5], [2000], [45000], [0.2], [1.0]) == "does not hold"
    # 0.2 points on 10,000 images is inside the noise
    assert verdict([97.0] * 3, [96.8] * 3, drift_bn=[0.2, 0.25, 0.22], drift_base=[1.0, 0.9, 1.1],
                   **three) == "inconclusive"
    # BN slower, or drifting more, on every seed
    assert verdict([98.0] * 3, [96.5] * 3, [6000, 6000, 5800], [4000, 4200, 3900], [0.2, 0.25, 0.22],
                   [1.0, 0.9, 1.1]) == "does not hold"
    assert verdict([98.0] * 3, [96.5] * 3, drift_bn=[1.3, 1.21, 1.38], drift_base=[1.0, 0.9, 1.1],
                   **three) == "does not hold"
    # the seeds disagree about the drift
    assert verdict([98.0] * 3, [96.5] * 3, drift_bn=[0.2, 1.2, 0.3], drift_base=[1.0, 0.3, 1.1],
                   **three) == "inconclusive"
    # too short to judge
    assert verdict([98.0] * 3, [96.5] * 3, drift_bn=[0.2, 0.25, 0.22], drift_base=[1.0, 0.9, 1.1], steps=2000,
                   **three) == "inconclusive"


def _sweep_outcome(p, base: dict[float, list[float]], bn: dict[float, list[float]], n: int = 10000):
    """Final test accuracies per rate and seed (0 for a diverged run), with binomial noise."""
    out = Outcome()
    for arm, accs in (("baseline", base), ("bn", bn)):
        for lr in p.lrs:
            key = f"test_accuracy/{arm}/lr{lr:g}"
            out.add(key, accs[lr])
            out.value_se[key] = [ex.binomial_se(a, n) for a in accs[lr]]
    ex.read_grid(out, p)
    out.values["train_steps"] = p.train.steps
    return out


def test_higher_lr_reads_the_grid_at_the_baselines_limit():
    p = ex.MnistPreset(description="t", lrs=(0.1, 1.0, 10.0, 100.0), train=replace(ex.PAPER_RECIPE, steps=2500))

    def verdict(base, bn, preset=p):
        return HIGHER_LR.verdict(_sweep_outcome(preset, base, bn), preset)

    grid = lambda *accs: dict(zip(p.lrs, ([a] for a in accs)))   # noqa: E731 - one seed per rate
    v = verdict(grid(95, 96, 10, 0), grid(96, 97, 97, 10))
    assert v.status == "holds" and "At 10:" in v.reason
    out = _sweep_outcome(p, grid(95, 96, 10, 0), grid(96, 97, 97, 10))
    assert out.values["limit_lr"] == 10.0 and out.values["max_lr/bn"] == 10.0 and out.values["min_lr/baseline"] == 0.1
    assert verdict(grid(95, 96, 10, 0), grid(96, 97, 40, 10)).status == "does not hold"   # BN fails there too
    assert verdict(grid(95, 96, 10, 0), grid(96, 97, 90.1, 10)).status == "inconclusive"  # at the threshold
    assert verdict(grid(95, 96, 96, 95), grid(96, 97, 97, 97)).status == "inconclusive"   # the grid's edge
    assert verdict(grid(95, 96, 10, 0), grid(10, 10, 10, 10)).status == "inconclusive"   # BN trains nowhere
    two = dict(zip(p.lrs, ([95, 96], [96, 97], [93, 10], [0, 0])))   # one seed of two trains at 10
    v = verdict(two, dict(zip(p.lrs, ([96, 96], [97, 97], [97, 96], [10, 11]))))
    assert v.status == "inconclusive" and "At 10:" in v.reason       # the baseline's mean there is not surely low
    assert verdict(grid(95, 96, 10, 0), grid(96, 97, 97, 10), replace(p, train=ex.PAPER_RECIPE)).status == "holds"
    short = replace(p, train=replace(ex.PAPER_RECIPE, steps=1000))
    assert verdict(grid(95, 96, 10, 0), grid(96, 97, 97, 10), short).status == "inconclusive"


@pytest.mark.parametrize("accs,trains", [([91.0, 95.0], True), ([91.0, 89.0], False), ([0.0], False)])
def test_a_network_trains_only_if_every_seed_clears_the_threshold(accs, trains):
    out = Outcome()
    out.add("test_accuracy/bn/lr3", accs)
    assert ex._trains(out, "bn", 3.0, ex.MnistPreset(description="t")) is trains


def test_rules_come_from_the_rule_objects():
    assert MNIST.rule == "" and "inconclusive if the run trains for fewer than 5000" in MNIST.rule_text
    assert "first rate above the largest" in HIGHER_LR.rule_text and "at least the preset's threshold" in \
        HIGHER_LR.rule_text
