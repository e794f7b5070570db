"""Adam's MNIST models, the VAE loss, the α/√t schedule, the cost summaries, the learning-rate search and the
verdict rules on constructed outcomes."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from tolerances import assert_close

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.errors import TrainingDiverged
from paperzoo.metrics.flops import count_params
from paperzoo.optim import OptimizerConfig, ScheduleConfig, build_schedule
from paperzoo.papers.adam import experiments as ex
from paperzoo.papers.adam.model import VAE, negative_elbo
from paperzoo.train.loop import TrainConfig


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


def _costs(costs, jitter=(0.0, 0.0, 0.0), final=None, steps=10 * ex.EPOCH, similar=0.05):
    """Average (and final) costs (mnat) per seed: every contender shifted by the same per-seed amount, plus
    its own noise (a tuple per seed). The final costs are the average ones unless ``final`` gives others;
    the similarity arm is SGD-Nesterov's costs scaled, as the experiment records it."""
    out = Outcome()
    for key, values in (("average_cost", costs), ("final_cost", costs | (final or {}))):
        for label, value in values.items():
            own = value if isinstance(value, tuple) else (value,) * len(jitter)
            ex._record(out, f"{key}/{label}", [v + j for v, j in zip(own, jitter)])
        if "SGDNesterov" in values:
            ex._record(out, f"{key}/{1 + similar:g} × SGDNesterov",
                       [(1 + similar) * c for c in out.per_seed[f"{key}/SGDNesterov"]])
    out.values["train_steps"] = steps
    return out


SEEDS = (-20.0, 0.0, 20.0)   # seed-to-seed spread shared by every optimizer (paired: it cancels)
WOBBLE = (0.5, -0.3, -0.2)   # each optimizer's own, small


def verdict(claim_id, out, preset):
    return get_claim(claim_id).verdict(out, preset).status


def _own(value, sign=1.0):
    return tuple(value + sign * w for w in WOBBLE)


def test_logreg_verdict_rule():
    preset = ex.QUICK_LOGREG
    good = {"AdaGrad": _own(320.0), "SGDNesterov": _own(280.0, -1), "Adam": 285.0}
    assert verdict("adam.mnist-logreg", _costs(good, SEEDS), preset) == "holds"
    assert verdict("adam.mnist-logreg", _costs(good | {"AdaGrad": _own(270.0)}, SEEDS), preset) == "does not hold"
    # Adam 11% above SGD-Nesterov: not "similar"; Adam 10% below it: as fast (non-inferiority, not a tie)
    assert verdict("adam.mnist-logreg", _costs(good | {"Adam": 310.0}, SEEDS), preset) == "does not hold"
    assert verdict("adam.mnist-logreg", _costs(good | {"Adam": 252.0}, SEEDS), preset) == "holds"
    noisy = good | {"AdaGrad": (320.0, 280.0, 360.0)}
    assert verdict("adam.mnist-logreg", _costs(noisy, SEEDS), preset) == "inconclusive"


def test_comparisons_are_paired_by_seed_with_student_t():
    preset = ex.QUICK_LOGREG
    good = {"AdaGrad": _own(320.0), "SGDNesterov": _own(280.0, -1), "Adam": 285.0}
    # two seeds: the same spread of the differences is decided on t with 1 degree of freedom (12.7), not z = 2
    two = {"AdaGrad": (290.0, 289.0), "SGDNesterov": (280.0, 280.0), "Adam": (285.0, 284.0)}
    assert verdict("adam.mnist-logreg", _costs(two, (0.0, 0.0)), preset) == "holds"
    two |= {"AdaGrad": (290.0, 285.4)}
    assert verdict("adam.mnist-logreg", _costs(two, (0.0, 0.0)), preset) == "inconclusive"
    # one seed: no noise model, so nothing is decided ...
    one = {k: v[0] if isinstance(v, tuple) else v for k, v in good.items()}
    assert verdict("adam.mnist-logreg", _costs(one, (0.0,)), preset) == "inconclusive"
    # ... except a divergence, which is decisive
    assert verdict("adam.mnist-logreg", _costs(one | {"Adam": math.inf}, (0.0,)), preset) == "does not hold"


def test_faster_needs_both_summaries_and_a_run_of_an_epoch():
    preset = ex.QUICK_LOGREG
    good = {"AdaGrad": _own(320.0), "SGDNesterov": _own(280.0, -1), "Adam": 285.0}
    # Adam ahead of AdaGrad on average but behind it at the end: the curves cross, "faster" does not hold
    crossing = _costs(good, SEEDS, final={"AdaGrad": _own(250.0), "SGDNesterov": _own(240.0, -1), "Adam": 260.0})
    assert verdict("adam.mnist-logreg", crossing, preset) == "does not hold"
    short = get_claim("adam.mnist-logreg").verdict(_costs(good, SEEDS, steps=100), preset)
    assert short.status == "inconclusive" and "the 468 the claim needs" in short.reason


def test_mlp_verdict_rule():
    preset = ex.QUICK_MLP
    costs = {"AdaGrad": _own(200.0), "RMSProp": _own(150.0, -1), "SGDNesterov": _own(180.0), "Adam": 100.0}
    assert verdict("adam.mnist-mlp", _costs(costs, SEEDS), preset) == "holds"
    assert verdict("adam.mnist-mlp", _costs(costs | {"RMSProp": _own(80.0)}, SEEDS), preset) == "does not hold"
    assert verdict("adam.mnist-mlp", _costs(costs | {"RMSProp": _own(100.3)}, SEEDS), preset) == "inconclusive"
    assert verdict("adam.mnist-mlp", _costs(costs | {"Adam": math.inf}, SEEDS), preset) == "does not hold"


