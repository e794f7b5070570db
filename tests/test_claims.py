"""Every registered claim runs end to end (shrunk to seconds) and writes a complete report."""

from __future__ import annotations

import json

import pytest

import paperzoo
from paperzoo.claims import Outcome, collect_results, summarize
from paperzoo.claims.catalog import get_claim

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
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["config"]["train"]["steps"] == 4
    rows = collect_results(tmp_path)
    assert len(rows) == 1 and claim_id in summarize(rows)


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
