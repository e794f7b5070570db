from dataclasses import dataclass, field
from typing import Literal

import pytest

from paperzoo.config import apply_overrides, parse_assignments, to_dict
from paperzoo.errors import UserError
from paperzoo.optim import ScheduleConfig, build_schedule


@dataclass(frozen=True)
class Inner:
    lr: float = 0.1
    name: Literal["sgd", "adam"] = "sgd"
    milestones: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outer:
    steps: int = 10
    flag: bool = False
    clip: float | None = None
    inner: Inner = field(default_factory=Inner)


def test_overrides_are_typed_and_nested():
    cfg = apply_overrides(Outer(), parse_assignments(
        ["steps=2e3", "flag=true", "clip=none", "inner.lr=0.05", "inner.name=adam", "inner.milestones=3,5"]))
    assert cfg == Outer(steps=2000, flag=True, clip=None, inner=Inner(lr=0.05, name="adam", milestones=(3, 5)))
    assert to_dict(cfg)["inner"]["milestones"] == [3, 5]


@pytest.mark.parametrize("item, message", [
    ("stpes=3", "unknown setting 'stpes'"),
    ("steps=three", "expected int"),
    ("inner.name=rmsprop", "choose one of sgd, adam"),
    ("flag=maybe", "expected true or false"),
    ("inner=3", "is a group"),
])
def test_bad_overrides_are_user_errors(item, message):
    with pytest.raises(UserError, match=message):
        apply_overrides(Outer(), parse_assignments([item]))


def test_malformed_assignment():
    with pytest.raises(UserError, match="key=value"):
        parse_assignments(["steps"])


def test_multistep_schedule_matches_resnet_recipe():
    s = build_schedule(ScheduleConfig(name="multistep", milestones=(32000, 48000)))
    assert [s(0), s(31999), s(32000), s(47999), s(48000), s(63999)] == pytest.approx([1, 1, .1, .1, .01, .01])


def test_warmup_schedules():
    const = build_schedule(ScheduleConfig(name="multistep", milestones=(10,), warmup_steps=4, warmup_factor=0.1))
    assert [const(i) for i in (0, 3, 4, 9, 10)] == pytest.approx([0.1, 0.1, 1, 1, 0.1])
    lin = build_schedule(ScheduleConfig(name="constant", warmup_steps=4, warmup_factor=0.0, warmup="linear"))
    assert [lin(i) for i in range(6)] == pytest.approx([0, .25, .5, .75, 1, 1])
    step = build_schedule(ScheduleConfig(name="step", step_size=3, gamma=0.5))
    assert [step(i) for i in range(7)] == pytest.approx([1, 1, 1, .5, .5, .5, .25])
