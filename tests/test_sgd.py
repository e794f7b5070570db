"""Loshchilov & Hutter's Propositions 1 and 2 on a tiny problem, and the claim's verdict rule."""

from __future__ import annotations

import copy

import pytest
import torch

from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.nn import MLP
from paperzoo.optim import OptimizerConfig, build_optimizer
from paperzoo.papers.sgd import experiments as ex


def _trajectories(specs, steps=60, seed=0):
    """Train one copy of a tiny float64 MLP per spec on the same random batches; final flat parameters."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, 16, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (steps, 16), generator=g)
    torch.manual_seed(seed)
    init = MLP(in_features=8, hidden=(6,), out_features=3).double()
    out = {}
    for name, run in specs.items():
        net = copy.deepcopy(init)
        opt = build_optimizer(run.optimizer, net.parameters())
        for t in range(steps):
            ex.train_step(net, opt, run, x[t], y[t])
        out[name] = ex.flat(net)
    return out


def _cfg(name, lr, **kw):
    return OptimizerConfig(name=name, lr=lr, weight_decay=kw.pop("weight_decay", 0.0), impl="paperzoo", **kw)


LAM = 0.05


def test_sgd_weight_decay_is_l2_regularisation():
    sgd = _cfg("sgd", 0.2, momentum=0.0)
    p = _trajectories({"l2": ex.Run(sgd, l2=LAM), "decay": ex.Run(sgd, decay=LAM),
                       "option": ex.Run(_cfg("sgd", 0.2, momentum=0.0, weight_decay=LAM)), "none": ex.Run(sgd)})
    assert ex.relative_distance(p["decay"], p["l2"]) < 1e-13
    assert ex.relative_distance(p["option"], p["l2"]) < 1e-13
    assert ex.relative_distance(p["none"], p["l2"]) > 1e-3   # the decay does something


def test_adam_decay_is_adamw_and_is_not_l2_for_any_coefficient():
    adam = _cfg("adam", 0.01)
    specs = {"adamw": ex.Run(_cfg("adamw", 0.01, weight_decay=LAM)), "decay": ex.Run(adam, decay=LAM),
             "option": ex.Run(_cfg("adam", 0.01, weight_decay=LAM)), "l2": ex.Run(adam, l2=LAM)}
    specs |= {f"l2x{k:g}": ex.Run(adam, l2=k * LAM) for k in (0.01, 0.1, 10.0, 100.0)}
    p = _trajectories(specs)
    assert ex.relative_distance(p["decay"], p["adamw"]) < 1e-12     # AdamW = decay the weights, then Adam's step
    assert ex.relative_distance(p["option"], p["l2"]) < 1e-13       # Adam's weight_decay option is L2
    assert min(ex.relative_distance(p["adamw"], p[k]) for k in specs if k.startswith("l2")) > 1e-3


def test_decay_weights_and_l2_penalty():
    w = torch.full((3,), 2.0)
    ex.decay_weights_([w], 0.25)
    assert torch.equal(w, torch.full((3,), 1.5))
    assert float(ex.l2_penalty([torch.ones(4), torch.ones(2)], 0.5)) == pytest.approx(0.5 / 2 * 6)


def test_every_pair_names_runs_that_exist():
    runs = ex.runs(ex.Trajectory())
    assert all(a in runs and b in runs for _, a, b in ex.PAIRS)
    assert runs["adam/decoupled"].optimizer.name == "adamw" and runs["sgd/decoupled"].decay > 0


def _outcome(sgd=(1e-15,), floor=(1e-16,), adamw=(0.05,)):
    """Each seed's largest distance along the trajectory, and the verdict's exact quantities from them."""
    out = Outcome()
    out.add("max_distance/SGD: decoupled decay vs L2 (Prop. 1)", sgd)
    out.add("max_distance/SGD: weight_decay option vs L2", floor)
    out.add("max_distance/Adam: weight_decay option vs L2", floor)
    out.add("max_distance/AdamW vs Adam + L2, best λ'", adamw)
    ex.exact_quantities(out)
    return out


def verdict(out):
    return get_claim("sgd.weight-decay-is-l2").verdict(out, ex.DecayPreset(description="t")).status


def test_verdict_rule():
    assert verdict(_outcome()) == "holds"
    assert verdict(_outcome(sgd=(0.01,))) == "does not hold"
    assert verdict(_outcome(adamw=(1e-14,))) == "does not hold"
    assert verdict(_outcome(sgd=(1e-6,))) == "inconclusive"
    assert verdict(_outcome(adamw=(1e-5,))) == "inconclusive"
    assert verdict(_outcome(floor=(1e-7,))) == "inconclusive"
    assert verdict(_outcome(floor=(0.0,))) == "holds"   # bitwise the same: log10 is -inf


def test_the_worst_seed_decides_as_an_exact_number():
    # one seed of three drifts apart: no mean over seeds hides it, and no seed noise widens the bound
    assert verdict(_outcome(sgd=(1e-15, 1e-15, 0.01), floor=(1e-16,) * 3, adamw=(0.05,) * 3)) == "does not hold"
    assert verdict(_outcome(sgd=(1e-15,) * 3, floor=(1e-16,) * 3, adamw=(0.05, 0.06, 1e-5))) == "inconclusive"
    v = get_claim("sgd.weight-decay-is-l2").verdict(_outcome(), ex.DecayPreset(description="t"))
    assert "-15.00" in v.reason and "exact" in v.reason
