"""paperzoo's optimizers, written from the papers, against torch.optim and against closed forms."""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pytest
import torch

from paperzoo.errors import UserError
from paperzoo.optim import SGD, AdaGrad, Adam, AdamW, BertAdam, OptimizerConfig, RMSProp, build_optimizer

STEPS = 150


# --- two random problems, in float64 -------------------------------------------------------------

def mlp_problem(seed: int = 0):
    """A small MLP regressing random targets from fresh random inputs each step."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(8, 5, generator=g, dtype=torch.float64) * 0.5, torch.zeros(8, dtype=torch.float64),
              torch.randn(3, 8, generator=g, dtype=torch.float64) * 0.5, torch.zeros(3, dtype=torch.float64)]

    def loss(ps, step):
        gs = torch.Generator().manual_seed(1000 + step)
        x = torch.randn(16, 5, generator=gs, dtype=torch.float64)   # (B, 5)
        y = torch.randn(16, 3, generator=gs, dtype=torch.float64)   # (B, 3)
        h = torch.tanh(x @ ps[0].T + ps[1])                          # (B, 8)
        return ((h @ ps[2].T + ps[3] - y) ** 2).mean()

    return params, loss


def quadratic_problem(seed: int = 0):
    """A noisy quadratic over tensors of several shapes, a scalar (shape ()) among them; the
    last tensor is left out of the loss every third step, so its gradient is then None."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (3,), (), (2, 2)]
    params = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    curv = [torch.rand(s, generator=g, dtype=torch.float64) * 3 + 0.1 for s in shapes]
    centre = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]

    def loss(ps, step):
        gs = torch.Generator().manual_seed(2000 + step)
        total = ps[0].sum() * 0
        for i, (p, h, c) in enumerate(zip(ps, curv, centre)):
            if i == len(ps) - 1 and step % 3 == 0:
                continue
            noise = torch.randn(p.shape, generator=gs, dtype=torch.float64)
            total = total + (h * (p - c) ** 2).sum() + 0.1 * (noise * p).sum()
        return total

    return params, loss


PROBLEMS = {"mlp": mlp_problem, "quadratic": quadratic_problem}


def train(make_optimizer, problem, steps=STEPS, *, first=0, decay_at=None, start=None, state=None):
    """Run steps ``first..steps-1`` from ``start`` (default: the problem's initial parameters)
    and optimizer ``state``. The learning rate halves at ``decay_at`` (default 2/3 of the
    steps), so rate changes are covered. Returns the parameters and the optimizer."""
    init, loss = PROBLEMS[problem]()
    params = [p.detach().clone().requires_grad_() for p in (start or init)]
    opt = make_optimizer(params)
    base = [grp["lr"] for grp in opt.param_groups]
    if state is not None:
        opt.load_state_dict(state)
    decay_at = 2 * steps // 3 if decay_at is None else decay_at
    for step in range(first, steps):
        for grp, lr in zip(opt.param_groups, base):
            grp["lr"] = lr * (0.5 if step >= decay_at else 1.0)
        opt.zero_grad(set_to_none=True)
        loss(params, step).backward()
        opt.step()
    return params, opt


# Each paperzoo optimizer against its torch.optim counterpart, under several settings.
CASES = [
    (SGD, torch.optim.SGD, dict(lr=0.05)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    (SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.5, dampening=0.3, weight_decay=1e-2)),
    (AdaGrad, torch.optim.Adagrad, dict(lr=0.1)),
    (AdaGrad, torch.optim.Adagrad, dict(lr=0.1, eps=1e-6, weight_decay=1e-2, initial_accumulator_value=0.1)),
    (RMSProp, torch.optim.RMSprop, dict(lr=1e-2, alpha=0.99)),
    (RMSProp, torch.optim.RMSprop, dict(lr=1e-2, alpha=0.9, momentum=0.9, weight_decay=1e-2)),
    (RMSProp, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.95, centered=True)),
    (RMSProp, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.9, centered=True, momentum=0.5, eps=1e-6)),
    (Adam, torch.optim.Adam, dict(lr=1e-2)),
    (Adam, torch.optim.Adam, dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    (AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=1e-2)),
    (AdamW, torch.optim.AdamW, dict(lr=3e-3, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.1)),
]


