"""Kingma & Welling's VAE: shapes and parameter count, the closed-form KL, estimators A and B, the two
gradient estimators on a known case, and the verdict rule on constructed outcomes."""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal, kl_divergence

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.metrics.flops import count_params
from paperzoo.papers.adam.model import VAE as AdamVAE
from paperzoo.papers.vae import experiments as ex
from paperzoo.papers.vae.model import VAE, elbo_a, elbo_b, gaussian_kl, negative_elbo, reparameterise


def test_shapes_and_parameter_count_784_500_20():
    model = VAE(hidden=500, latent=20)
    encoder = 784 * 500 + 500
    heads = 2 * (500 * 20 + 20)
    decoder = 20 * 500 + 500 + 500 * 784 + 784
    assert count_params(model) == encoder + heads + decoder
    assert sum(p.numel() for p in model.encoder_parameters()) == encoder + heads
    logits, mu, logvar = model(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 784) and mu.shape == logvar.shape == (3, 20)
    assert model.activation == "tanh" and AdamVAE().activation == "softplus"


def test_adam_vae_is_the_vae_with_adams_defaults():
    torch.manual_seed(0)
    a = AdamVAE(hidden=16, latent=4)
    torch.manual_seed(0)
    b = VAE(hidden=16, latent=4, activation="softplus")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_closed_form_kl_matches_torch():
    gen = torch.Generator().manual_seed(0)
    mu = 2 * torch.randn(100, 7, generator=gen, dtype=torch.float64)
    logvar = 4 * torch.rand(100, 7, generator=gen, dtype=torch.float64) - 3
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(gaussian_kl(mu, logvar), ref, rtol=1e-12, atol=1e-12)
    assert torch.equal(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_estimators_a_and_b_agree_in_expectation():
    torch.manual_seed(0)
    model = VAE(hidden=32, latent=4, init_std=0.3).double()
    x = torch.rand(6, 784, dtype=torch.float64).round()
    with torch.no_grad():
        a = elbo_a(model, x, samples=20_000)   # (B,)
        b = elbo_b(model, x, samples=20_000)
        mu, logvar = model.encode(x)
        assert a.shape == b.shape == (6,)
    # A and B differ in whether the KL is sampled: a few tenths of a nat of noise on ~500-nat ELBOs
    assert (a - b).abs().max() < 0.5, (a - b)
    loss, kl = negative_elbo(model, x)
    assert torch.isclose(kl, gaussian_kl(mu, logvar).mean())


def _estimates(mu: float, n: int, seed: int) -> dict[str, torch.Tensor]:
    """n draws each of the reparameterised and score-function estimates of ∇_μ E_{z~N(μ,1)}[z²] = 2μ."""
    torch.manual_seed(seed)
    m = torch.full((n,), mu, dtype=torch.float64, requires_grad=True)
    z = reparameterise(m, torch.zeros_like(m))
    (g_rep,) = torch.autograd.grad(z.square().sum(), m)     # per draw: 2z
    z = reparameterise(m, torch.zeros_like(m)).detach()
    log_q = Normal(m, 1.0).log_prob(z)
    (g_sf,) = torch.autograd.grad((z.square() * log_q).sum(), m)   # per draw: z²(z − μ)
    return {"reparameterised": g_rep, "score_function": g_sf}


def test_both_estimators_are_unbiased_on_a_known_gradient_and_reparameterised_has_lower_variance():
    mu, n = 1.5, 200_000
    est = _estimates(mu, n, seed=0)
    for g in est.values():
        se = float(g.std()) / math.sqrt(n)
        assert abs(float(g.mean()) - 2 * mu) < 4 * se
    # Var(2z) = 4; Var(z²(z − μ)) = μ⁴ + 14μ² + 15 (z = μ + ε): 51.6, about 13x larger, at μ = 1.5
    assert float(est["score_function"].var()) > 10 * float(est["reparameterised"].var())


def _kl_outcome(dev: float, mc: float, mc_se: float) -> Outcome:
    out = Outcome()
    out.add_exact("max_scaled_deviation/torch", dev)
    out.add_exact("max_scaled_deviation/kl_normal", dev)
    out.add(ex.MC_KEY, [mc])
    out.value_se[ex.MC_KEY] = [mc_se]
    return out


def test_kl_verdicts_on_constructed_outcomes():
    claim = get_claim("vae.kl-closed-form")
    preset = claim.presets["quick"]
    assert claim.verdict(_kl_outcome(1e-16, 0.001, 0.001), preset).status == "holds"
    assert claim.verdict(_kl_outcome(1e-6, 0.001, 0.001), preset).status == "does not hold"
    assert claim.verdict(_kl_outcome(1e-16, 0.05, 0.001), preset).status == "does not hold"
    assert claim.verdict(_kl_outcome(1e-16, 0.0, 0.05), preset).status == "inconclusive"


def test_claims_are_listed():
    assert list(paperzoo.list_claims(paper="vae")) == ["vae.kl-closed-form"]
