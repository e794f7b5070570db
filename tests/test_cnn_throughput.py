"""The CNN throughput benchmark runs end to end on a CPU with --quick (real numbers need CUDA)."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield importlib.import_module("cnn_throughput")
    sys.modules.pop("cnn_throughput", None)
    sys.modules.pop("resnet_throughput", None)


def test_quick_run_on_cpu_writes_a_report_per_model(bench, tmp_path, shared_data):
    written = bench.main(["--quick", "--device", "cpu", "--models", "densenet_tiny", "--out", str(tmp_path)])
    assert [p.name for p in written] == ["densenet_tiny-cpu.json", "densenet_tiny-cpu.md"]
    report = json.loads(written[0].read_text())
    assert report["model"] == "densenet_tiny" and report["batch_size"] == 16 and report["steps_timed"] == 4
    base, eager = report["rows"]
    assert base["variant"].startswith("baseline") and "eager" in eager["variant"]
    for row in report["rows"]:
        assert math.isfinite(row["images_per_s"]) and row["images_per_s"] > 0
        assert row["epoch_s"] == pytest.approx(50000 / row["images_per_s"])
    assert base["speedup"] == 1.0 and eager["speedup"] == pytest.approx(eager["images_per_s"] / base["images_per_s"])
    assert "| variant | images/s | speedup | one epoch |" in written[1].read_text()


def test_resnet_benchmark_keeps_its_command_line(bench, tmp_path, shared_data):
    resnet = importlib.import_module("resnet_throughput")
    written = resnet.main(["--device", "cpu", "--model", "resnet20", "--steps", "2", "--warmup", "1",
                           "--batch-size", "8", "--workers", "0", "--variants", "eager", "--out", str(tmp_path)])
    report = json.loads(written[0].read_text())
    assert report["model"] == "resnet20" and written[0].name == "resnet20-cpu.json"
    assert all(r["projected_paper_schedule_min"] == pytest.approx(64000 * 8 / r["images_per_s"] / 60)
               for r in report["rows"])
    assert "64k iterations" in written[1].read_text()


def test_unknown_variant_is_rejected(bench):
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--variants", "eager,fast"])
