"""Adam's MNIST models, the VAE loss, the α/√t schedule, the final-cost statistics and the verdict rules."""

from __future__ import annotations

import math

import pytest
import torch
from tolerances import assert_close

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.metrics.flops import count_params
from paperzoo.optim import build_schedule
from paperzoo.papers.adam import experiments as ex
from paperzoo.papers.adam.model import VAE, negative_elbo


def test_parameter_counts():
    assert count_params(paperzoo.create_model("adam_logreg")) == 784 * 10 + 10
    mlp = (784 * 1000 + 1000) + (1000 * 1000 + 1000) + (1000 * 10 + 10)
    assert count_params(paperzoo.create_model("adam_mlp")) == mlp
    assert count_params(VAE()) == (784 * 500 + 500) + 2 * (500 * 50 + 50) + (50 * 500 + 500) + (500 * 784 + 784)


def test_mlp_drops_units_in_training_only():
    torch.manual_seed(0)
    model = paperzoo.create_model("adam_mlp", hidden=(64, 64))
    x = torch.randn(4, 1, 28, 28)
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))
    assert model.input_dropout.p == 0.2 and model.hidden[0].dropout.p == 0.5


def test_negative_elbo_is_reconstruction_plus_the_gaussian_kl():
    torch.manual_seed(0)
    model = VAE(hidden=32, latent=4)
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        torch.manual_seed(1)
        loss, kl = negative_elbo(model, x)
        torch.manual_seed(1)
        logits, mu, logvar = model(x)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected_kl = torch.distributions.kl_divergence(q, prior).sum(1).mean()
    recon = -torch.distributions.Bernoulli(logits=logits, validate_args=False).log_prob(x.flatten(1)).sum(1).mean()
    # float32. The KL (≈ 6e-4) sums 4 latents of 1 + logvar − mu² − exp(logvar), differences of O(1) numbers:
    # the rounding happens at scale 1, so the tolerance is absolute (≈ 16 roundings of O(1) values: 1.9e-6)
    assert_close(kl, expected_kl, n=4 * 4, scale=1.0)
    # the loss adds the sum of 784 positive BCE terms (≈ 550 per example): partial sums of that size
    assert_close(loss, recon + expected_kl, n=784, scale=float(recon))


def test_inverse_sqrt_schedule_is_alpha_over_root_t():
    schedule = build_schedule(ex.INVERSE_SQRT, total_steps=100)
    assert [schedule(s) for s in range(100)] == pytest.approx([1 / math.sqrt(s + 1) for s in range(100)])


def test_tail_and_run_means():
    steps, values = list(range(10, 110, 10)), [5.0] * 7 + [1.0, 2.0, 3.0]
    assert ex.tail_mean((steps, values)) == pytest.approx(2.0)   # the last quarter: steps 80, 90, 100
    assert ex.run_mean((steps, values)) == pytest.approx(4.1)
    assert ex.tail_mean(([], [])) == ex.run_mean(([], [])) == math.inf


def _costs(costs, jitter=(0.0, 0.0, 0.0), final=None):
    """Average (and final) costs per seed: every contender shifted by the same per-seed amount, plus its own
    noise. The final costs are the average ones unless ``final`` gives others."""
    out = Outcome()
    for key, values in (("train_cost", costs), ("final_cost", costs | (final or {}))):
        for label, value in values.items():
            own = value if isinstance(value, tuple) else (value,) * len(jitter)
            out.add(f"{key}/{label}", [v + j for v, j in zip(own, jitter)] if math.isfinite(own[0]) else [own[0]])
    return out


