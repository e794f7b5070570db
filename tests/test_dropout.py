"""Dropout's Section 9.1: the expected dropout loss of a linear model, its minimiser, and the claim's verdict."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from paperzoo.claims import Outcome
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
    assert abs(m["z"]) < 4 and -0.7 < m["slope"] < -0.3
    assert m["counts"][0] == 1 and m["counts"][-1] == 256 and len(m["rms"]) == 9


def _outcome(z=0.5, slope=-0.5, near=0.01, plain=0.5, ols=0.6, drops=(0.2, 0.5)):
    out = Outcome()
    for p in drops:
        out.add(f"mc_z/p={p:g}", [z])
        out.add(f"mc_slope/p={p:g}", [slope])
        out.add(f"distance/dropout-sgd-p={p:g}", [near])
        out.add(f"distance/plain-sgd-to-p={p:g}", [plain])
        out.add(f"distance/ols-to-p={p:g}", [ols])
    return out


def test_verdict_rule():
    preset = ex.DropoutPreset("t", tolerance=0.05)
    assert ex.l2_verdict(_outcome(), preset).status == "holds"
    assert ex.l2_verdict(_outcome(z=6.0), preset).status == "does not hold"
    assert ex.l2_verdict(_outcome(slope=-0.1), preset).status == "does not hold"
    assert ex.l2_verdict(_outcome(near=0.2), preset).status == "does not hold"
    assert ex.l2_verdict(_outcome(z=3.5), preset).status == "inconclusive"
    assert ex.l2_verdict(_outcome(near=0.08), preset).status == "inconclusive"
    assert ex.l2_verdict(_outcome(plain=0.1), preset).status == "inconclusive"   # plain SGD lands there too


def test_regression_data_is_pooled_pixels_and_one_hot_labels(shared_data):
    x, y, source = ex.regression_data(ex.RegressionData(train_subset=500), None)
    assert x.shape[0] == y.shape[0] == 500 and 0 < x.shape[1] <= 196
    assert float(x.min()) >= 0 and float(x.max()) <= 1 and torch.equal(y.sum(1), torch.ones(500, dtype=y.dtype))
    assert "MNIST" in source
