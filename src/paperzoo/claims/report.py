"""``report.md``: the paper's claim, the paper's numbers beside ours, the verdict and how we got it."""

from __future__ import annotations

import json
import os
from typing import Any

from ..config import to_dict
from .catalog import paper_card
from .core import Claim, Outcome, ReproduceResult, _duration


def write_report(result: ReproduceResult, claim: Claim, outcome: Outcome, cfg: Any, env: dict[str, Any]) -> None:
    card = paper_card(claim.paper)
    status = result.verdict.status.upper()
    lines = [
        f"# `{claim.id}`: {claim.title}",
        "",
        f"**Verdict: {status}.** {result.verdict.reason}",
        "",
        f"> {claim.statement}",
        f"> — {card.authors} ({card.year}), *{card.title}*, arXiv:{card.arxiv}, {claim.source}.",
        "",
        f"Verdict rule: {claim.rule_text}",
        "",
    ]
    if result.comparisons:
        lines += ["## Paper vs ours", "",
                  "| quantity | paper | ours | match (± tolerance) | paper's source |", "|---|---|---|---|---|"]
        n = len(result.seeds)
        for c in result.comparisons:
            ours = f"{c.ours:.2f}" + (f" ± {c.ours_std:.2f}" if n > 1 and c.ours_std is not None else "")
            match = "—" if c.within is None else (f"yes (± {c.tolerance:g})" if c.within else f"no (± {c.tolerance:g})")
            lines.append(f"| {c.label} | {c.paper:g}{c.unit} | {ours}{c.unit} | {match} | {c.source} |")
        lines.append("")
    for table in outcome.tables:
        lines += [table, ""]
    if result.figures:
        lines += ["## Figures", ""]
        lines += [f"![{f.stem}]({os.path.relpath(f, result.run_dir)})" for f in result.figures]
        lines.append("")
    if outcome.notes or outcome.data:
        lines += ["## Notes", ""]
        if outcome.data:
            lines.append(f"- Data: {outcome.data}.")
        lines += [f"- {n}" for n in outcome.notes]
        lines.append("")
    lines += [
        "## Run",
        "",
        f"- Command: `{result.command}`",
        f"- Preset: `{result.preset}`; seeds: {', '.join(map(str, result.seeds))}",
        f"- Hardware: {result.hardware}",
        f"- Wall time: {_duration(result.wall_seconds)} ({result.wall_seconds:.0f} s)",
        f"- Software: paperzoo {env.get('paperzoo')} (commit {env.get('git_commit')}), "
        f"torch {env.get('torch')}, Python {env.get('python')}",
        "",
        "## Config",
        "",
        "```json",
        json.dumps(to_dict(cfg), indent=2),
        "```",
        "",
    ]
    result.report.write_text("\n".join(lines))
