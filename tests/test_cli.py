"""The command line: listings, cards, a train/eval/resume round trip, and one-line user errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paperzoo.cli import main

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real entry point in a fresh interpreter, as a user would call it."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "paperzoo", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


def test_list_and_show(capsys):
    assert main(["list", "claims"]) == 0
    assert "resnet.degradation" in capsys.readouterr().out
    assert main(["list", "models", "plain*"]) == 0
    out = capsys.readouterr().out
    assert "plain56" in out and "resnet" not in out.replace("plain", "")
    assert main(["list", "papers"]) == 0
    assert "Deep Residual Learning" in capsys.readouterr().out
    assert main(["show", "resnet"]) == 0
    card = capsys.readouterr().out
    assert "arXiv:1512.03385" in card and "resnet.table6" in card and "Problem:" in card
    assert main(["show", "resnet20"]) == 0
    assert "parameters: 269,722" in capsys.readouterr().out
    assert main(["show", "resnet.table6"]) == 0
    assert "Table 6" in capsys.readouterr().out
    assert main(["show", "transformer_tiny"]) == 0   # a model fed token ids, not images
    assert "parameters: 229,888" in capsys.readouterr().out
    assert main(["show", "alexnet"]) == 0   # a paper without an arXiv identifier
    assert "arXiv:" not in capsys.readouterr().out
    assert main(["show", "vae"]) == 0     # a paper with a three-pass card in its README
    card = capsys.readouterr().out
    assert all(f"## Pass {i}" in card for i in (1, 2, 3)) and "## Deviations" not in card
    assert card.index("## Pass 3") < card.index("Claims:") and "vae.reparameterisation" in card


EVERY_NEW_PAPER_HAS_A_CARD = ("vae", "divergence")


@pytest.mark.parametrize("paper", EVERY_NEW_PAPER_HAS_A_CARD)
def test_new_papers_have_a_three_pass_card(paper):
    from paperzoo.claims.catalog import reading_passes

    passes = reading_passes(paper)
    assert all(f"## Pass {i}" in passes for i in (1, 2, 3)), paper


@pytest.mark.parametrize("args, message", [
    (["show", "resnet57"], "unknown model 'resnet57'. Did you mean 'resnet56'"),
    (["reproduce", "resnet.degredation"], "unknown claim 'resnet.degredation'. Did you mean 'resnet.degradation'"),
    (["reproduce", "resnet.degradation", "--preset", "medium"], "no preset 'medium'"),
    (["reproduce", "resnet.degradation", "--threads", "0"], "--threads must be at least 1"),
    (["reproduce", "resnet.degradation", "--set", "train.lr=0.1"], "unknown setting"),
    (["train", "resnet20", "--data", "cifar10", "--set", "steps=abc"], "bad value 'abc'"),
    (["train", "resnet20", "--data", "imagenet22k"], "unknown dataset"),
    (["train", "resnet20", "--data", "cifar10", "--set", "model.depth=3"], "takes no argument 'depth'"),
    (["eval", "/nonexistent/run", "--data", "cifar10"], "no checkpoint"),
    (["train", "resnet20", "--data", "mnist", "--data-root", "/nonexistent"], "paperzoo download"),
    (["reproduce", "resnet.degradation", "--device", "cuda"], "no CUDA"),
])
def test_user_errors_are_one_line_without_traceback(args, message, tmp_path):
    proc = run(*args, "--out", str(tmp_path / "o")) if args[0] in ("train", "reproduce") else run(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("paperzoo: error:"), proc.stderr
    assert message in lines[0]


def test_unreadable_checkpoint_is_a_user_error(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    proc = run("eval", str(bad), "--data", "cifar10")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and str(bad) in proc.stderr


def test_train_resume_and_eval_round_trip(tmp_path, shared_data):
    out = tmp_path / "run"
    common = ["--set", "data.train_subset=256", "--set", "data.eval_subset=64", "--set", "batch_size=32",
              "--set", "log_every=1", "--set", "eval_every=2", "--set", "checkpoint_every=2",
              "--device", "cpu", "--out", str(out)]
    first = run("train", "resnet8", "--data", "cifar10", "--set", "steps=2", *common)
    assert first.returncode == 0, first.stderr
    again = run("train", "resnet8", "--data", "cifar10", "--set", "steps=4", *common)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = run("train", "resnet8", "--data", "cifar10", "--set", "steps=4", "--resume", *common)
    assert resumed.returncode == 0, resumed.stderr
    assert "done: 4 steps" in resumed.stdout
    evaluated = run("eval", str(out), "--data", "cifar10", "--device", "cpu")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "resnet8 (step 4) on cifar10 test (10000 images" in evaluated.stdout and "accuracy" in evaluated.stdout


def test_schedule_plots_and_prints_values(tmp_path, capsys):
    png = tmp_path / "noam.png"
    assert main(["schedule", "noam", "--steps", "12000", "--set", "warmup_steps=4000", "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "step     3,999  lr 0.000698771" in out and "peak lr 0.000698771 at step 3,999" in out
    assert main(["schedule", "plateau", "--steps", "200", "--eval-every", "10", "--set", "patience=1", "--lr", "0.1",
                 "--out", str(tmp_path / "p.png")]) == 0
    # a tenth after the 3rd and 5th evaluations (steps 30 and 50) when the metric never improves
    assert "step        50  lr 0.001\n" in capsys.readouterr().out
    assert main(["schedule", "cosine", "--steps", "10", "--set", "warmup_steps=20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("paperzoo: error: the cosine schedule needs more steps")
