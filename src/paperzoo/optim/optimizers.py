"""Optimizers written from their papers' equations, one short ``step`` each.

Plain per-parameter loops (clarity over speed; ``torch.optim``'s multi-tensor kernels are what
``OptimizerConfig(impl="torch")`` builds). Every update keeps its state in ``self.state[p]``, so
``state_dict()`` / ``load_state_dict()`` save and restore it and a resumed run continues exactly.
The tests hold each one equal to its ``torch.optim`` counterpart over hundreds of steps.

Notation: θ the parameters, g = ∇f(θ) the gradient, η (``lr``) the learning rate, λ
(``weight_decay``) the decay coefficient, t the step count from 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch.optim import Optimizer

Params = Iterable[torch.Tensor] | Iterable[dict[str, Any]]


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _with_grad(group: dict[str, Any]) -> Iterator[torch.Tensor]:
    """The group's parameters that received a gradient (None means: leave it and its state alone)."""
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError("paperzoo's optimizers take dense gradients only")
        yield p


class _PaperOptimizer(Optimizer):
    """``step`` runs ``_update(p, g, group, state)`` for each parameter with a gradient."""

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in _with_grad(group):
                self._update(p, p.grad, group, self.state[p])
        return loss

    def _update(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        raise NotImplementedError


class SGD(_PaperOptimizer):
    """Stochastic gradient descent with Polyak momentum or Nesterov momentum and L2 weight decay.

    Classic momentum (Polyak 1964; Sutskever et al. 2013, Eq. 1-2) keeps a velocity
    ``v ← μv − η∇f(θ); θ ← θ + v``. This class (like ``torch.optim.SGD``) keeps instead a buffer
    of gradients ``b ← μb + g; θ ← θ − ηb``. While η is constant the two are the same steps
    (``v = −ηb``). They differ when a schedule changes η: here the whole buffer is scaled by the
    new rate at once, while the classic velocity goes on carrying steps taken at the old rate,
    fading by μ per step. After AlexNet's or ResNet's "divide the learning rate by 10" the
    steps therefore shrink tenfold at once here and over some 1/(1 − μ) steps in the classic form.

    Nesterov momentum (Sutskever et al. 2013, Eq. 3-4, evaluated at the look-ahead point)
    is used in the rewritten form of Bengio et al. 2013 that needs only the gradient at θ:
    ``θ ← θ − η(g + μb)`` with ``b`` already updated.

    ``weight_decay`` adds λθ to the gradient (L2 regularisation, the gradient of λ/2·‖θ‖²).
    ``dampening`` scales the new gradient in the buffer by ``1 − dampening`` (not in the
    papers; 0 by default). As in ``torch.optim.SGD``, the buffer starts as the first gradient
    itself, undamped. No paper fixes a default learning rate, so ``lr`` is required.
    """

    def __init__(self, params: Params, *, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        _check(lr >= 0, f"invalid learning rate {lr}")
        _check(momentum >= 0, f"invalid momentum {momentum}")
        _check(weight_decay >= 0, f"invalid weight_decay {weight_decay}")
        _check(not nesterov or (momentum > 0 and dampening == 0), "Nesterov momentum needs momentum > 0 "
                                                                  "and no dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, p, g, group, state):
        lr, mu, lam = group["lr"], group["momentum"], group["weight_decay"]
        if lam:
            # L2: g ← g + λθ
            g = g.add(p, alpha=lam)
        if mu:
            b = state.get("momentum_buffer")
            if b is None:
                # b_1 = g_1
                b = state["momentum_buffer"] = g.clone()
            else:
                # b ← μb + (1 − dampening)g
                b.mul_(mu).add_(g, alpha=1 - group["dampening"])
            # Nesterov: step along g + μb; Polyak: along b
            g = g.add(b, alpha=mu) if group["nesterov"] else b
        # θ ← θ − ηg
        p.add_(g, alpha=-lr)


class AdaGrad(_PaperOptimizer):
    """AdaGrad (Duchi, Hazan & Singer 2011), the diagonal version.

    Each coordinate's step is divided by the root of the sum of all its squared gradients so
    far: ``θ_{t+1} = θ_t − η·diag(δI + diag(G_t)^{1/2})^{-1} g_t`` (the paper's update with
    ``H_t = δI + diag(G_t)^{1/2}``, Section 1 and Fig. 1). δ is ``eps``, added after the square
    root as in the paper and in ``torch.optim.Adagrad``. ``weight_decay`` adds λθ to the
    gradient (not in the paper). ``torch.optim.Adagrad``'s ``lr_decay`` is not offered.
    Defaults: η 0.01 and δ 1e-10 as in ``torch.optim.Adagrad`` (the paper fixes neither).
    """

    def __init__(self, params: Params, *, lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0) -> None:
        _check(lr >= 0 and eps >= 0 and weight_decay >= 0, "lr, eps and weight_decay must be non-negative")
        _check(initial_accumulator_value >= 0, f"invalid initial_accumulator_value {initial_accumulator_value}")
        super().__init__(params, dict(lr=lr, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value))

    def _update(self, p, g, group, state):
        if group["weight_decay"]:
            g = g.add(p, alpha=group["weight_decay"])
        if not state:
            state["sum"] = torch.full_like(p, group["initial_accumulator_value"])
        G = state["sum"]
        # G_t = G_{t-1} + g_t²  (the diagonal of Σ_τ g_τ g_τᵀ)
        G.addcmul_(g, g)
        # θ ← θ − η g / (δ + √G_t)
        p.addcdiv_(g, G.sqrt().add_(group["eps"]), value=-group["lr"])


class RMSProp(_PaperOptimizer):
    """RMSProp (Tieleman & Hinton 2012, Coursera lecture 6.5).

    "Divide the gradient by a running average of its recent magnitude":
    ``MeanSquare(w, t) = 0.9·MeanSquare(w, t−1) + 0.1·(∂E/∂w)²`` and the step is
    ``η·g/√MeanSquare``. ``alpha`` is the lecture's 0.9 by default (``torch.optim.RMSprop`` uses
    0.99). Additions the lecture does not have, all as ``torch.optim.RMSprop`` computes them:
    ``eps`` added to the root; ``momentum`` (a buffer ``b ← μb + g/(√MeanSquare + ε)``,
    ``θ ← θ − ηb``); ``centered`` (divide by the root of the *variance*, MeanSquare minus the
    square of a running mean of g, as Graves 2013 Eq. 38-40); ``weight_decay`` added to the
    gradient. The lecture gives no learning rate; the default 0.01 is torch's.
    """

    def __init__(self, params: Params, *, lr: float = 0.01, alpha: float = 0.9, eps: float = 1e-8,
                 momentum: float = 0.0, centered: bool = False, weight_decay: float = 0.0) -> None:
        _check(lr >= 0 and eps >= 0 and momentum >= 0 and weight_decay >= 0,
               "lr, eps, momentum and weight_decay must be non-negative")
        _check(0 <= alpha < 1, f"invalid alpha {alpha}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered,
                                      weight_decay=weight_decay))

    def _update(self, p, g, group, state):
        alpha, mu = group["alpha"], group["momentum"]
        if group["weight_decay"]:
            g = g.add(p, alpha=group["weight_decay"])
        if not state:
            state["square_avg"] = torch.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(p)
            if mu:
                state["momentum_buffer"] = torch.zeros_like(p)
        ms = state["square_avg"]
        # MeanSquare ← α·MeanSquare + (1 − α)·g²
        ms.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        if group["centered"]:
            mean = state["grad_avg"]
            # ḡ ← α·ḡ + (1 − α)·g;  denominator √(MeanSquare − ḡ²) + ε
            mean.mul_(alpha).add_(g, alpha=1 - alpha)
            denom = ms.addcmul(mean, mean, value=-1).sqrt_().add_(group["eps"])
        else:
            # denominator √MeanSquare + ε
            denom = ms.sqrt().add_(group["eps"])
        if mu:
            b = state["momentum_buffer"]
            # b ← μb + g/denom;  θ ← θ − ηb
            b.mul_(mu).addcdiv_(g, denom)
            p.add_(b, alpha=-group["lr"])
        else:
            # θ ← θ − η g/denom
            p.addcdiv_(g, denom, value=-group["lr"])


class Adam(_PaperOptimizer):
    """Adam (Kingma & Ba 2015), Algorithm 1, with L2 weight decay added to the gradient.

    Algorithm 1 (α ``lr``, β₁, β₂ ``betas``, ε ``eps``)::

        g_t = ∇f(θ_{t−1})
        m_t = β₁·m_{t−1} + (1 − β₁)·g_t          biased first moment
        v_t = β₂·v_{t−1} + (1 − β₂)·g_t²         biased second raw moment
        m̂_t = m_t / (1 − β₁ᵗ),  v̂_t = v_t / (1 − β₂ᵗ)   bias correction
        θ_t = θ_{t−1} − α·m̂_t / (√v̂_t + ε)

    This is what is computed, and what ``torch.optim.Adam`` computes: ε is added to the
    bias-corrected root √v̂_t. Section 2's "more efficient" ordering instead folds both
    corrections into the step size, ``α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ)``,
    ``θ_t = θ_{t−1} − α_t·m_t/(√v_t + ε̂)``; that equals Algorithm 1 with
    ``ε = ε̂/√(1 − β₂ᵗ)``, a different (step-dependent) ε, so it is not used here.

    ``bias_correction=False`` drops the two divisions (m̂ = m, v̂ = v), as BERT trained; the
    first step is then ``α(1 − β₁)/√(1 − β₂)`` ≈ 3.16α per coordinate with the default betas,
    instead of α. ``weight_decay`` adds λθ to g before the moments (L2 regularisation, which
    the moments then rescale; :class:`AdamW` decouples it). The defaults are the paper's
    (α 0.001, β₁ 0.9, β₂ 0.999, ε 1e-8). AMSGrad is not offered.
    """

    decoupled = False   # AdamW: add λθ to the step instead of to the gradient

    def __init__(self, params: Params, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, bias_correction: bool = True) -> None:
        _check(lr >= 0 and eps >= 0 and weight_decay >= 0, "lr, eps and weight_decay must be non-negative")
        _check(all(0 <= b < 1 for b in betas), f"invalid betas {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      bias_correction=bias_correction))

    def _update(self, p, g, group, state):
        (beta1, beta2), lam = group["betas"], group["weight_decay"]
        if lam and not self.decoupled:
            # L2: g_t ← g_t + λθ_{t−1}
            g = g.add(p, alpha=lam)
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        # m_t = β₁·m_{t−1} + (1 − β₁)·g_t
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        # v_t = β₂·v_{t−1} + (1 − β₂)·g_t²
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        if group["bias_correction"]:
            # m̂_t = m_t / (1 − β₁ᵗ);  √v̂_t = √v_t / √(1 − β₂ᵗ)
            m_hat, root_v_hat = m / (1 - beta1 ** t), v.sqrt() / math.sqrt(1 - beta2 ** t)
        else:
            m_hat, root_v_hat = m, v.sqrt()
        # u_t = m̂_t / (√v̂_t + ε)
        u = m_hat / root_v_hat.add_(group["eps"])
        if lam and self.decoupled:
            # decoupled decay: u_t ← u_t + λθ_{t−1}
            u.add_(p, alpha=lam)
        # θ_t = θ_{t−1} − α·u_t
        p.add_(u, alpha=-group["lr"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2).

    The decay is added to the step, not to the gradient, so the moments never see it:
    ``θ_t = θ_{t−1} − α·(m̂_t/(√v̂_t + ε) + λθ_{t−1})``. Here the decay is multiplied by the
    learning rate α (the whole rate, schedule included), as ``torch.optim.AdamW`` does
    (``θ ← θ(1 − αλ)`` first). The paper's Algorithm 2 writes
    ``θ_t = θ_{t−1} − η_t(α·m̂_t/(√v̂_t + ε) + λθ_{t−1})`` with only the schedule multiplier
    η_t on the decay, so the paper's λ equals α·λ here. The default λ 0.01 is torch's; the
    paper tunes it per problem (and normalises it by the number of steps). Other defaults
    are Adam's.
    """

    decoupled = True

    def __init__(self, params: Params, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, bias_correction: bool = True) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         bias_correction=bias_correction)


class BertAdam(AdamW):
    """The Adam variant BERT trained with (Devlin et al. 2019; ``AdamWeightDecayOptimizer`` in
    the original ``optimization.py``): decoupled weight decay and no bias correction.

    ``u = m_t/(√v_t + ε); u ← u + λθ; θ ← θ − α·u``: the moments are Adam's, the step uses
    them uncorrected, and the decay is added to the update before the learning rate
    multiplies it, which is exactly :class:`AdamW` with ``bias_correction=False``. Defaults are
    BERT's: α 1e-4 (the paper's pre-training rate), β (0.9, 0.999), ε 1e-6, λ 0.01. BERT also
    exempted biases and LayerNorm parameters from the decay by name; pass them in a param
    group with ``weight_decay=0`` for that. BERT's gradient clipping (global norm 1.0) belongs
    to the training loop (``TrainConfig.grad_clip``).
    """

    def __init__(self, params: Params, *, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.01) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, bias_correction=False)
