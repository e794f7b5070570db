"""Every registered claim runs end to end (shrunk to seconds) and writes a complete report."""

from __future__ import annotations

import json

import pytest

import paperzoo
from paperzoo.claims import Outcome, collect_results, summarize
from paperzoo.claims.catalog import get_claim
from paperzoo.claims.classification import compare, noise_margin

CLAIMS = paperzoo.list_claims()


def test_resnet_claims_are_listed():
    assert {"resnet.degradation", "resnet.residual-depth", "resnet.table6", "resnet.responses",
            "resnet.shortcuts"} <= set(CLAIMS)


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_claim_declares_presets_targets_and_rule(claim_id):
    claim = get_claim(claim_id)
    assert {"quick", "full"} <= set(claim.presets)
    assert claim.statement and claim.source and claim.rule
    for t in claim.targets:
        assert t.source


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_smoke_run_writes_report_result_config_and_figures(claim_id, tmp_path, shared_data):
    claim = get_claim(claim_id)
    result = paperzoo.reproduce(claim_id, preset="quick", out=tmp_path, device="cpu", overrides=claim.smoke,
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


def test_outcome_statistics_and_noise_margin():
    out = Outcome()
    out.add("err", [10.0, 12.0, 14.0])
    assert out.values["err"] == 12.0 and out.std["err"] == 2.0 and out.fmt("err") == "12.00 ± 2.00"
    # Two error rates of 10% on 10,000 images each: SE of the difference is sqrt(2 * .09 / 1e4) = 0.42%.
    assert noise_margin(10, 10, 10000) == pytest.approx(2 * 100 * (2 * 0.09 / 10000) ** 0.5)
    assert compare(8.0, 9.0, 0.5) == "yes" and compare(9.0, 8.0, 0.5) == "no" and compare(8.8, 9.0, 0.5) == "tie"


def test_verdict_rules_on_constructed_outcomes():
    """The rules decide as stated, on numbers whose answer is known."""
    from paperzoo.papers.resnet import experiments as ex

    preset = ex.CifarPreset("t", ("plain20", "plain56"))
    out = Outcome()
    for k, v in {"train_error/plain20": 5.0, "train_error/plain56": 9.0, "test_error/plain20": 9.0,
                 "test_error/plain56": 12.0}.items():
        out.add(k, [v])
    assert ex.degradation_verdict(out, preset).status == "holds"
    out.add("test_error/plain56", [9.1])
    assert ex.degradation_verdict(out, preset).status == "inconclusive"
    out.add("train_error/plain56", [2.0])
    assert ex.degradation_verdict(out, preset).status == "does not hold"

    preset = ex.CifarPreset("t", ("resnet20", "resnet32", "resnet56"))
    out = Outcome()
    for m, v in {"resnet20": 8.8, "resnet32": 7.5, "resnet56": 7.0}.items():
        out.add(f"test_error/{m}", [v])
    assert ex.residual_depth_verdict(out, preset).status == "holds"
    assert ex.table6_verdict(out, preset).status == "holds"
    short = ex.CifarPreset("t", preset.models, train=ex.QUICK_RECIPE)
    assert ex.table6_verdict(out, short).status == "inconclusive"
    out.add("test_error/resnet56", [8.6])   # 32 -> 56 reversed by 1.1 points: beyond noise on 10k images
    assert ex.residual_depth_verdict(out, preset).status == "does not hold"

    preset = ex.CifarPreset("t", ("resnet32",), shortcuts=("A", "B", "C"))
    out = Outcome()
    for o, v in {"A": 7.6, "B": 7.4, "C": 7.3}.items():
        out.add(f"test_error/{o}", [v])
    assert ex.shortcuts_verdict(out, preset).status == "holds"
    out.add("test_error/C", [9.5])
    assert ex.shortcuts_verdict(out, preset).status == "does not hold"
    noisy = ex.CifarPreset("t", ("resnet20",), data=ex.QUICK_DATA, shortcuts=("A", "B", "C"))
    for o, v in {"A": 52.9, "B": 50.9, "C": 54.6}.items():   # 1,000 test images: noise of about 4.4 points
        out.add(f"test_error/{o}", [v])
    assert ex.shortcuts_verdict(out, noisy).status == "inconclusive"

    preset = ex.CifarPreset("t", ("plain20", "resnet20", "resnet56"))
    out = Outcome()
    for m, v in {"plain20": 1.0, "resnet20": 0.6, "resnet56": 0.4}.items():
        out.add(f"response_std/{m}", [v])
    assert ex.responses_verdict(out, preset).status == "holds"
    out.add("response_std/resnet56", [0.7])
    assert ex.responses_verdict(out, preset).status == "does not hold"