def test_comparisons_are_paired_by_seed_and_need_both_summaries():
    shared = (-0.02, 0.0, 0.02)   # seed-to-seed spread shared by both: the paired difference is exact
    assert ex.lower(_costs({"a": 0.30, "b": 0.31}, shared), "a", "b") == "yes"
    assert ex.lower(_costs({"a": (0.28, 0.32, 0.30), "b": (0.31, 0.29, 0.31)}), "a", "b") == "tie"
    assert ex.lower(_costs({"a": 0.300, "b": 0.301}, shared), "a", "b") == "tie"   # below 0.5%
    assert ex.lower(_costs({"a": 0.30, "b": 0.31}, (0.0,)), "a", "b") == "tie"     # one seed: no noise estimate
    assert ex.lower(_costs({"a": 0.33, "b": 0.31}, shared), "a", "b", slack=0.10) == "yes"
    # faster on average but behind at the end: a tie; behind on one summary and level on the other: slower
    assert ex.lower(_costs({"a": 0.30, "b": 0.31}, shared, final={"a": 0.25, "b": 0.24}), "a", "b") == "tie"
    assert ex.lower(_costs({"a": 0.30, "b": 0.30}, shared, final={"a": 0.25, "b": 0.24}), "a", "b") == "no"


def test_logreg_verdict_rule():
    preset = ex.QUICK_LOGREG
    assert ex.logreg_verdict(_costs({"AdaGrad": 0.32, "SGDNesterov": 0.28, "Adam": 0.285}), preset).status == "holds"
    assert ex.logreg_verdict(_costs({"AdaGrad": 0.27, "SGDNesterov": 0.28, "Adam": 0.285}), preset).status \
        == "does not hold"
    assert ex.logreg_verdict(_costs({"AdaGrad": 0.32, "SGDNesterov": 0.28, "Adam": 0.31}), preset).status \
        == "does not hold"   # Adam 11% above SGD-Nesterov: not "similar"
    noisy = _costs({"AdaGrad": (0.32, 0.28, 0.36), "SGDNesterov": 0.28, "Adam": 0.285})
    assert ex.logreg_verdict(noisy, preset).status == "inconclusive"


def test_mlp_verdict_rule():
    preset = ex.QUICK_MLP
    costs = {"AdaGrad": 0.20, "RMSProp": 0.15, "SGDNesterov": 0.18, "Adam": 0.10}
    assert ex.mlp_verdict(_costs(costs), preset).status == "holds"
    assert ex.mlp_verdict(_costs(costs | {"RMSProp": 0.08}), preset).status == "does not hold"
    assert ex.mlp_verdict(_costs(costs | {"RMSProp": 0.1003}), preset).status == "inconclusive"
    assert ex.mlp_verdict(_costs(costs | {"Adam": math.inf}), preset).status == "does not hold"   # Adam diverged


def _bias(losses):
    """losses[(β₂, α, corrected)] for β₁ = 0.9."""
    out = Outcome()
    for (b2, lr, corrected), v in losses.items():
        out.add(ex._key(0.9, b2, lr, corrected), [v])
    return out


def test_bias_correction_verdict_rule():
    preset = ex.BiasPreset("t", train=ex.recipe(10, 1), beta2s=(0.99, 0.9999), lrs=(1e-3, 1e-2))
    stable = {(b2, lr, c): 100.0 for b2 in (0.99, 0.9999) for lr in (1e-3, 1e-2) for c in (True, False)}
    assert ex.bias_verdict(_bias(stable), preset).status == "does not hold"
    unstable = stable | {(0.9999, 1e-2, False): math.inf}
    assert ex.bias_verdict(_bias(unstable), preset).status == "holds"
    both = unstable | {(0.99, 1e-2, False): math.inf}
    assert ex.bias_verdict(_bias(both), preset).status == "inconclusive"   # no worse at β₂ close to 1 than at 0.99
    better = unstable | {(0.9999, 1e-3, False): 90.0}
    assert ex.bias_verdict(_bias(better), preset).status == "does not hold"   # the best uncorrected run wins
    assert ex.harm(_bias(unstable | {(0.9999, 1e-2, False): 110.0}), preset, 0.9999) == pytest.approx(0.1)