class _FakeRun:
    """What the search reads of an arm run: the loop's records (a flat cost curve) and the data source."""

    def __init__(self, cost):
        self.result = SimpleNamespace(history=lambda split, key: ([1, 2, 3, 4], [cost] * 4))
        self.task = SimpleNamespace(source="fake MNIST")


def test_search_picks_the_lowest_average_cost_on_seed_0_and_a_divergence_ends_a_contender(monkeypatch):
    trained = []

    def fake_run_arm(ctx, arm, seed, *, data, train):
        lr = train.optimizer.lr if arm.train is None else arm.train.optimizer.lr
        trained.append((arm.label, seed))
        if lr >= 1.0 or (arm.label.startswith("Bad") and seed == 1):
            raise TrainingDiverged("the loss is not finite")
        return _FakeRun(0.3 + abs(lr - 0.1) + 0.01 * seed)

    monkeypatch.setattr(ex, "run_arm", fake_run_arm)
    opt = ex._opt("sgd")
    preset = ex.ComparisonPreset(description="t", model="adam_logreg", train=ex.recipe(10, 1),
                                 contenders=(ex.Contender("Good", opt, (0.01, 0.1, 1.0)),
                                             ex.Contender("Bad", opt, (0.1, 3.0))))
    best, grid = ex.search(SimpleNamespace(seeds=(0, 1, 2)), preset)
    assert best["Good"].lr == 0.1 and [r.history("train", "loss")[1][0] for r in best["Good"].runs] == \
        pytest.approx([0.30, 0.31, 0.32])
    assert grid["Good"][2].diverged and grid["Good"][2].costs(ex.run_mean, 1) == [math.inf]
    assert ("Good-lr0.01", 1) not in trained and ("Good-lr0.1", 2) in trained   # only the best rate on seeds 1, 2
    assert best["Bad"].diverged and best["Bad"].costs(ex.run_mean, 3) == [math.inf] * 3
    assert ("Bad-lr0.1", 2) not in trained   # the divergence on seed 1 ended it


def test_the_recipe_is_the_constant_rate_one_without_autocast():
    assert ex.recipe(10, 1) == TrainConfig(
        steps=10, optimizer=OptimizerConfig(name="adam", impl="paperzoo", weight_decay=0.0),
        schedule=ScheduleConfig(name="constant"), eval_every=0, log_every=1, checkpoint_every=0, keep_checkpoints=1,
        amp=False, progress=True)


BIAS = ex.BiasPreset(description="t", train=ex.recipe(400, 25), beta2s=(0.99, 0.9999), lrs=(1e-3, 1e-2))


def _bias(losses, items=4, wobble=0.5):
    """losses[(β₂, α, corrected)] for β₁ = 0.9: one seed, ``items`` logged intervals in the tail, the same
    mini-batches (shared per-interval difficulty) in every run, plus a small wobble of each run's own."""
    out = Outcome()
    for index, ((b2, lr, corrected), v) in enumerate(losses.items()):
        key = ex._key(0.9, b2, lr, corrected)
        if math.isinf(v):
            out.add(key, [v])
        else:
            own = [wobble * math.sin(3.0 * index + j) for j in range(items)]
            out.add_items(key, [[v + 5.0 * j + w for j, w in enumerate(own)]])
    return out


STABLE = {(b2, lr, c): 100.0 for b2 in (0.99, 0.9999) for lr in (1e-3, 1e-2) for c in (True, False)}


def test_bias_correction_verdict_rule():
    claim = get_claim("adam.bias-correction")
    assert claim.verdict(_bias(STABLE), BIAS).status == "does not hold"   # no rise of 2% anywhere
    unstable = STABLE | {(0.9999, 1e-2, False): math.inf}
    assert claim.verdict(_bias(unstable), BIAS).status == "holds"
    worse = STABLE | {(0.9999, 1e-2, False): 130.0}   # a finite rise of 30%, beyond the noise
    assert claim.verdict(_bias(worse), BIAS).status == "holds"
    both = unstable | {(0.99, 1e-2, False): math.inf}
    assert claim.verdict(_bias(both), BIAS).status == "inconclusive"   # no worse at β₂ close to 1 than at 0.99
    better = unstable | {(0.9999, 1e-3, False): 90.0}
    assert claim.verdict(_bias(better), BIAS).status == "does not hold"   # the best uncorrected run wins


def test_bias_correction_needs_noise_and_the_start_up_steps():
    claim = get_claim("adam.bias-correction")
    worse = STABLE | {(0.9999, 1e-2, False): 130.0}
    assert claim.verdict(_bias(worse, items=1), BIAS).status == "inconclusive"   # one interval: no noise model
    noisy = claim.verdict(_bias(worse, wobble=40.0), BIAS)
    assert noisy.status == "inconclusive" and "interval" in noisy.reason
    short = claim.verdict(_bias(worse), replace(BIAS, train=ex.recipe(50, 5)))
    assert short.status == "inconclusive" and "the 100 the claim needs" in short.reason
