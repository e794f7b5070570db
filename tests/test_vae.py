"""Kingma & Welling's VAE: shapes and parameter count, the closed-form KL, estimators A and B, the two
gradient estimators on a known case, and the verdict rule on constructed outcomes."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from scipy.stats import mannwhitneyu
from tolerances import tol
from torch.distributions import Normal, kl_divergence

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.metrics.flops import count_params
from paperzoo.metrics.ranking import auroc, auroc_se
from paperzoo.papers.adam.model import VAE as AdamVAE
from paperzoo.papers.vae import experiments as ex
from paperzoo.papers.vae.model import (
    VAE,
    elbo_a,
    elbo_b,
    gaussian_kl,
    importance_log_likelihood,
    log_bernoulli,
    negative_elbo,
    posterior_gradients,
    reparameterise,
    score_function_surrogate,
    wake_sleep_loss,
)


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
    assert set(paperzoo.list_claims(paper="vae")) == {
        "vae.kl-closed-form", "vae.reparameterisation", "vae.aevb-vs-wake-sleep", "vae.marginal-likelihood",
        "vae.manifold", "vae.kl-weight", "vae.anomaly"}


# --- a model whose decoder ignores z: log p(x|z) = c, so ELBO(μ, log σ²) = c − KL(q ‖ N(0, I)) and log p(x) = c ---

def _constant_decoder(latent: int = 3, seed: int = 0) -> tuple[VAE, torch.Tensor, float]:
    torch.manual_seed(seed)
    model = VAE(in_features=16, hidden=8, latent=latent, init_std=0.5).double()
    with torch.no_grad():
        model.dec.weight.zero_()   # decoder output independent of z
    x = torch.rand(16, dtype=torch.float64).round()
    with torch.no_grad():
        c = float(log_bernoulli(x[None], model.decode(torch.zeros(1, latent, dtype=torch.float64))))
    return model, x, c


def test_posterior_gradients_are_unbiased_for_the_analytic_gradient():
    # ∂ELBO/∂μ = −μ and ∂ELBO/∂log σ² = ½(1 − σ²) when log p(x|z) does not depend on z
    model, x, _ = _constant_decoder()
    with torch.no_grad():
        h = torch.tanh(model.enc(x))
        mu, logvar = model.mu(h), model.logvar(h)
    expected = (-mu, 0.5 * (1 - logvar.exp()))
    n = 200_000
    torch.manual_seed(1)
    for estimator in ("reparameterised", "score-function"):
        g_mu, g_logvar, h_out = posterior_gradients(model, x, n, estimator)
        assert torch.equal(h_out, h)
        for g, want in zip((g_mu, g_logvar), expected):
            se = g.std(0) / math.sqrt(n)
            assert ((g.mean(0) - want).abs() < 5 * se + 1e-12).all(), (estimator, g.mean(0), want, se)
    with pytest.raises(ValueError, match="estimator"):
        posterior_gradients(model, x, 2, "reinforce")


def test_score_function_surrogate_gradient_is_unbiased_in_phi_and_theta():
    model, x, _ = _constant_decoder(seed=2)
    with torch.no_grad():
        h = torch.tanh(model.enc(x))
        mu, logvar = model.mu(h), model.logvar(h)
    torch.manual_seed(3)
    n = 200_000
    g_mu, g_logvar, _ = posterior_gradients(model, x, 20_000, "score-function")   # for the noise scale only
    model.zero_grad()
    score_function_surrogate(model, x[None], samples=n).backward()
    assert ((model.mu.bias.grad + mu).abs() < 5 * g_mu.std(0) / math.sqrt(n)).all()   # ∂ELBO/∂b₂ = −μ
    half = 0.5 * (1 - logvar.exp())   # ∂ELBO/∂b₃ = ∂ELBO/∂log σ² = ½(1 − σ²): the entropy's part is ½
    assert ((model.logvar.bias.grad - half).abs() < 5 * g_logvar.std(0) / math.sqrt(n)).all()
    # θ: the surrogate's decoder gradient is E_q[∇_θ log p(x|z)]; with z ignored it is exact: the output bias's
    # gradient of log p(x|z) = Σ x log y + (1 − x) log(1 − y) is x − y
    y = torch.sigmoid(model.out.bias + model.out.weight @ torch.tanh(model.dec.bias))
    assert torch.allclose(model.out.bias.grad, x - y, atol=1e-9)


def test_wake_sleep_losses_reach_only_their_own_parameters():
    torch.manual_seed(0)
    model = VAE(hidden=16, latent=3, init_std=0.3)
    x = torch.rand(5, 784)
    _, wake, sleep = wake_sleep_loss(model, x)
    encoder = set(map(id, model.encoder_parameters()))
    for loss, own in ((wake, False), (sleep, True)):
        model.zero_grad()
        loss.backward(retain_graph=True)
        for p in model.parameters():
            reached = p.grad is not None and bool(p.grad.abs().sum() > 0)
            assert reached == ((id(p) in encoder) == own)


def test_importance_sampling_recovers_the_exact_marginal_likelihood():
    model, x, c = _constant_decoder(latent=2)
    with torch.no_grad():   # with q = p(z) every importance weight is p(x|z) = e^c: exact
        for head in (model.mu, model.logvar):
            head.weight.zero_()
            head.bias.zero_()
    assert abs(float(importance_log_likelihood(model, x[None], samples=50)) - c) < tol(torch.float64, 16, abs(c))
    model, x, c = _constant_decoder(latent=2, seed=4)   # q ≠ p(z): consistent as K grows, above the ELBO
    torch.manual_seed(0)
    estimate = float(importance_log_likelihood(model, x[None], samples=20_000, chunk=5000))
    with torch.no_grad():
        elbo = float(elbo_b(model, x[None], samples=1000))
    assert elbo < estimate < c + 0.05 and abs(estimate - c) < 0.1
    # the defensive mixture ½ p(z) + ½ q(z|x): exact when q = p, consistent otherwise
    defensive = float(importance_log_likelihood(model, x[None], samples=20_000, chunk=5000, defensive=0.5))
    assert elbo < defensive < c + 0.05 and abs(defensive - c) < 0.1


def test_auroc_matches_the_mann_whitney_statistic_with_ties():
    gen = torch.Generator().manual_seed(0)
    pos = (torch.randn(300, generator=gen) + 0.7).round(decimals=1)   # rounding makes ties
    neg = torch.randn(200, generator=gen).round(decimals=1)
    u = mannwhitneyu(pos.numpy(), neg.numpy(), alternative="two-sided").statistic
    assert auroc(pos, neg) == pytest.approx(u / (300 * 200), abs=1e-12)
    assert auroc(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0])) == 1.0
    assert auroc(torch.tensor([1.0]), torch.tensor([1.0])) == 0.5


def test_auroc_standard_error_matches_the_spread_over_repeated_samples():
    gen = torch.Generator().manual_seed(1)
    areas = [auroc(torch.randn(200, generator=gen) + 1.0, torch.randn(150, generator=gen)) for _ in range(400)]
    spread = statistics.stdev(areas)
    assert auroc_se(statistics.fmean(areas), 200, 150) == pytest.approx(spread, rel=0.2)


def test_knn_read_out_and_rate_distortion_on_known_cases():
    from paperzoo.papers.vae.latent import knn_accuracy, rate_distortion

    ref = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    acc = knn_accuracy(torch.tensor([[0.05, 0.0], [5.0, 5.1]]), torch.tensor([3, 7]), ref,
                       torch.tensor([3, 3, 7, 7]), k=2)
    assert acc.tolist() == [100.0, 100.0]
    model, x, c = _constant_decoder(latent=3)
    distortion, rate, active = rate_distortion(model, x[None].repeat(4, 1).float().double(), 0.01)
    assert all(abs(d + c) < 1e-9 for d in distortion) and active == 0   # the same image 4 times: no spread of μ
    with torch.no_grad():
        assert rate[0] == pytest.approx(float(gaussian_kl(*model.encode(x[None])).squeeze()), rel=1e-12)


# --- the training claims' verdicts on constructed outcomes ---------------------------------------------------

def _items(out: Outcome, key: str, mean: float, spread: float = 1.0, n: int = 200, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    out.add_items(key, [(mean + spread * torch.randn(n, generator=gen, dtype=torch.float64)).tolist()])


def test_reparameterisation_verdicts():
    claim = get_claim("vae.reparameterisation")
    preset = claim.presets["quick"]
    for init, trained, want in ((4.0, 3.0, "holds"), (4.0, -1.0, "does not hold"), (4.0, 0.5, "inconclusive")):
        out = Outcome()
        _items(out, "log10_variance_ratio/initialisation", init, 0.1)
        _items(out, "log10_variance_ratio/trained", trained, 0.1)
        assert claim.verdict(out, preset).status == want


def _methods_outcome(preset, gap: float, overfit: float = 0.0, metric: str = "train_elbo") -> Outcome:
    from paperzoo.papers.vae.curves import arm, settings

    out = Outcome()
    out.add("train_steps", [preset.train.steps])
    for i, (latent, size) in enumerate(settings(preset)):
        for method, shift in (("aevb", gap), ("wake-sleep", 0.0)):
            for m in (metric, "test_elbo"):
                value = -100 + shift - (overfit if m == "test_elbo" and latent == max(preset.latents) else 0)
                _items(out, f"{m}/{arm(method, latent, size)}", value, 2.0, seed=i)
    return out


def test_aevb_vs_wake_sleep_verdicts():
    claim = get_claim("vae.aevb-vs-wake-sleep")
    preset = claim.presets["quick"]
    assert claim.verdict(_methods_outcome(preset, 10.0), preset).status == "holds"
    assert claim.verdict(_methods_outcome(preset, -10.0), preset).status == "does not hold"
    assert claim.verdict(_methods_outcome(preset, 10.0, overfit=20.0), preset).status == "does not hold"
    short = _methods_outcome(preset, 10.0)
    short.add("train_steps", [10])
    assert claim.verdict(short, preset).status == "inconclusive"


def test_marginal_likelihood_verdicts():
    claim = get_claim("vae.marginal-likelihood")
    preset = claim.presets["cpu"]
    assert claim.verdict(_methods_outcome(preset, 5.0, metric="log_px"), preset).status == "holds"
    assert claim.verdict(_methods_outcome(preset, -5.0, metric="log_px"), preset).status == "does not hold"
    assert claim.verdict(_methods_outcome(preset, 0.0, metric="log_px"), preset).status == "inconclusive"


def test_kl_weight_verdicts():
    from paperzoo.papers.vae.latent import beta_arm

    claim = get_claim("vae.kl-weight")
    preset = claim.presets["quick"]

    def outcome(rate_step: float, distortion_step: float) -> Outcome:
        out = Outcome()
        for i, b in enumerate(preset.betas):
            _items(out, f"rate/{beta_arm(b)}", 30 - rate_step * i, 1.0, seed=i)
            _items(out, f"distortion/{beta_arm(b)}", 90 + distortion_step * i, 1.0, seed=10 + i)
        return out

    assert claim.verdict(outcome(5.0, 5.0), preset).status == "holds"
    assert claim.verdict(outcome(-5.0, 5.0), preset).status == "does not hold"
    assert claim.verdict(outcome(5.0, 0.0), preset).status == "inconclusive"


def test_manifold_and_anomaly_verdicts():
    manifold = get_claim("vae.manifold")
    for accuracy, want in ((80.0, "holds"), (9.0, "does not hold"), (30.0, "inconclusive")):
        out = Outcome()
        _items(out, "knn_accuracy", accuracy, 1.0)
        assert manifold.verdict(out, manifold.presets["quick"]).status == want
    anomaly = get_claim("vae.anomaly")
    for area, want in ((0.97, "holds"), (0.3, "does not hold"), (0.8, "inconclusive")):
        out = Outcome()
        out.add("auroc/mnist", [area])
        out.value_se["auroc/mnist"] = [0.01]
        assert anomaly.verdict(out, anomaly.presets["quick"]).status == want
