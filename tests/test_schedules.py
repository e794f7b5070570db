"""Learning-rate schedules against closed forms and torch.optim.lr_scheduler, and in the loop."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
import torch
from test_train_loop import FixedBatchTask, Interrupt, _timing_free, small_net

from paperzoo.errors import UserError
from paperzoo.optim import OptimizerConfig, ScheduleConfig, build_schedule
from paperzoo.optim.schedules import ReduceOnPlateau
from paperzoo.train.checkpoint import flatten_tree, load_checkpoint, unflatten_tree
from paperzoo.train.logger import read_metrics
from paperzoo.train.loop import TrainConfig, Trainer


def torch_rates(make_scheduler, steps: int, base: float = 1.0) -> list[float]:
    """The learning rate torch's scheduler sets at steps 0..steps-1 (one scheduler.step() per step)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def rates(cfg: ScheduleConfig, steps: int, total: int | None = None) -> list[float]:
    schedule = build_schedule(cfg, total_steps=total or steps)
    return [schedule(s) for s in range(steps)]


# --- stateless schedules -----------------------------------------------------------------------

def test_step_and_multistep_equal_torch():
    lr = torch.optim.lr_scheduler
    assert rates(ScheduleConfig(name="multistep", milestones=(30, 45), gamma=0.1), 60) == pytest.approx(
        torch_rates(lambda o: lr.MultiStepLR(o, milestones=[30, 45], gamma=0.1), 60), rel=1e-12)
    assert rates(ScheduleConfig(name="step", step_size=7, gamma=0.5), 40) == pytest.approx(
        torch_rates(lambda o: lr.StepLR(o, step_size=7, gamma=0.5), 40), rel=1e-12)


@pytest.mark.parametrize("min_factor", [0.0, 0.05])
def test_cosine_equals_closed_form_and_torch(min_factor):
    total, w = 200, 20
    cfg = ScheduleConfig(name="cosine", warmup_steps=w, warmup="linear", warmup_factor=0.0, min_factor=min_factor)
    ours = rates(cfg, total)
    # linear warm-up from 0, then min + (1 − min)(1 + cos(π(s − w)/(T − w)))/2
    closed = [s / w if s < w else min_factor + (1 - min_factor) * (1 + math.cos(math.pi * (s - w) / (total - w))) / 2
              for s in range(total)]
    assert ours == pytest.approx(closed, rel=1e-12, abs=1e-15)
    assert ours[w] == 1.0 and ours[-1] == pytest.approx(min_factor, abs=1e-3)
    lr = torch.optim.lr_scheduler
    no_warmup = rates(replace(cfg, warmup_steps=0), total)
    assert no_warmup == pytest.approx(torch_rates(lambda o: lr.CosineAnnealingLR(o, T_max=total, eta_min=min_factor),
                                                  total), rel=1e-9, abs=1e-12)
    warm_cosine = torch_rates(lambda o: lr.SequentialLR(o, [
        lr.LinearLR(o, start_factor=1e-9, end_factor=1.0, total_iters=w),
        lr.CosineAnnealingLR(o, T_max=total - w, eta_min=min_factor)], milestones=[w]), total)
    assert ours == pytest.approx(warm_cosine, rel=1e-7, abs=1e-8)


def test_linear_is_berts_warmup_then_decay_and_equals_torch_polynomial():
    total, w = 100, 10
    ours = rates(ScheduleConfig(name="linear", warmup_steps=w, warmup="linear", warmup_factor=0.0), total)
    # BERT's create_optimizer: s/w during warm-up, then 1 − s/T
    assert ours == pytest.approx([s / w if s < w else 1 - s / total for s in range(total)], rel=1e-12, abs=1e-15)
    no_warmup = rates(ScheduleConfig(name="linear"), total)
    assert no_warmup == pytest.approx(torch_rates(
        lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=total, power=1.0), total), rel=1e-9, abs=1e-12)


