"""What a claim is, how it runs, and what a run leaves behind.

A :class:`Claim` states what the paper says and where (section, figure, table), carries the
paper's numbers as :class:`Target`\\ s, a ``quick`` preset (a 2-core CPU, minutes) and a ``full``
preset (one GPU, the paper's recipe), the experiment, and the rule that turns measurements
into a :class:`Verdict`. :func:`reproduce` runs it and writes a run folder with
``report.md``, ``result.json``, ``config.json``, figures and the training runs' metrics.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import apply_overrides, to_dict
from ..errors import UserError
from ..train.env import environment, hardware, resolve_device
from ..train.runlock import run_lock
from . import stats
from .catalog import get_claim, paper_card
from .outcome import Outcome, Target, Verdict
from .rules import rule_text


@dataclass
class RunContext:
    """What an experiment receives: its preset, seeds, device, data root and run folder."""

    claim: "Claim"
    preset_name: str
    preset: Any
    seeds: tuple[int, ...]
    device: str
    data_root: str | None
    run_dir: Path
    progress: bool = True

    def portable(self) -> RunContext:
        """This context without its claim (whose rules hold lambdas), to send to worker processes."""
        return dataclasses.replace(self, claim=None)

    def subdir(self, *parts: str) -> Path:
        path = self.run_dir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    title: str
    statement: str
    source: str
    presets: Mapping[str, Any]
    experiment: Callable[[RunContext], Outcome]
    #: a :class:`~paperzoo.claims.rules.Rule` (which also renders :attr:`rule`), or a function with ``rule`` text
    verdict: Callable[[Outcome, Any], Verdict]
    rule: str = ""
    targets: tuple[Target, ...] = ()
    notes: str = ""
    #: Overrides beyond the preset type's own (:meth:`Preset.smoke`) that shrink the quick preset to
    #: seconds, for the test suite's smoke run.
    smoke: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not rule_text(self.verdict, self.rule):
            raise ValueError(f"claim {self.id!r}: a verdict function needs its rule= text")

    @property
    def rule_text(self) -> str:
        """The verdict rule in words: the rule object's own text, else ``rule``."""
        return rule_text(self.verdict, self.rule)

    def smoke_overrides(self, preset: str = "quick") -> dict[str, str]:
        """What shrinks preset ``preset`` to seconds: its type's overrides, then the claim's own."""
        p = self.preset(preset)
        return {**(p.smoke() if hasattr(p, "smoke") else {}), **self.smoke}

    def preset(self, name: str) -> Any:
        if name not in self.presets:
            raise UserError(f"claim {self.id!r} has no preset {name!r}; choose {', '.join(self.presets)}")
        return self.presets[name]


@dataclass(frozen=True)
class Comparison:
    label: str
    metric: str
    paper: float
    ours: float | None
    ours_std: float | None
    source: str
    tolerance: float | None
    unit: str

    @property
    def within(self) -> bool | None:
        if self.ours is None or self.tolerance is None:
            return None
        return abs(self.ours - self.paper) <= self.tolerance


@dataclass
class ReproduceResult:
    claim_id: str
    preset: str
    verdict: Verdict
    values: dict[str, float]
    std: dict[str, float]
    comparisons: list[Comparison]
    seeds: tuple[int, ...]
    run_dir: Path
    report: Path
    figures: list[Path]
    wall_seconds: float
    hardware: str
    command: str

    @property
    def holds(self) -> bool:
        return self.verdict.status == "holds"


def reproduce(claim_id: str, preset: str = "quick", *, seeds: int | None = None, device: str = "auto",
              out: str | Path = "runs", data_root: str | Path | None = None,
              overrides: Mapping[str, str] | None = None, progress: bool = True) -> ReproduceResult:
    """Run a claim's experiment and write its report.

    ``seeds`` (default: the preset's) runs seeds ``0..seeds-1``; ``overrides`` are
    ``{"steps": "2000"}``-style settings applied to the preset. The run folder is
    ``<out>/<claim-id>/<preset>-<UTC time>/``.
    """
    claim = get_claim(claim_id)
    cfg = claim.preset(preset)
    if overrides:
        cfg = apply_overrides(cfg, dict(overrides), what=f"setting of preset {preset!r}")
    n_seeds = seeds if seeds is not None else getattr(cfg, "seeds", 1)
    if n_seeds < 1:
        raise UserError("--seeds must be at least 1")
    dev = resolve_device(device)
    run_dir = _new_run_dir(Path(out) / claim.id, preset)
    with run_lock(run_dir):  # the run folder is this run's alone
        ctx = RunContext(claim, preset, cfg, tuple(range(n_seeds)), str(dev),
                         str(data_root) if data_root else None, run_dir, progress)
        command = _command(claim.id, preset, seeds, device, out, overrides)
        (run_dir / "config.json").write_text(json.dumps(
            {"claim": claim.id, "preset": preset, "seeds": list(ctx.seeds), "device": str(dev),
             "config": to_dict(cfg), "command": command}, indent=2) + "\n")
        t0 = time.perf_counter()
        outcome = claim.experiment(ctx)
        wall = time.perf_counter() - t0
        verdict = claim.verdict(outcome, cfg)
        comparisons = [Comparison(t.label or t.metric, t.metric, t.value, outcome.values.get(t.metric),
                                  outcome.std.get(t.metric), t.source, t.tolerance, t.unit)
                       for t in claim.targets if t.metric in outcome.values]
        result = ReproduceResult(claim.id, preset, verdict, outcome.values, outcome.std, comparisons,
                                 ctx.seeds, run_dir, run_dir / "report.md", outcome.figures, wall,
                                 hardware(dev), command)
        env = environment(dev)
        (run_dir / "env.json").write_text(json.dumps(env, indent=2) + "\n")
        (run_dir / "result.json").write_text(json.dumps(_result_json(result, outcome, env), indent=2) + "\n")
        from .report import write_report

        write_report(result, claim, outcome, cfg, env)
        return result