def _case_id(case):
    ours, _, kw = case
    return ours.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_equals_torch_optim(case, problem):
    ours_cls, torch_cls, kw = case
    ours, _ = train(lambda ps: ours_cls(ps, **kw), problem)
    theirs, _ = train(lambda ps: torch_cls(ps, **kw), problem)
    start, _ = PROBLEMS[problem]()
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-10)
    assert all(not torch.equal(a, s) for a, s in zip(ours, start))  # every tensor moved


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.03, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda ps: AdaGrad(ps, lr=0.1),
    lambda ps: RMSProp(ps, lr=1e-3, centered=True, momentum=0.5),
    lambda ps: Adam(ps, lr=1e-2, weight_decay=1e-3),
    lambda ps: AdamW(ps, lr=1e-2, bias_correction=False),
    lambda ps: BertAdam(ps, lr=1e-2),
], ids=["sgd", "adagrad", "rmsprop", "adam", "adamw", "bert_adam"])
def test_state_dict_round_trip_continues_exactly(make):
    straight, _ = train(make, "quadratic", 120)
    half, opt = train(make, "quadratic", 60, decay_at=80)
    resumed, _ = train(make, "quadratic", 120, first=60, start=half, state=copy.deepcopy(opt.state_dict()))
    for a, b in zip(straight, resumed):
        assert torch.equal(a, b)


# --- closed forms --------------------------------------------------------------------------------

def _linear_run(opt_cls, c: torch.Tensor, steps: int, **kw) -> torch.Tensor:
    """Minimise f(θ) = c·θ (constant gradient c) from θ = 1 and return θ after ``steps`` steps."""
    theta = torch.ones_like(c, requires_grad=True)
    opt = opt_cls([theta], **kw)
    for _ in range(steps):
        opt.zero_grad()
        (c * theta).sum().backward()
        opt.step()
    return theta.detach()


C = torch.tensor([3.0, -0.02, 1e-3, -50.0], dtype=torch.float64)


def test_adam_first_step_moves_each_coordinate_by_lr_times_sign():
    # m̂_1 = g and √v̂_1 = |g|, so Δθ = −α g/(|g| + ε) ≈ −α sign(g), whatever the gradient's scale
    lr, eps = 0.01, 1e-8
    step = _linear_run(Adam, C, 1, lr=lr, eps=eps) - 1
    torch.testing.assert_close(step, -lr * C / (C.abs() + eps), rtol=1e-12, atol=0)
    # with a constant gradient every bias-corrected step is the same: m̂_t = g, v̂_t = g²
    torch.testing.assert_close(_linear_run(Adam, C, 50, lr=lr, eps=eps) - 1, 50 * step, rtol=1e-9, atol=0)


def _uncorrected_steps(steps: int, lr: float, beta1: float, beta2: float, eps: float) -> list[torch.Tensor]:
    """Adam's steps without bias correction under a constant gradient C, in closed form:
    m_t = (1 − β₁ᵗ)C and v_t = (1 − β₂ᵗ)C², so u_t = (1 − β₁ᵗ)C / (√(1 − β₂ᵗ)|C| + ε)."""
    return [(1 - beta1 ** t) * C / (math.sqrt(1 - beta2 ** t) * C.abs() + eps) for t in range(1, steps + 1)]


def test_adam_without_bias_correction_matches_its_closed_form():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    u = _uncorrected_steps(40, lr, b1, b2, eps)
    # first step: α(1 − β₁)/√(1 − β₂) ≈ 3.16α per coordinate, not α
    first = _linear_run(Adam, C, 1, lr=lr, bias_correction=False) - 1
    torch.testing.assert_close(first, -lr * u[0], rtol=1e-12, atol=0)
    assert first[0].item() == pytest.approx(-lr * (1 - b1) / math.sqrt(1 - b2), rel=1e-6)
    after = _linear_run(Adam, C, 40, lr=lr, bias_correction=False)
    torch.testing.assert_close(after, 1 - lr * sum(u), rtol=1e-12, atol=0)
    torch.testing.assert_close(_linear_run(AdamW, C, 40, lr=lr, weight_decay=0.0, bias_correction=False), after)


