"""Gaussian Parzen-window log-likelihood (paperzoo.metrics.parzen): formula, batching, analytic cases, protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from tolerances import assert_close

from paperzoo.metrics.parzen import DEFAULT_SIGMAS, parzen_evaluate, parzen_log_likelihood, select_sigma


def _f64(x) -> torch.Tensor:
    """A float64 tensor: ``assert_close`` turns Python floats into float32 tensors, which would round them."""
    return torch.tensor(x, dtype=torch.float64)


def _direct(samples: np.ndarray, points: np.ndarray, sigma: float) -> np.ndarray:
    """The definition, term by term in float64: explicit differences, no matmul expansion."""
    d2 = ((points[:, None, :] - samples[None, :, :]) ** 2).sum(-1)                    # (M, N)
    n, d = samples.shape
    return logsumexp(-d2 / (2 * sigma ** 2), axis=1) - math.log(n) - d / 2 * math.log(2 * math.pi * sigma ** 2)


def _scale(samples, points, sigma) -> float:
    """Size of the numbers rounded on the way: the largest exponent ||x||^2 + ||s||^2 over 2 sigma^2 (the
    matmul expansion cancels terms of that size) plus the normalising constants."""
    s, x = np.asarray(samples), np.asarray(points)
    big = ((x ** 2).sum(1).max() + (s ** 2).sum(1).max()) / (2 * sigma ** 2)
    return float(big + math.log(len(s)) + s.shape[1] / 2 * abs(math.log(2 * math.pi * sigma ** 2)))


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
def test_matches_a_direct_numpy_computation(sigma):
    g = np.random.default_rng(0)
    samples, points = g.normal(size=(50, 5)), g.normal(size=(20, 5))
    ours = parzen_log_likelihood(torch.from_numpy(samples), torch.from_numpy(points), sigma)
    assert ours.shape == (20,) and ours.dtype == torch.float64
    # float64; reductions: d = 5 terms per distance, N = 50 terms in the log-sum-exp, a few transcendentals.
    assert_close(ours, _direct(samples, points, sigma), dtype=torch.float64, n=5 + 50 + 4,
                 scale=_scale(samples, points, sigma))


def test_float32_agrees_with_float64_to_its_rounding():
    """The float32 path is a legitimate option: its error is the float32 rounding of the distance expansion."""
    g = torch.Generator().manual_seed(1)
    samples = torch.rand(300, 784, generator=g) * (torch.rand(300, 784, generator=g) < 0.2)
    points = torch.rand(100, 784, generator=g) * (torch.rand(100, 784, generator=g) < 0.2)
    sigma = 0.1
    f64 = parzen_log_likelihood(samples, points, sigma)
    f32 = parzen_log_likelihood(samples, points, sigma, dtype=torch.float32)
    assert f32.dtype == torch.float32
    assert_close(f32, f64, dtype=torch.float32, n=784 + 300, scale=_scale(samples.numpy(), points.numpy(), sigma))


def test_batching_does_not_change_the_result():
    g = torch.Generator().manual_seed(2)
    samples, points = torch.randn(203, 12, generator=g), torch.randn(57, 12, generator=g)
    whole = parzen_log_likelihood(samples, points, 0.7)
    scale = _scale(samples.numpy(), points.numpy(), 0.7)
    for b, sb in [(1, 1), (7, 13), (57, 203), (100, 50), (3, 1000)]:
        part = parzen_log_likelihood(samples, points, 0.7, batch_size=b, sample_batch_size=sb)
        assert_close(part, whole, dtype=torch.float64, n=12 + 203 + 4, scale=scale, msg=f"batch {b}/{sb}")


def test_images_are_flattened():
    g = torch.Generator().manual_seed(3)
    samples, points = torch.rand(30, 1, 4, 4, generator=g), torch.rand(9, 1, 4, 4, generator=g)
    assert torch.equal(parzen_log_likelihood(samples, points, 0.5),
                       parzen_log_likelihood(samples.reshape(30, 16), points.reshape(9, 16), 0.5))


@pytest.mark.parametrize("sigma", [0.1, 0.5, 2.0])
def test_a_single_sample_gives_the_gaussian_log_density(sigma):
    mu = 0.3
    x = torch.tensor([[-1.0], [0.3], [0.45], [2.0]], dtype=torch.float64)
    expected = -(x[:, 0] - mu) ** 2 / (2 * sigma ** 2) - 0.5 * math.log(2 * math.pi * sigma ** 2)
    ll = parzen_log_likelihood(torch.tensor([[mu]], dtype=torch.float64), x, sigma)
    assert_close(ll, expected, dtype=torch.float64, n=8, scale=float(expected.abs().max()) + 1)
    # d dimensions, one sample: the isotropic normal's log-density.
    pts = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    mvn = torch.distributions.MultivariateNormal(torch.zeros(4, dtype=torch.float64),
                                                 sigma ** 2 * torch.eye(4, dtype=torch.float64))
    ref = mvn.log_prob(pts)
    assert_close(parzen_log_likelihood(torch.zeros(1, 4), pts, sigma), ref, dtype=torch.float64, n=16,
                 scale=float(ref.abs().max()) + 1)


def test_two_equal_samples_are_one_sample():
    """Duplicating every sample leaves the window unchanged (the -log N normalisation)."""
    g = torch.Generator().manual_seed(5)
    samples, points = torch.randn(10, 3, generator=g), torch.randn(8, 3, generator=g)
    once = parzen_log_likelihood(samples, points, 0.8)
    twice = parzen_log_likelihood(torch.cat([samples, samples]), points, 0.8)
    assert_close(twice, once, dtype=torch.float64, n=20 + 3 + 4, scale=_scale(samples.numpy(), points.numpy(), 0.8))


def test_far_points_do_not_underflow():
    """Log-sum-exp: a point 1000 sigma away from everything still gets a finite, exact log-density."""
    ll = parzen_log_likelihood(torch.zeros(1, 1), torch.tensor([[100.0]]), 0.1)
    expected = -(100.0 ** 2) / (2 * 0.01) - 0.5 * math.log(2 * math.pi * 0.01)
    assert math.isfinite(ll.item())
    assert_close(ll, _f64([expected]), dtype=torch.float64, n=4, scale=abs(expected))


def test_default_grid_is_the_original_logspace():
    assert np.allclose(DEFAULT_SIGMAS, np.logspace(-1, 0, 10), rtol=1e-15, atol=0)


def test_select_sigma_recovers_the_sigma_of_a_known_parzen_mixture():
    """Validation data drawn from the Parzen window itself at sigma0: the expected log-likelihood
    E_p[log q_sigma] is largest at q_sigma = p (Gibbs' inequality), so the grid point sigma0 must win."""
    grid = torch.logspace(-1, 0, 10, dtype=torch.float64)
    g = torch.Generator().manual_seed(6)
    samples = torch.rand(100, 10, generator=g, dtype=torch.float64) * 4
    for k in (2, 4, 7):
        sigma0 = float(grid[k])
        pick = torch.randint(0, 100, (4000,), generator=g)
        valid = samples[pick] + sigma0 * torch.randn(4000, 10, generator=g, dtype=torch.float64)
        assert select_sigma(samples, valid, grid, batch_size=512) == pytest.approx(sigma0, rel=1e-12)
    assert select_sigma(samples, valid) in DEFAULT_SIGMAS          # default grid, returns a grid value


def test_select_sigma_maximises_the_mean_validation_log_likelihood():
    g = torch.Generator().manual_seed(7)
    samples, valid = torch.rand(80, 6, generator=g), torch.rand(40, 6, generator=g)
    sigmas = [0.05, 0.2, 0.4, 1.5]
    means = [parzen_log_likelihood(samples, valid, s).mean().item() for s in sigmas]
    assert select_sigma(samples, valid, sigmas) == sigmas[int(np.argmax(means))]


def test_evaluate_returns_mean_and_standard_error():
    g = torch.Generator().manual_seed(8)
    samples, test = torch.rand(60, 7, generator=g), torch.rand(33, 7, generator=g)
    ll = parzen_log_likelihood(samples, test, 0.3).numpy()
    mean, se = parzen_evaluate(samples, test, 0.3, batch_size=5)
    scale = float(np.abs(ll).max())
    assert_close(_f64(mean), _f64(ll.mean()), dtype=torch.float64, n=33 + 60 + 7, scale=scale)
    assert_close(_f64(se), _f64(ll.std() / math.sqrt(33)), dtype=torch.float64, n=33 + 60 + 7, scale=scale)  # ddof = 0


def test_evaluate_standard_error_on_an_analytic_case():
    """One sample at 0, sigma = 1, points at +-1 and 0: ll = -x^2/2 - log(2 pi)/2, known mean and spread."""
    pts = torch.tensor([[-1.0], [0.0], [1.0], [0.0]], dtype=torch.float64)
    mean, se = parzen_evaluate(torch.zeros(1, 1), pts, 1.0)
    c = -0.5 * math.log(2 * math.pi)
    lls = np.array([c - 0.5, c, c - 0.5, c])
    assert mean == pytest.approx(c - 0.25, abs=1e-14)
    assert se == pytest.approx(0.25 / 2, abs=1e-14)                 # std (ddof 0) = 0.25, sqrt(M) = 2
    assert se == pytest.approx(lls.std() / 2, abs=1e-14)


@pytest.mark.parametrize("bad", [
    dict(samples=torch.zeros(3, 4), points=torch.zeros(2, 5), sigma=1.0),
    dict(samples=torch.zeros(3, 4), points=torch.zeros(2, 4), sigma=0.0),
    dict(samples=torch.zeros(3, 4), points=torch.zeros(2, 4), sigma=-1.0),
    dict(samples=torch.zeros(0, 4), points=torch.zeros(2, 4), sigma=1.0),
])
def test_bad_inputs_raise(bad):
    with pytest.raises(ValueError):
        parzen_log_likelihood(**bad)