def _new_run_dir(parent: Path, preset: str) -> Path:
    """``parent/<preset>-<UTC time>``, made here and nowhere else (``-2``, ``-3``... within one second)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        run_dir = parent / (f"{preset}-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            continue
    raise UserError(f"cannot make a new run folder under {parent}: too many runs started this second")


def _command(claim_id: str, preset: str, seeds: int | None, device: str, out: str | Path,
             overrides: Mapping[str, str] | None) -> str:
    parts = ["paperzoo", "reproduce", claim_id, "--preset", preset]
    if seeds is not None:
        parts += ["--seeds", str(seeds)]
    if device not in (None, "auto"):
        parts += ["--device", device]
    if str(out) != "runs":
        parts += ["--out", str(out)]
    for k, v in (overrides or {}).items():
        parts += ["--set", f"{k}={v}"]
    return shlex.join(parts)


def _result_json(r: ReproduceResult, outcome: Outcome, env: dict[str, Any]) -> dict[str, Any]:
    return {
        "claim": r.claim_id, "preset": r.preset, "verdict": r.verdict.status, "reason": r.verdict.reason,
        "values": r.values, "std": r.std, "per_seed": outcome.per_seed, "seeds": list(r.seeds),
        "comparisons": [dataclasses.asdict(c) | {"within": c.within} for c in r.comparisons],
        "data": outcome.data, "hardware": r.hardware, "wall_seconds": r.wall_seconds,
        "command": r.command, "git_commit": env.get("git_commit"), "torch": env.get("torch"),
        "figures": [str(Path(f).relative_to(r.run_dir)) for f in r.figures],
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "policy": stats.POLICY,
    }


def collect_results(root: str | Path = "results") -> list[dict[str, Any]]:
    """Every ``result.json`` under ``root`` (the committed full-preset runs), newest last."""
    rows = []
    root = Path(root)
    for path in sorted(root.glob("*/*/result.json")):
        row = json.loads(path.read_text())
        row["path"] = str(path.parent.relative_to(root.parent))  # e.g. results/<claim>/<run>
        rows.append(row)
    return sorted(rows, key=lambda r: (r["claim"], r.get("finished", "")))


def latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest run of each claim and preset (earlier runs stay in ``results/``, out of the table)."""
    newest = {(r["claim"], r["preset"]): r for r in sorted(rows, key=lambda r: r.get("finished", ""))}
    return sorted(newest.values(), key=lambda r: (r["claim"], r.get("finished", "")))


def summarize(rows: list[dict[str, Any]]) -> str:
    """A markdown table of results, the newest run per claim and preset: the verdict and its reason
    (marked "v1 rules" if it was judged before the statistics policy of :mod:`.stats`), what we
    measured beside the paper's numbers where the claim has numeric targets, hardware and wall time."""
    lines = ["| claim | preset | verdict | measured (and ours vs paper) | hardware | wall time |",
             "|---|---|---|---|---|---|"]
    for row in latest(rows):
        verdict = row["verdict"] if row.get("policy") else f"{row['verdict']} (v1 rules)"
        n = len(row["seeds"])
        versus = "; ".join(
            f"{c['label']}: {_pm(c['ours'], c.get('ours_std'), n)} vs {c['paper']:g}"
            for c in row.get("comparisons") or [] if c["ours"] is not None)
        measured = row["reason"] + (f" Ours vs paper: {versus}." if versus else "")
        lines.append("| " + " | ".join([
            f"[`{row['claim']}`]({row['path']}/report.md)", row["preset"], verdict,
            measured.replace("|", "/"), row["hardware"], _duration(row["wall_seconds"])]) + " |")
    return "\n".join(lines)


def _pm(value: float, std: float | None, n: int) -> str:
    return f"{value:.2f} ± {std:.2f}" if n > 1 and std is not None else f"{value:.2f}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def describe(claim: Claim) -> str:
    """The text `paperzoo show <claim>` prints."""
    card = paper_card(claim.paper)
    lines = [f"{claim.id}: {claim.title}", f"  paper:     {card.title} ({card.authors}, {card.year})",
             f"  source:    {claim.source}", f"  statement: {claim.statement}", f"  verdict:   {claim.rule_text}"]
    for t in claim.targets:
        tol = f" ± {t.tolerance:g}" if t.tolerance is not None else ""
        lines.append(f"  target:    {t.label or t.metric} = {t.value:g}{t.unit}{tol} ({t.source})")
    for name, preset in claim.presets.items():
        lines.append(f"  preset {name}: {getattr(preset, 'description', '')}")
    if claim.notes:
        lines.append(f"  notes:     {claim.notes}")
    return "\n".join(lines)