def test_noam_is_the_transformer_eq_3():
    d, w = 512, 4000
    s = build_schedule(ScheduleConfig(name="noam", warmup_steps=w, d_model=d))
    for step in (0, 1, 99, w - 2, w - 1, w, 10_000, 99_999):
        n = step + 1
        assert s(step) == pytest.approx(d ** -0.5 * min(n ** -0.5, n * w ** -1.5), rel=1e-12)
    values = [s(i) for i in range(3 * w)]
    peak = max(range(3 * w), key=values.__getitem__)
    assert peak == w - 1 and values[peak] == pytest.approx((d * w) ** -0.5)   # the 4000th step, 6.99e-4
    assert values[0] == pytest.approx(d ** -0.5 * w ** -1.5)                  # step 1 of the paper
    small = build_schedule(ScheduleConfig(name="noam", warmup_steps=10, d_model=64))
    assert small(9) == pytest.approx(64 ** -0.5 * 10 ** -0.5)


def test_inverse_sqrt_is_alpha_over_sqrt_t():
    s = build_schedule(ScheduleConfig(name="inverse_sqrt"))
    assert [s(step) for step in (0, 3, 99)] == pytest.approx([1.0, 0.5, 0.1], rel=1e-12)   # t = step + 1
    # Eq. 3 with d_model = 1 and one warm-up step is the same curve
    noam = build_schedule(ScheduleConfig(name="noam", d_model=1, warmup_steps=1))
    assert [s(i) for i in range(500)] == pytest.approx([noam(i) for i in range(500)], rel=1e-12)
    warm = build_schedule(ScheduleConfig(name="inverse_sqrt", warmup_steps=4, warmup="linear", warmup_factor=0.0))
    assert [warm(i) for i in range(6)] == pytest.approx([0.0, 0.25, 0.5, 0.75, 5 ** -0.5, 6 ** -0.5])


@pytest.mark.parametrize("cfg, message", [
    (ScheduleConfig(name="cosine"), "total number of steps"),
    (ScheduleConfig(name="linear"), "total number of steps"),
    (ScheduleConfig(name="noam"), "warmup_steps > 0"),
    (ScheduleConfig(name="plateau", gamma=1.5), "0 < gamma < 1"),
    (ScheduleConfig(name="sawtooth"), "unknown schedule"),
])
def test_schedule_user_errors(cfg, message):
    with pytest.raises(UserError, match=message):
        build_schedule(cfg)


# --- reduce on plateau -------------------------------------------------------------------------

PLATEAU_CASES = [
    dict(patience=0),
    dict(patience=2, threshold=0.05),
    dict(patience=1, threshold=0.02, threshold_mode="abs", cooldown=2),
    dict(patience=1, mode="max", gamma=0.5, min_factor=0.1),
    dict(patience=3, mode="max", threshold=0.01, threshold_mode="abs", gamma=0.3, cooldown=1),
]


def plateau(**kw) -> ScheduleConfig:
    return ScheduleConfig(name="plateau", **kw)


def _metric_sequence(seed: int, n: int = 80) -> list[float]:
    """A validation curve that improves, wobbles and flattens out."""
    rng = random.Random(seed)
    return [1.0 / (1 + 0.2 * i) + 0.05 * rng.random() for i in range(n)]


@pytest.mark.parametrize("kw", PLATEAU_CASES, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_plateau_equals_torch_reduce_lr_on_plateau(kw):
    cfg = plateau(**kw)
    torch_kw = {"mode": cfg.mode, "factor": cfg.gamma, "patience": cfg.patience, "threshold": cfg.threshold,
                "threshold_mode": cfg.threshold_mode, "cooldown": cfg.cooldown, "min_lr": cfg.min_factor}
    for seed in range(3):
        metrics = _metric_sequence(seed)
        ours = build_schedule(cfg)
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **torch_kw)
        ours_lr, theirs_lr = [], []
        for value in metrics:
            ours.observe(value)
            theirs.step(value)
            ours_lr.append(ours(0))
            theirs_lr.append(opt.param_groups[0]["lr"])
        assert ours_lr == pytest.approx(theirs_lr, rel=1e-12)
        assert min(ours_lr) < 1.0   # it did reduce


def test_plateau_state_round_trip_and_warmup():
    cfg = plateau(patience=1, threshold=0.05, cooldown=1, warmup_steps=4, warmup="linear",
                                warmup_factor=0.0)
    metrics = _metric_sequence(7, 60)
    straight = build_schedule(cfg)
    resumed = build_schedule(cfg)
    seen = []
    for i, value in enumerate(metrics):
        straight.observe(value)
        seen.append(straight(100))
        if i < 30:
            resumed.observe(value)
        if i == 29:   # through the checkpoint's tree encoding and back, into a fresh schedule
            skeleton, tensors = flatten_tree(resumed.state_dict())
            resumed = build_schedule(cfg)
            resumed.load_state_dict(unflatten_tree(skeleton, tensors))
        if i >= 30:
            resumed.observe(value)
            assert resumed(100) == seen[-1] and resumed.state_dict() == straight.state_dict()
    assert len(set(seen)) > 2
    assert isinstance(straight, ReduceOnPlateau)
    # warm-up first, times the reductions: at step 2 half the warm-up
    assert straight(2) == pytest.approx(0.5 * straight.factor)


