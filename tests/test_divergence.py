"""paperzoo.metrics.divergence against torch, numpy/scipy and hand-computed values; the divergence
paper's claims and their verdicts on constructed outcomes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from tolerances import tol
from torch.distributions import Categorical, Independent, Normal, kl_divergence

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.metrics.divergence import js, kl, kl_normal

#: A float64 value from a few terms and one log each: a few ulp of an O(1) result (tests/tolerances.py).
TOL = tol(torch.float64, n=4)


def _dirichlet(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = -torch.rand(shape, generator=g, dtype=torch.float64).log()
    return x / x.sum(-1, keepdim=True)


def test_kl_hand_computed():
    p, q = torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([0.25, 0.75], dtype=torch.float64)
    # 0.5 log(0.5/0.25) + 0.5 log(0.5/0.75) = 0.5 log 2 + 0.5 log(2/3)
    assert kl(p, q).item() == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), abs=TOL)
    assert kl(p, q, base=2).item() == pytest.approx((0.5 * math.log(2) + 0.5 * math.log(2 / 3)) / math.log(2))
    assert kl([1.0, 0.0], [0.5, 0.5], base=2).item() == pytest.approx(1.0, abs=TOL)   # one bit
    assert kl(p.float(), q.float()).dtype == torch.float32 and kl([0.5, 0.5], [0.25, 0.75]).dtype == torch.float64


def test_kl_and_js_match_torch_and_scipy_batched():
    p, q = _dirichlet((64, 7), 1), _dirichlet((64, 7), 2)
    ref = kl_divergence(Categorical(probs=p), Categorical(probs=q))
    torch.testing.assert_close(kl(p, q), ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(kl(p, q), torch.from_numpy(rel_entr(p.numpy(), q.numpy()).sum(-1)), rtol=1e-12,
                               atol=1e-14)
    # scipy's jensenshannon is the square root of JS
    ref_js = torch.from_numpy(jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2)
    torch.testing.assert_close(js(p, q), ref_js, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(js(p, q, base=2), ref_js / math.log(2), rtol=1e-10, atol=1e-14)
    assert kl(p, q).shape == (64,) and js(p[None], q[:, None]).shape == (64, 64)   # broadcast


def test_zero_probabilities_are_exact():
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    assert kl(p, q).item() == pytest.approx(0.5 * math.log(2), abs=TOL)   # the p = 0 term is 0, not nan
    assert kl(q, p).item() == math.inf                                       # q > 0 where p = 0
    assert kl(p, p).item() == 0.0 and js(p, p).item() == 0.0
    assert kl(torch.zeros(3), torch.zeros(3)).item() == 0.0                  # 0 log 0 = 0 everywhere
    assert math.isfinite(js(p, q).item()) and math.isfinite(js(q, p).item())


def test_js_is_symmetric_and_log2_on_disjoint_supports():
    p = torch.tensor([0.2, 0.8, 0.0, 0.0], dtype=torch.float64)
    q = torch.tensor([0.0, 0.0, 0.3, 0.7], dtype=torch.float64)
    assert js(p, q).item() == pytest.approx(math.log(2), abs=TOL)
    assert js(p, q, base=2).item() == pytest.approx(1.0, abs=TOL)
    a, b = _dirichlet((100, 5), 3), _dirichlet((100, 5), 4)
    assert torch.equal(js(a, b), js(b, a))
    assert (js(a, b) >= 0).all() and (js(a, b) <= math.log(2)).all()
    assert (kl(a, b) - kl(b, a)).abs().max() > 1e-3                         # KL is not symmetric


def test_kl_normal_matches_torch_and_the_vae_form():
    g = torch.Generator().manual_seed(0)
    mu_p, mu_q = torch.randn(50, 4, generator=g, dtype=torch.float64), torch.randn(50, 4, generator=g,
                                                                                     dtype=torch.float64)
    s_p, s_q = (torch.rand(50, 4, generator=g, dtype=torch.float64) + 0.1 for _ in range(2))
    torch.testing.assert_close(kl_normal(mu_p, s_p, mu_q, s_q), kl_divergence(Normal(mu_p, s_p), Normal(mu_q, s_q)))
    torch.testing.assert_close(kl_normal(mu_p, s_p, mu_q, s_q, sum_last=True),
                               kl_divergence(Independent(Normal(mu_p, s_p), 1), Independent(Normal(mu_q, s_q), 1)))
    vae = -0.5 * (1 + torch.log(s_p ** 2) - mu_p ** 2 - s_p ** 2).sum(-1)
    torch.testing.assert_close(kl_normal(mu_p, s_p, 0.0, 1.0, sum_last=True), vae)
    # KL(N(0,1) ‖ N(1,2²)) = log 2 + 2/8 − 1/2
    assert kl_normal(0.0, 1.0, 1.0, 2.0).item() == pytest.approx(math.log(2) - 0.25, abs=TOL)
    assert kl_normal(0.0, 1.0, 1.0, 2.0, base=2).item() == pytest.approx((math.log(2) - 0.25) / math.log(2))


def test_the_claims_are_listed_with_smoke_overrides():
    claims = paperzoo.list_claims(paper="divergence")
    assert claims == ["divergence.properties", "divergence.mode-covering"]
    for claim_id in claims:
        claim = get_claim(claim_id)
        assert {"quick", "cpu", "full"} <= set(claim.presets) and claim.targets
        smoke = claim.smoke_overrides()
        assert smoke.get("train.pairs", smoke.get("train.steps")) == "4"
    assert set(claims) <= set(paperzoo.list_claims())                        # what tests/test_claims.py iterates


def _properties_outcome(**changes) -> Outcome:
    out = Outcome()
    values = {"violations": 0, "asymmetric_pairs": 10, "max_rel_deviation/torch_categorical": 1e-15,
              "max_rel_deviation/numpy": 2e-15, "max_rel_deviation/torch_normal": 6e-16} | changes
    for k, v in values.items():
        out.add_exact(k, v)
    out.add("kl_normal/monte_carlo_minus_closed_form", [0.001])
    out.value_se["kl_normal/monte_carlo_minus_closed_form"] = [0.0015]
    return out


def test_properties_verdict_on_constructed_outcomes():
    claim = get_claim("divergence.properties")
    preset = claim.preset("quick")
    assert claim.verdict(_properties_outcome(), preset).status == "holds"
    assert claim.verdict(_properties_outcome(violations=1), preset).status == "does not hold"
    assert claim.verdict(_properties_outcome(asymmetric_pairs=0), preset).status == "does not hold"
    assert claim.verdict(_properties_outcome(**{"max_rel_deviation/numpy": 1e-6}), preset).status == "does not hold"
    far = _properties_outcome()
    far.add("kl_normal/monte_carlo_minus_closed_form", [0.1])
    far.value_se["kl_normal/monte_carlo_minus_closed_form"] = [0.001]
    assert claim.verdict(far, preset).status == "does not hold"


def _fit_outcome(forward_mean=0.0, forward_std=3.16, reverse_mean=2.98, reverse_std=1.02) -> Outcome:
    out = Outcome()
    for d, mu, sigma in (("forward", forward_mean, forward_std), ("reverse", reverse_mean, reverse_std)):
        out.add_exact(f"{d}/mean", mu)
        out.add_exact(f"{d}/std_ratio", sigma)
        out.add_exact(f"{d}/peak_distance", min(abs(mu - 3), abs(mu + 3)))
    return out


def test_mode_covering_verdict_on_constructed_outcomes():
    claim = get_claim("divergence.mode-covering")
    preset = claim.preset("quick")
    assert claim.verdict(_fit_outcome(), preset).status == "holds"
    assert claim.verdict(_fit_outcome(forward_std=1.1), preset).status == "does not hold"      # not mass-covering
    assert claim.verdict(_fit_outcome(forward_mean=3.5), preset).status == "does not hold"     # not between peaks
    assert claim.verdict(_fit_outcome(reverse_mean=0.0, reverse_std=2.7), preset).status == "does not hold"


def test_mode_covering_fits_on_a_small_grid():
    from paperzoo.papers.divergence.experiments import Fit, fit_gaussian

    c = Fit(steps=300, grid_points=1201, init_grid=11)
    mu, sigma, _ = fit_gaussian(c, "forward")
    assert abs(mu) < 0.05 and sigma == pytest.approx(math.sqrt(10), rel=0.02)    # moment matching
    mu, sigma, value = fit_gaussian(c, "reverse")
    assert min(abs(mu - 3), abs(mu + 3)) < 0.1 and sigma < 1.2 and value < math.log(2) + 0.01
    assert np.isfinite(value)
