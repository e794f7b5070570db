"""Goodfellow et al. (2014): the paper's nets, maxout, the losses, Algorithm 1, Proposition 1 and Theorem 1,
and the claims' verdict rules on constructed outcomes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook

from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.metrics.flops import count_params
from paperzoo.papers.gan.algorithm import GanTrain, learning_rate, momentum, train_gan
from paperzoo.papers.gan.experiments import (
    LOG4,
    Family,
    FitD,
    binned_js,
    compared_grid,
    criterion,
    fit_discriminator,
    optimum_preset,
)
from paperzoo.papers.gan.mnist import EpochBatches, kmeans, nearest
from paperzoo.papers.gan.model import (
    Discriminator,
    Generator,
    Maxout,
    discriminator_loss,
    gan_discriminator,
    gan_generator,
    generator_loss,
    optimal_discriminator,
    value,
)
from tests.tolerances import assert_close, tol

pytestmark = pytest.mark.usefixtures("one_thread")


# --- the nets ------------------------------------------------------------------------------------------

def test_generator_shape_and_parameter_count_from_the_architecture():
    G = gan_generator()
    # 100 → 1200 → 1200 → 784, each layer weights + biases (mnist.yaml)
    assert count_params(G) == (100 * 1200 + 1200) + (1200 * 1200 + 1200) + (1200 * 784 + 784) == 2_503_984
    z = G.sample_noise(5)
    assert z.shape == (5, 100) and z.abs().max() <= math.sqrt(3)
    x = G(z)
    assert x.shape == (5, 784) and bool(((x > 0) & (x < 1)).all())


def test_discriminator_shape_and_parameter_count_from_the_architecture():
    D = gan_discriminator()
    # maxout: 240 units × 5 pieces = 1200 affine outputs per layer; then one logit
    assert count_params(D) == (784 * 1200 + 1200) + (240 * 1200 + 1200) + (240 + 1) == 1_231_441
    assert D(torch.rand(3, 1, 28, 28)).shape == (3, 1)
    drops = [m.p for m in D.drops]
    assert drops == [0.2, 0.5, 0.5]   # include probabilities 0.8 on the input, 0.5 on the hidden layers


def test_uniform_noise_has_unit_variance_and_gaussian_option():
    gen = torch.Generator().manual_seed(0)
    z = gan_generator().sample_noise(200_000, generator=gen)
    n = z.numel()
    assert abs(float(z.mean())) < 5 / math.sqrt(n) and abs(float(z.var()) - 1) < 5 * math.sqrt(0.8 / n)
    g = gan_generator(noise="gaussian").sample_noise(10, generator=gen)
    assert g.abs().max() > 0 and g.shape == (10, 100)


def test_maxout_equals_a_direct_computation():
    torch.manual_seed(0)
    m = Maxout(7, units=4, pieces=3).double()
    x = torch.randn(5, 7, dtype=torch.float64)
    W, b = m.linear.weight, m.linear.bias
    expected = torch.empty(5, 4, dtype=torch.float64)
    for n in range(5):
        for i in range(4):   # unit i owns rows i*pieces .. i*pieces + pieces - 1
            expected[n, i] = max(float(W[i * 3 + j].detach() @ x[n] + b[i * 3 + j].detach()) for j in range(3))
    assert_close(m(x), expected, dtype=torch.float64, n=7)


def test_output_bias_starts_the_generator_at_the_pixel_marginals():
    G = Generator(noise_dim=3, hidden=(4,), out_features=6).double()
    for layer in [*G.hidden, G.out]:
        torch.nn.init.zeros_(layer.weight)
    marginals = torch.tensor([0.01, 0.1, 0.3, 0.5, 0.9, 0.5], dtype=torch.float64)
    G.init_output_bias(marginals)
    assert_close(G(torch.randn(2, 3, dtype=torch.float64)), marginals.expand(2, 6), dtype=torch.float64)


def test_discriminator_dropout_only_in_training():
    D = gan_discriminator()
    x = torch.rand(4, 784)
    D.eval()
    assert torch.equal(D(x), D(x))
    D.train()
    torch.manual_seed(0)
    assert not torch.equal(D(x), D(x))


# --- the losses ------------------------------------------------------------------------------------------

LOGITS = torch.tensor([-30.0, -5.0, -0.3, 0.0, 0.7, 4.0, 30.0], dtype=torch.float64)


def test_value_and_discriminator_loss_against_logs_of_sigmoids():
    real, fake = LOGITS[2:6], LOGITS[1:5]
    expected = torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean()   # Eq. 1
    assert_close(value(real, fake), expected, dtype=torch.float64, n=8)
    assert_close(discriminator_loss(real, fake), -expected, dtype=torch.float64, n=8)
    assert math.isfinite(float(value(torch.tensor([-800.0]), torch.tensor([800.0]))))   # saturated D stays finite


def test_non_saturating_loss_is_bce_with_target_one_and_saturating_is_minus_bce_with_target_zero():
    ones, zeros = torch.ones_like(LOGITS), torch.zeros_like(LOGITS)
    assert_close(generator_loss(LOGITS, "non-saturating"), F.binary_cross_entropy_with_logits(LOGITS, ones),
                 dtype=torch.float64, n=7, scale=30)
    assert_close(generator_loss(LOGITS, "saturating"), -F.binary_cross_entropy_with_logits(LOGITS, zeros),
                 dtype=torch.float64, n=7, scale=30)
    with pytest.raises(ValueError):
        generator_loss(LOGITS, "wasserstein")


@pytest.mark.parametrize("kind", ["saturating", "non-saturating"])
def test_generator_loss_gradient_in_the_logit_has_the_closed_form(kind):
    logits = LOGITS.clone().requires_grad_(True)
    generator_loss(logits, kind).backward()
    d = torch.sigmoid(LOGITS)
    # d/dl log(1 − sigmoid(l)) = −sigmoid(l) = −D;  d/dl −log sigmoid(l) = −(1 − sigmoid(l)) = −(1 − D)
    expected = (-d if kind == "saturating" else -(1 - d)) / len(LOGITS)
    # torch's softplus is exactly linear beyond |l| = 20 (its threshold), which moves the gradient by < e^-20
    torch.testing.assert_close(logits.grad, expected, rtol=0.0, atol=math.exp(-20) / len(LOGITS) + tol(torch.float64))


def test_saturating_gradient_vanishes_where_non_saturating_does_not():
    logit = torch.tensor([-10.0], dtype=torch.float64, requires_grad=True)   # D(G(z)) ≈ 4.5e-5: D rejects
    (gs,) = torch.autograd.grad(generator_loss(logit, "saturating"), logit)
    (gn,) = torch.autograd.grad(generator_loss(logit, "non-saturating"), logit)
    d = torch.sigmoid(logit.detach())
    assert_close(gn / gs, (1 - d) / d, dtype=torch.float64, n=4)
    assert float(gn / gs) > 1e4


# --- Algorithm 1 ----------------------------------------------------------------------------------------------

def _tiny_pair():
    torch.manual_seed(0)
    G = Generator(noise_dim=2, hidden=(8,), out_features=3, output="linear", irange=0.5)
    D = Discriminator(in_features=3, units=4, pieces=2, input_drop=0.0, hidden_drop=0.0, irange=0.5)
    return G, D


def test_algorithm1_takes_k_discriminator_steps_per_generator_step_in_order(tmp_path):
    G, D = _tiny_pair()
    d_params, g_params = set(map(id, D.parameters())), set(map(id, G.parameters()))
    order = []

    def hook(opt, args, kwargs):
        ids = {id(p) for group in opt.param_groups for p in group["params"]}
        order.append("D" if ids == d_params else "G" if ids == g_params else "?")

    handle = register_optimizer_step_post_hook(hook)
    try:
        run = train_gan(G, D, lambda m, gen: torch.randn(m, 3, generator=gen),
                        GanTrain(steps=4, k=3, batch_size=8, log_every=2), seed=0, run_dir=tmp_path)
    finally:
        handle.remove()
    assert order == ["D", "D", "D", "G"] * 4
    assert (run.d_steps, run.g_steps) == (12, 4)
    assert [r["step"] for r in run.records] == [2, 4] and (tmp_path / "metrics.jsonl").exists()


def test_schedules_follow_mnist_yaml():
    c = GanTrain()
    assert learning_rate(c, 0) == 0.1
    assert_close(learning_rate(c, 100_000), 0.1 / 1.000004 ** 100_000, dtype=torch.float64)
    assert learning_rate(c, 10**9) == c.min_lr
    assert momentum(c, 0) == 0.5 and momentum(c, 500) == 0.5 and momentum(c, 125_000) == 0.7
    assert_close(momentum(c, 62_750), 0.6, dtype=torch.float64)


def test_generator_update_moves_only_the_generator_and_d_update_only_the_discriminator():
    G, D = _tiny_pair()
    g0 = [p.clone() for p in G.parameters()]
    d0 = [p.clone() for p in D.parameters()]
    train_gan(G, D, lambda m, gen: torch.randn(m, 3, generator=gen), GanTrain(steps=1, k=1, batch_size=8),
              seed=0)
    assert all(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


def test_epoch_batches_visit_every_image_once_per_epoch():
    images = torch.arange(10.0)[:, None]
    sampler = EpochBatches(images)
    gen = torch.Generator().manual_seed(0)
    seen = torch.cat([sampler(5, gen), sampler(5, gen)]).squeeze(1)
    assert sorted(seen.tolist()) == list(range(10))


# --- Proposition 1 and Theorem 1 -----------------------------------------------------------------------------------

def test_d_star_maximises_the_pointwise_objective():
    # for a, b > 0, y ↦ a log y + b log(1 − y) has its maximum on [0, 1] at y = a / (a + b)   (proof of Prop. 1)
    y = torch.linspace(1e-4, 1 - 1e-4, 200_001, dtype=torch.float64)
    for a, b in [(0.3, 0.7), (2.0, 0.1), (1.0, 1.0)]:
        best = y[torch.argmax(a * torch.log(y) + b * torch.log1p(-y))]
        dstar = optimal_discriminator(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
        assert abs(float(best - dstar)) <= float(y[1] - y[0])
    assert float(optimal_discriminator(torch.tensor(0.4), torch.tensor(0.4))) == 0.5


def _trapezoid_jsd(p_data, p_g, half_width=20.0, h=2e-4):
    """JSD by the trapezoid rule on ½ p log(2p/(p+q)) + ½ q log(2q/(p+q)), written independently in numpy."""
    x = np.arange(-half_width, half_width + h / 2, h)

    def pdf(mix):
        return sum(w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi)) for w, m, s in mix)

    p, q = pdf(p_data), pdf(p_g)
    mid = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 0.5 * np.where(p > 0, p * np.log(p / mid), 0.0) + 0.5 * np.where(q > 0, q * np.log(q / mid), 0.0)
    return float(np.trapezoid(f, x))


@pytest.mark.parametrize("p_g", [((1.0, 0.0, 1.0),), ((0.3, -1.0, 0.5), (0.7, 2.0, 0.8)), ((1.0, 4.0, 0.3),)])
def test_criterion_equals_minus_log4_plus_twice_jsd_by_an_independent_quadrature(p_g):
    p_data = ((0.5, -1.5, 0.6), (0.5, 1.5, 0.6))
    c, err = criterion(p_data, p_g, 20.0)
    # the trapezoid rule's error at h = 2e-4 on these smooth integrands is ~h²·max|f''|/12·L, far below 1e-6
    assert abs(c - (-LOG4 + 2 * _trapezoid_jsd(p_data, p_g))) < 1e-6
    assert abs(c - (-LOG4 + 2 * binned_js(p_data, p_g, 20.0, 2.5e-4))) < 1e-6
    assert err < 1e-10 and c > -LOG4


def test_criterion_at_p_data_is_minus_log4():
    p_data = ((0.5, -1.5, 0.6), (0.5, 1.5, 0.6))
    assert abs(criterion(p_data, p_data, 20.0)[0] + LOG4) < 1e-10


def test_a_short_discriminator_fit_approaches_d_star():
    c = FitD(steps=400, batch_size=256)
    D, n = fit_discriminator(c, seed=0)
    x, _, _, dstar = compared_grid(c)
    with torch.no_grad():
        d = torch.sigmoid(D(x[:, None].float()).double()).squeeze(1)
    assert n == 400 * 256 and float((d - dstar).abs().max()) < 0.15 < float(dstar.max() - dstar.min())


# --- MNIST helpers -----------------------------------------------------------------------------------------------

def test_nearest_and_kmeans_against_brute_force():
    torch.manual_seed(0)
    train, pts = torch.rand(50, 6), torch.rand(7, 6)
    d, i = nearest(pts, train)
    brute = ((pts[:, None] - train[None]) ** 2).sum(-1).sqrt()
    assert torch.equal(i, brute.argmin(1))
    assert_close(d, brute.min(1).values, n=6, scale=3)
    blobs = torch.cat([torch.randn(30, 2) * 0.01 + c for c in (torch.tensor([0.0, 0.0]), torch.tensor([5.0, 5.0]))])
    centres = kmeans(blobs, 2, 10, seed=0)
    assert sorted(round(float(v)) for v in centres[:, 0]) == [0, 5]


# --- verdicts on constructed outcomes --------------------------------------------------------------------------

def _verdict(claim_id: str, out: Outcome, preset: str = "quick") -> str:
    claim = get_claim(claim_id)
    return claim.verdict(out, claim.preset(preset)).status


@pytest.mark.parametrize("worst, status", [([0.010, 0.012, 0.011], "holds"), ([0.30, 0.31, 0.29], "does not hold"),
                                           ([0.03, 0.09, 0.06], "inconclusive")])
def test_optimal_discriminator_verdicts(worst, status):
    out = Outcome()
    out.add("max_abs_deviation", worst)
    assert _verdict("gan.optimal-discriminator", out) == status


def _optimum_outcome(**changes) -> Outcome:
    values = {"max_identity_gap": 1e-8, "max_binning_error": 3e-8, "max_quadrature_error": 1e-13,
              "at_data_minus_log4": 0.0, "min_excess_over_log4": 0.07, "argmin_distance": 1e-7} | changes
    out = Outcome()
    for k, v in values.items():
        out.add_exact(k, v)
    return out


@pytest.mark.parametrize("changes, status", [({}, "holds"), ({"max_identity_gap": 1e-3}, "does not hold"),
                                             ({"min_excess_over_log4": -0.01}, "does not hold"),
                                             ({"min_excess_over_log4": 1e-6}, "inconclusive")])
def test_global_optimum_verdicts(changes, status):
    assert _verdict("gan.global-optimum", _optimum_outcome(**changes)) == status


@pytest.mark.parametrize("end, d_end, status", [([0.03, 0.04, 0.05], [0.01, 0.02, 0.01], "holds"),
                                                ([0.03, 0.04, 0.05], [0.30, 0.32, 0.31], "does not hold"),
                                                ([0.80, 0.82, 0.81], [0.01, 0.02, 0.01], "does not hold"),
                                                ([0.03, 0.60, 0.05], [0.01, 0.02, 0.01], "inconclusive")])
def test_toy_verdicts(end, d_end, status):
    out = Outcome()
    out.add("js/start", [0.69, 0.68, 0.69])
    out.add("js/end", end)
    out.add("d_deviation/end", d_end)
    assert _verdict("gan.toy", out) == status


@pytest.mark.parametrize("ratio, ns_gain, status", [(2.5, 20.0, "holds"), (-0.5, 20.0, "does not hold"),
                                                    (2.5, -20.0, "does not hold"), (0.5, 20.0, "inconclusive"),
                                                    (2.5, 0.0, "inconclusive")])
def test_non_saturating_verdicts(ratio, ns_gain, status):
    gen = torch.Generator().manual_seed(0)
    out = Outcome()
    out.add_items("log10_grad_ratio", [(ratio + 0.1 * torch.randn(50, generator=gen)).tolist() for _ in range(2)])
    base = [(-100 + 5 * torch.randn(200, generator=gen)).tolist() for _ in range(2)]
    out.add_items("parzen_ll/saturating", base)
    out.add_items("parzen_ll/non-saturating", [[v + ns_gain + 0.1 * (j % 3 - 1) for j, v in enumerate(b)]
                                               for b in base])
    assert _verdict("gan.non-saturating", out) == status


@pytest.mark.parametrize("ll, steps, status", [(230.0, 1200, "holds"), (150.0, 1200, "inconclusive"),
                                               (150.0, 125_000, "does not hold"), (214.5, 125_000, "inconclusive")])
def test_parzen_verdicts(ll, steps, status):
    out = Outcome()
    out.add("parzen/gan", [ll])
    out.value_se["parzen/gan"] = [2.0]
    out.values["train_steps"] = steps
    assert _verdict("gan.parzen", out) == status


@pytest.mark.parametrize("samples, untrained, status", [(6.0, 9.0, "holds"), (1.0, 9.0, "does not hold"),
                                                        (2.5, 9.0, "inconclusive"), (9.0, 9.0, "inconclusive")])
def test_samples_verdicts(samples, untrained, status):
    out = Outcome()
    for name, v in (("samples", samples), ("test", 6.5), ("untrained", untrained)):
        out.add(f"nn_distance/{name}", [v])
        out.value_se[f"nn_distance/{name}"] = [0.05]
    out.add("nn_ratio", [samples / 6.5])
    out.value_se["nn_ratio"] = [0.01]
    assert _verdict("gan.samples", out) == status


def test_presets_fit_their_stated_sizes():
    # the quick presets stay short: the MNIST GAN's iterations and the 1-D fits
    assert get_claim("gan.parzen").preset("quick").train.steps <= 1500
    assert get_claim("gan.non-saturating").preset("quick").train.steps * 2 * 2 <= 1200
    assert optimum_preset(Family(), "").train.bin_width <= 5e-4
    assert tol(torch.float64) < 1e-14


def test_freezing_d_for_the_generator_step_leaves_g_gradient_unchanged_and_restores_d():
    from paperzoo.papers.gan.algorithm import frozen

    G, D = _tiny_pair()
    D.out.bias.requires_grad_(False)                     # a parameter frozen before stays frozen
    z = G.sample_noise(8, generator=torch.Generator().manual_seed(1))
    generator_loss(D(G(z))).backward()
    reference = [p.grad.clone() for p in G.parameters()]
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    with frozen(D):
        generator_loss(D(G(z))).backward()
    assert all(torch.equal(p.grad, r) for p, r in zip(G.parameters(), reference))
    assert all(p.grad is None for p in D.parameters())
    assert [p.requires_grad for p in D.parameters()] == [True] * (len(list(D.parameters())) - 1) + [False]