def test_bert_adam_matches_bert_update():
    # BERT: u = m/(√v + ε); u += λθ; θ ← θ − α u; no bias correction
    lr, wd, eps = 0.05, 0.1, 1e-6
    theta = torch.ones_like(C)
    for u in _uncorrected_steps(30, lr, 0.9, 0.999, eps):
        theta = theta - lr * (u + wd * theta)
    torch.testing.assert_close(_linear_run(BertAdam, C, 30, lr=lr, weight_decay=wd), theta, rtol=1e-12, atol=0)
    assert BertAdam([torch.zeros(1, requires_grad=True)]).defaults == dict(
        lr=1e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, bias_correction=False)


def test_sgd_momentum_equals_the_classic_velocity_form_at_constant_rate():
    # Polyak / Sutskever et al.: v ← μv − η∇f(θ); θ ← θ + v
    lr, mu, steps = 0.05, 0.9, 60
    ours, _ = train(lambda ps: SGD(ps, lr=lr, momentum=mu), "mlp", steps, decay_at=steps)
    init, loss = mlp_problem()
    params = [p.clone().requires_grad_() for p in init]
    velocity = [torch.zeros_like(p) for p in params]
    for step in range(steps):
        grads = torch.autograd.grad(loss(params, step), params)
        with torch.no_grad():
            for p, v, g in zip(params, velocity, grads):
                v.mul_(mu).sub_(lr * g)
                p.add_(v)
    for a, b in zip(params, ours):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


# --- the config ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam", "adamw", "bert_adam"])
def test_build_optimizer_paperzoo_equals_torch_by_name(name):
    cfg = OptimizerConfig(name=name, lr=0.01, momentum=0.9, weight_decay=1e-3, impl="paperzoo")
    ours, opt = train(lambda ps: build_optimizer(cfg, ps), "mlp", 100)
    assert type(opt).__module__ == "paperzoo.optim.optimizers"
    if name == "bert_adam":
        return
    theirs, opt_t = train(lambda ps: build_optimizer(replace(cfg, impl="torch"), ps), "mlp", 100)
    assert type(opt_t).__module__.startswith("torch.optim")
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-10)


def test_build_optimizer_without_bias_correction_and_user_errors():
    p = [torch.nn.Parameter(torch.zeros(2))]
    for name in ("adam", "adamw"):
        opt = build_optimizer(OptimizerConfig(name=name, bias_correction=False), p)   # impl="torch" too
        assert type(opt).__module__ == "paperzoo.optim.optimizers" and not opt.defaults["bias_correction"]
    with pytest.raises(UserError, match="bias_correction applies to adam and adamw"):
        build_optimizer(OptimizerConfig(name="sgd", bias_correction=False), p)
    with pytest.raises(UserError, match="Nesterov"):
        build_optimizer(OptimizerConfig(name="sgd", momentum=0.0, nesterov=True, impl="paperzoo"), p)
    with pytest.raises(UserError, match="unknown optimizer"):
        build_optimizer(OptimizerConfig(name="lion"), p)


def test_bias_and_norm_parameters_can_be_exempt_from_weight_decay():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2, bias=False))
    cfg = OptimizerConfig(name="bert_adam", lr=1e-3, weight_decay=0.01, decay_bias_and_norm=False)
    opt = build_optimizer(cfg, model)
    decayed, exempt = opt.param_groups
    assert [p.shape for p in decayed["params"]] == [(4, 3), (2, 4)] and decayed["weight_decay"] == 0.01
    assert [p.shape for p in exempt["params"]] == [(4,), (4,), (4,)] and exempt["weight_decay"] == 0.0
    for p in model.parameters():   # one step from zero gradients: only weight decay moves the decayed weights
        p.grad = torch.zeros_like(p)
    before = [p.detach().clone() for p in model.parameters()]
    opt.step()
    moved = [not torch.equal(b, p) for b, p in zip(before, model.parameters())]
    assert moved == [True, False, False, False, True]   # Linear weight, its bias, LN weight, LN bias, Linear weight
    assert len(build_optimizer(replace(cfg, decay_bias_and_norm=True), model).param_groups) == 1
    with pytest.raises(UserError, match="needs the model"):
        build_optimizer(cfg, model.parameters())