# --- in the training loop ----------------------------------------------------------------------

class EvalTask(FixedBatchTask):
    """The fixed-batch regression task with a validation loss, crashing at training step ``crash_at``."""

    def __init__(self, crash_at: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.vx, self.vy = torch.randn(8, 3, 8, 8, generator=g), torch.randn(8, 4, generator=g)
        self.calls, self.crash_at = 0, crash_at

    def training_step(self, model, batch):
        self.calls += 1
        if self.calls == self.crash_at:
            raise Interrupt()
        return super().training_step(model, batch)

    def evaluate(self, model):
        return {"val_loss": torch.nn.functional.mse_loss(model(self.vx), self.vy).item()}


LOOP = TrainConfig(steps=14, eval_every=2, log_every=1, checkpoint_every=4, device="cpu", progress=False,
                   deterministic=True)


@pytest.mark.parametrize("optimizer, schedule", [
    (OptimizerConfig(name="adamw", lr=0.05, weight_decay=1e-2, impl="paperzoo"),
     ScheduleConfig(name="plateau", monitor="val_loss", patience=0, threshold=0.05, gamma=0.5)),
    (OptimizerConfig(name="sgd", lr=0.05, momentum=0.9, nesterov=True, impl="paperzoo"),
     ScheduleConfig(name="cosine", warmup_steps=3, warmup="linear", warmup_factor=0.0, min_factor=0.1)),
    (OptimizerConfig(name="bert_adam", lr=0.01, eps=1e-6),
     ScheduleConfig(name="linear", warmup_steps=3, warmup="linear", warmup_factor=0.0)),
], ids=["adamw-plateau", "sgd-cosine", "bert_adam-linear"])
def test_loop_resume_after_interruption_equals_uninterrupted_run(tmp_path, optimizer, schedule):
    cfg = replace(LOOP, optimizer=optimizer, schedule=schedule)
    straight = small_net()
    Trainer(straight, EvalTask(), cfg, run_dir=tmp_path / "a").fit()
    with pytest.raises(Interrupt):   # crash in step 11, after the checkpoint at step 8
        Trainer(small_net(), EvalTask(crash_at=11), cfg, run_dir=tmp_path / "b").fit()
    assert load_checkpoint(tmp_path / "b")[2]["step"] == 8
    resumed = small_net()
    Trainer(resumed, EvalTask(), cfg, run_dir=tmp_path / "b").fit(resume=True)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    records = read_metrics(tmp_path / "a" / "metrics.jsonl")
    assert _timing_free(records) == _timing_free(read_metrics(tmp_path / "b" / "metrics.jsonl"))
    lrs = [r["lr"] for r in records if r["split"] == "train"]
    if schedule.name == "plateau":   # the rate was reduced after an evaluation, and only then
        assert lrs[0] == optimizer.lr and min(lrs) < optimizer.lr
        drops = [i + 1 for i in range(len(lrs) - 1) if lrs[i + 1] < lrs[i]]
        assert drops and all(step % cfg.eval_every == 0 for step in drops)
    else:   # the loop passed the total number of steps: the logged rates are the closed form's
        expected = rates(schedule, cfg.steps, cfg.steps)
        assert lrs == pytest.approx([optimizer.lr * f for f in expected], rel=1e-12)


def test_plateau_monitor_missing_or_no_evaluations_is_a_user_error(tmp_path):
    cfg = replace(LOOP, optimizer=OptimizerConfig(lr=0.01), schedule=ScheduleConfig(name="plateau"))
    with pytest.raises(UserError, match="watches 'val_error'.*one of: val_loss"):
        Trainer(small_net(), EvalTask(), cfg).fit()
    with pytest.raises(UserError, match="set eval_every"):
        Trainer(small_net(), EvalTask(), replace(cfg, eval_every=0))
