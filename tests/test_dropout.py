"""Dropout's Section 9.1: the expected dropout loss of a linear model, its minimiser, and the claim's verdict."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
import torch

from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.dropout import experiments as ex


def _problem(n=3, d=3, k=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, k, generator=g, dtype=torch.float64)
    w = torch.randn(d, k, generator=g, dtype=torch.float64)
    b = torch.randn(k, generator=g, dtype=torch.float64)
    return x, y, w, b


def _enumerate(x, y, w, b, keep_prob, scale):
    """E over every mask of 1/(2N)·‖Y − (R∘X)W − b‖², R_ij ∈ {0, scale}, kept with keep_prob."""
    n, d = x.shape
    total = torch.zeros((), dtype=torch.float64)
    for bits in itertools.product((0, 1), repeat=n * d):
        r = torch.tensor(bits, dtype=torch.float64).view(n, d)
        prob = keep_prob ** r.sum() * (1 - keep_prob) ** (n * d - r.sum())
        total += prob * (y - (r * scale * x) @ w - b).square().sum() / (2 * n)
    return total


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_expected_dropout_loss_equals_the_average_over_every_mask(p):
    x, y, w, b = _problem()
    exact = _enumerate(x, y, w, b, keep_prob=1 - p, scale=1 / (1 - p))   # inverted dropout, drop probability p
    assert float(ex.expected_dropout_loss(x, y, w, b, p)) == pytest.approx(float(exact), rel=1e-12)
    assert float(ex.dropout_penalty(x, w, p)) > 0


def test_the_papers_form_with_its_retain_probability():
    """Srivastava et al.: E‖y − (R∗X)w‖² = ‖y − qXw‖² + q(1 − q)‖Γw‖², Γ = diag(XᵀX)^{1/2}, q retained, no scaling."""
    x, y, w, b = _problem(n=2, d=4, k=1)
    y = y[:, :1]
    q = 0.7
    exact = 2 * x.shape[0] * _enumerate(x, y, w, torch.zeros(1, dtype=torch.float64), keep_prob=q, scale=1.0)
    gamma = torch.diag(x.T @ x).sqrt()
    paper = (y - q * x @ w).square().sum() + q * (1 - q) * (gamma[:, None] * w).square().sum()
    assert float(paper) == pytest.approx(float(exact), rel=1e-12)


def test_ridge_solution_minimises_the_expected_loss():
    x, y, _, _ = _problem(n=40, d=5, k=3, seed=1)
    for p in (0.0, 0.3, 0.6):
        w, b = ex.ridge_solution(x, y, p)
        w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
        ex.expected_dropout_loss(x, y, w, b, p).backward()
        assert w.grad.abs().max() < 1e-12 and b.grad.abs().max() < 1e-12
    ones = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    w0, b0 = ex.ridge_solution(x, y, 0.0)
    assert torch.allclose(torch.cat([w0, b0[None]]), torch.linalg.lstsq(ones, y).solution, atol=1e-10)
    # the penalty shrinks the weights, more for larger p
    norms = [float(ex.ridge_solution(x, y, p)[0].norm()) for p in (0.0, 0.3, 0.6)]
    assert norms[0] > norms[1] > norms[2]


def test_monte_carlo_mean_of_paperzoo_dropout_matches_the_closed_form():
    x, y, w, b = _problem(n=20, d=6, k=2, seed=2)
    p = 0.4
    draws = ex.dropout_losses(x, y, w, b, p, 20000, generator=torch.Generator().manual_seed(0))
    se = draws.std() / math.sqrt(len(draws))
    exact = ex.expected_dropout_loss(x, y, w, b, p)
    assert abs(draws.mean() - exact) < 4 * se
    wrong = ex.squared_loss(x, y, w, b) + p * ex.dropout_penalty(x, w, p) / ex.penalty_weight(p)   # λ = p, not p/(1−p)
    assert abs(draws.mean() - wrong) > 10 * se


def test_monte_carlo_summary_reports_z_and_the_one_over_root_n_slope():
    x, y, w, b = _problem(n=30, d=6, k=2, seed=3)
    m = ex.monte_carlo(x, y, w, b, 0.5, ex.MonteCarlo(examples=30, samples=256, repeats=32), seed=0)
    assert abs(m["z"]) < 4 and -0.7 < m["slope"] < -0.3 and 0 < m["slope_se"] < 0.1
    assert m["counts"][0] == 1 and m["counts"][-1] == 256 and len(m["rms"]) == 9
    assert m["excess"] == pytest.approx(m["z"] * m["excess_se"])


def _outcome(excess=0.005, excess_se=0.01, slope=-0.5, slope_se=0.03, near=(1.0, 1.1), plain=(50.0, 51.0), ols=60.0,
             drops=(0.2, 0.5)):
    """What l2_experiment records: the Monte-Carlo excess (% of E_R[L]) and slope with their measured
    standard errors, and the distances (%) to the closed form, per seed."""
    out = Outcome()
    for p in drops:
        k = f"p={p:g}"
        for key, value, se in (("mc_excess", excess, excess_se), ("mc_slope", slope, slope_se)):
            out.add(f"{key}/{k}", [value])
            out.value_se[f"{key}/{k}"] = [se]
        out.add(f"distance/dropout-sgd-{k}", list(near))
        out.add(f"distance/plain-sgd-to-{k}", list(plain))
        out.add_exact(f"distance/ols-to-{k}", [ols])
    return out


def test_verdict_rule():
    claim = get_claim("dropout.l2-equivalence")
    assert claim.rule == "" and "the preset's drop probabilities" in claim.rule_text
    preset = ex.DropoutPreset(description="t", tolerance=0.05)

    def verdict(**kw):
        return claim.verdict(_outcome(**kw), preset).status

    assert verdict() == "holds"
    # the Monte-Carlo mean: TOST within 0.1% of E_R[L] on its measured standard error
    assert verdict(excess=0.5) == "does not hold"               # a closed form off by 0.5%: outside the margin
    assert verdict(excess=0.095) == "inconclusive"              # the interval reaches past the margin
    assert verdict(excess_se=0.1) == "inconclusive"             # too few masks to tell
    # the slope: holds within [-0.65, -0.35], does not hold beyond [-0.8, -0.2]
    assert verdict(slope=-0.1) == "does not hold"
    assert verdict(slope=-0.3) == "inconclusive"
    assert verdict(slope=-0.4, slope_se=0.1) == "inconclusive"  # the bootstrap interval leaves the band
    # dropout-SGD's distance: at most the tolerance (5%); does not hold beyond 3 tolerances
    assert verdict(near=(20.0, 20.5)) == "does not hold"
    assert verdict(near=(8.0, 8.2)) == "inconclusive"
    assert verdict(near=(1.0,), plain=(50.0,)) == "inconclusive"   # one seed: no noise model for the distances
    assert verdict(near=(2.0, 2.1, 2.05)) == "holds"            # three seeds: the seed interval counts
    assert verdict(near=(2.0, 9.0, 4.0)) == "inconclusive"
    # the controls: plain SGD landing there too leaves the test without power
    assert verdict(plain=(10.0,)) == "inconclusive"
    # SGD that has not had the training to converge is not judged
    short = ex.DropoutPreset(description="t", train=replace(ex.RECIPE, steps=400))
    v = claim.verdict(_outcome(near=(40.0,)), short)
    assert v.status == "inconclusive" and "400 iterations" in v.reason


def test_regression_data_is_pooled_pixels_and_one_hot_labels(shared_data):
    x, y, source = ex.regression_data(ex.RegressionData(train_subset=500), None)
    assert x.shape[0] == y.shape[0] == 500 and 0 < x.shape[1] <= 196
    assert float(x.min()) >= 0 and float(x.max()) <= 1 and torch.equal(y.sum(1), torch.ones(500, dtype=y.dtype))
    assert "MNIST" in source


def test_the_linear_model_starts_from_zero_and_the_task_sizes_it():
    import paperzoo
    from paperzoo.registry import model_entry

    model = paperzoo.create_model("linear_dropout", in_features=7, num_classes=3, input_dropout=0.5)
    assert not model.out.weight.detach().any() and not model.out.bias.detach().any() and model.input_dropout.p == 0.5
    x, y, _, _ = _problem(n=12, d=7, k=3)
    task = ex.regression_task(x, y, {"ols": ex.ridge_solution(x, y, 0.0)})(
        ex.RegressionData(batch_size=4), device=torch.device("cpu"), seed=0, root=None, run_dir=None,
        channels_last=False)
    assert task.model_kwargs(model_entry("linear_dropout")) == {"in_features": 7, "num_classes": 3}
    assert task.evaluate(model)["distance/ols"] == pytest.approx(1.0)   # from zero: the whole way to go
    arms = ex._arms(ex.DropoutPreset(description="t", drop=(0.2,)), task=None)
    assert [(a.label, a.kwargs["input_dropout"]) for a in arms] == [("plain-sgd", 0.0), ("dropout-sgd-p=0.2", 0.2)]
