"""Every registered claim runs end to end (shrunk to seconds) and writes a complete report."""

from __future__ import annotations

import json

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome, collect_results, stats, summarize
from paperzoo.claims.catalog import get_claim
from paperzoo.config import apply_overrides, to_dict

CLAIMS = paperzoo.list_claims()


def test_resnet_claims_are_listed():
    assert {"resnet.degradation", "resnet.residual-depth", "resnet.table6", "resnet.responses",
            "resnet.shortcuts"} <= set(CLAIMS)


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_claim_declares_presets_targets_and_rule(claim_id):
    claim = get_claim(claim_id)
    assert {"quick", "full"} <= set(claim.presets)
    assert claim.statement and claim.source and claim.rule_text
    for t in claim.targets:
        assert t.source


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_smoke_run_writes_report_result_config_and_figures(claim_id, tmp_path, shared_data):
    claim = get_claim(claim_id)
    result = paperzoo.reproduce(claim_id, preset="quick", out=tmp_path, device="cpu", overrides=claim.smoke_overrides(),
                                progress=False)
    assert result.verdict.status in ("holds", "does not hold", "inconclusive")
    assert result.run_dir.parent == tmp_path / claim_id
    report = result.report.read_text()
    for needle in (claim.statement[:40], "Verdict:", "## Run", result.command, "Hardware", "Wall time", "seeds: 0"):
        assert needle in report
    assert result.figures and all(f.exists() and f.stat().st_size > 1000 for f in result.figures)
    saved = json.loads((result.run_dir / "result.json").read_text())
    assert saved["verdict"] == result.verdict.status and saved["claim"] == claim_id
    # the run used the shrunk preset: every smoke override is in the saved config
    overrides = claim.smoke_overrides()
    assert overrides, f"{claim_id}: its preset type declares no smoke overrides"
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["config"] == json.loads(json.dumps(to_dict(apply_overrides(claim.preset("quick"), overrides))))
    rows = collect_results(tmp_path)
    assert len(rows) == 1 and claim_id in summarize(rows) and saved["policy"] == stats.POLICY


def test_results_table_shows_the_newest_run_per_preset_and_marks_the_old_rules():
    def row(preset: str, finished: str, verdict: str, **kw) -> dict:
        return {"claim": "x.y", "preset": preset, "verdict": verdict, "reason": finished, "seeds": [0],
                "hardware": "CPU", "wall_seconds": 1.0, "finished": finished, "path": f"results/x.y/{finished}", **kw}

    table = summarize([row("quick", "2026-11-01", "holds"), row("quick", "2026-12-01", "inconclusive", policy=2),
                       row("full", "2026-11-02", "holds")])
    lines = table.splitlines()[2:]
    assert len(lines) == 2 and "2026-11-01" not in table              # the older quick run is left out
    assert "| quick | inconclusive |" in table and "| full | holds (v1 rules) |" in table


def test_unknown_preset_and_bad_override_are_user_errors(tmp_path):
    from paperzoo.errors import UserError

    with pytest.raises(UserError, match="no preset 'huge'"):
        paperzoo.reproduce("resnet.degradation", preset="huge", out=tmp_path)
    with pytest.raises(UserError, match="unknown setting"):
        paperzoo.reproduce("resnet.degradation", out=tmp_path, overrides={"train.stpes": "3"})


def test_outcome_statistics():
    out = Outcome()
    out.add("err", [10.0, 12.0, 14.0])
    assert out.values["err"] == 12.0 and out.std["err"] == 2.0 and out.fmt("err") == "12.00 ± 2.00"


def test_tile_puts_each_image_in_its_cell_row_by_row(tmp_path):
    from paperzoo.claims.figures import image_grid, tile

    images = torch.rand(7, 12)                      # flattened 3 × 4 images
    canvas = tile(images, columns=3, size=(3, 4), gap=1, background=0.5)
    assert canvas.shape == (3 * 4 + 1, 3 * 5 + 1)
    for i, img in enumerate(images):
        r, c = divmod(i, 3)
        assert torch.equal(canvas[1 + 4 * r:4 + 4 * r, 1 + 5 * c:5 + 5 * c], img.view(3, 4))
    assert (canvas[:, 0] == 0.5).all() and (canvas[-4:, 6:] == 0.5).all()   # gaps and the two empty cells
    assert image_grid(tmp_path / "g.png", images, columns=3, size=(3, 4), frame_last=True).stat().st_size > 0
