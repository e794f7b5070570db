"""What a run must not lose: divergence stops cleanly, one run per folder, damaged checkpoints are
found and passed over, torn logs and leftovers of killed writes are handled, distributed workers
give up on a stopped peer."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from paperzoo.errors import DataError, RunFolderBusy, TrainingDiverged
from paperzoo.optim import OptimizerConfig, ScheduleConfig
from paperzoo.train import checkpoint as ckpt
from paperzoo.train.distributed import DistInfo
from paperzoo.train.logger import read_metrics
from paperzoo.train.loop import NonFiniteWatch, TrainConfig, Trainer, check_train_state
from paperzoo.train.runlock import run_lock

REPO = Path(__file__).resolve().parents[1]
SRC = str(REPO / "src")

CFG = TrainConfig(steps=20, optimizer=OptimizerConfig(lr=0.05, momentum=0.9), schedule=ScheduleConfig(name="constant"),
                  log_every=100, checkpoint_every=2, keep_checkpoints=2, device="cpu", progress=False)


class ToyTask:
    """Regression on one fixed batch; the loss of step ``nan_at`` (1-based) is made NaN."""

    def __init__(self, nan_at: int = 0, eval_nan: bool = False) -> None:
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(16, 5, generator=g), torch.randn(16, 1, generator=g)
        self.nan_at, self.eval_nan, self.steps = nan_at, eval_nan, 0

    def train_batches(self):
        while True:
            yield self.x, self.y

    def training_step(self, model, batch):
        self.steps += 1
        loss = torch.nn.functional.mse_loss(model(batch[0]), batch[1])
        return (loss * math.nan if self.steps == self.nan_at else loss), {}

    def evaluate(self, model):
        loss = torch.nn.functional.mse_loss(model(self.x), self.y).item()
        return {"val_loss": math.nan if self.eval_nan else loss}

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def _all_finite(folder: Path) -> bool:
    tensors = {**load_file(str(folder / ckpt.MODEL_FILE)), **load_file(str(folder / ckpt.STATE_FILE))}
    return all(bool(torch.isfinite(t).all()) for t in tensors.values() if t.is_floating_point())


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "paperzoo.cli", *args], capture_output=True, text=True, env=env,
                          timeout=kwargs.get("timeout", 300))


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("paperzoo: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


# --- 3. divergence ----------------------------------------------------------------------------

def test_nan_loss_stops_at_its_step_and_keeps_the_last_finite_checkpoints(tmp_path):
    task = ToyTask(nan_at=7)   # log_every (100) > 7: the loss is checked every step all the same
    with pytest.raises(TrainingDiverged) as caught:
        Trainer(net(), task, CFG, run_dir=tmp_path).fit()
    message = str(caught.value)
    assert task.steps == 7, "the run went on training after its loss became NaN"
    assert "at step 7" in message and "step-00000006" in message and "\n" not in message
    assert isinstance(caught.value, FloatingPointError)   # experiments count divergence as an outcome
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert kept == ["step-00000004", "step-00000006"]
    assert all(_all_finite(tmp_path / "checkpoints" / k) for k in kept)
    assert ckpt.resolve_checkpoint(tmp_path).name == "step-00000006"


def test_nan_at_a_checkpoint_step_writes_no_checkpoint_of_it(tmp_path):
    with pytest.raises(TrainingDiverged, match="at step 8"):
        Trainer(net(), ToyTask(nan_at=8), CFG, run_dir=tmp_path).fit()
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*")) == ["step-00000004", "step-00000006"]


def test_nonfinite_weights_are_never_checkpointed(tmp_path):
    model = net()
    good = ckpt.save_checkpoint(tmp_path, 1, model.state_dict(), {}, {"step": 1})
    with torch.no_grad():
        model[0].weight[0, 0] = math.inf
    with pytest.raises(TrainingDiverged, match="not finite"):
        ckpt.save_checkpoint(tmp_path, 2, model.state_dict(), {}, {"step": 2})
    with pytest.raises(TrainingDiverged, match="training state"):
        ckpt.save_checkpoint(tmp_path, 3, net().state_dict(), {}, {"momentum": torch.tensor([math.nan])})
    assert [p.name for p in tmp_path.glob("step-*")] == [good.name] and not list(tmp_path.glob(".*"))


def test_an_evaluation_that_returns_nan_is_an_error(tmp_path):
    with pytest.raises(TrainingDiverged, match="evaluation at step 4 gave val_loss = nan"):
        Trainer(net(), ToyTask(eval_nan=True), replace(CFG, eval_every=4), run_dir=tmp_path).fit()
    metrics = tmp_path / "metrics.jsonl"
    assert not metrics.exists() or not any(r["split"] == "eval" for r in read_metrics(metrics))


def test_the_watch_folds_losses_on_the_device():
    watch = NonFiniteWatch(torch.device("cpu"), DistInfo())
    assert watch.observe(1, torch.tensor(0.5)) is None and watch.read() is None
    assert watch.observe(2, torch.tensor(math.inf)) == 2
    assert watch.observe(3, torch.tensor(0.1)) == 2 and watch.read() == 2   # the first bad step stays


def test_cli_divergence_is_one_line_exit_2_and_resumable(tmp_path, shared_data):
    out = tmp_path / "run"
    common = ["--data", "mnist", "--device", "cpu", "--out", str(out), "--set", "data.train_subset=256",
              "--set", "data.eval_subset=64", "--set", "batch_size=32", "--set", "checkpoint_every=2"]
    assert _cli("train", "resnet8", *common, "--set", "steps=4").returncode == 0
    proc = _cli("train", "resnet8", *common, "--resume", "--set", "steps=400", "--set", "optimizer.lr=1e12")
    line = _one_error_line(proc)
    assert "training diverged" in line and "the last good checkpoint is" in line, line
    kept = sorted((out / "checkpoints").glob("step-*"))
    assert kept and all(_all_finite(k) for k in kept)
    assert str(kept[-1]) in line


# --- 4. one run per folder --------------------------------------------------------------------

def _hold_lock(folder: Path) -> subprocess.Popen:
    code = ("import sys, time; from paperzoo.train.runlock import run_lock\n"
            "with run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": SRC})
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_run_into_a_locked_folder_stops_and_a_dead_holder_does_not_block(tmp_path, shared_data):
    out = tmp_path / "run"
    holder = _hold_lock(out)
    args = ["train", "resnet8", "--data", "mnist", "--device", "cpu", "--out", str(out), "--set", "steps=2",
            "--set", "data.train_subset=64", "--set", "data.eval_subset=32", "--set", "batch_size=32"]
    try:
        line = _one_error_line(_cli(*args))
        assert "in use by a run that is still going" in line and f"pid {holder.pid}" in line
        with pytest.raises(RunFolderBusy):
            Trainer(net(), ToyTask(), CFG, run_dir=out).fit()
    finally:
        holder.kill()   # a killed run: the kernel drops its lock
        holder.wait()
    assert not (out / "checkpoints").exists()   # the refused runs wrote nothing
    assert _cli(*args).returncode == 0


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    with run_lock(tmp_path), run_lock(tmp_path):
        Trainer(net(), ToyTask(), replace(CFG, steps=2), run_dir=tmp_path).fit()
    with run_lock(tmp_path):   # released
        pass


def test_a_folder_left_by_a_killed_run_resumes_or_restarts(tmp_path):
    Trainer(net(), ToyTask(), replace(CFG, steps=1, checkpoint_every=0), run_dir=tmp_path / "probe").fit()
    for mode in ("resume", "restart"):
        run = tmp_path / mode
        run.mkdir()
        for name in ("config.json", "env.json", "metrics.jsonl"):
            (run / name).write_text((tmp_path / "probe" / name).read_text())
        (run / "checkpoints" / ".step-00000002-x1y2").mkdir(parents=True)   # killed while writing its first
        (run / "checkpoints" / ".step-00000002-x1y2" / ckpt.MODEL_FILE).write_bytes(b"\0" * 100)
        (run / "checkpoints" / ".latest-abc").write_text("step-0000")
        (run / ".metrics.jsonl-zz").write_text("{")
        result = Trainer(net(), ToyTask(), replace(CFG, steps=4), run_dir=run).fit(resume=mode == "resume")
        assert result.steps == 4 and ckpt.resolve_checkpoint(run).name == "step-00000004"
        assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
        assert not (run / ".metrics.jsonl-zz").exists()


def test_reproduce_folders_are_distinct_within_one_second(tmp_path):
    from paperzoo.claims.core import _new_run_dir

    a, b = _new_run_dir(tmp_path, "quick"), _new_run_dir(tmp_path, "quick")
    assert a != b and a.is_dir() and b.is_dir()


# --- 5. damaged checkpoints -------------------------------------------------------------------

def _two_checkpoints(tmp_path: Path) -> Path:
    Trainer(net(), ToyTask(), replace(CFG, steps=4), run_dir=tmp_path).fit()
    return tmp_path / "checkpoints"


def _flip_tensor_bytes(path: Path, count: int = 1000) -> None:
    raw = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(raw[:8], "little")   # the tensor data follows the JSON header
    for i in range(count):
        raw[start + i % (len(raw) - start)] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", ["truncate", "bitflip"])
def test_resume_falls_back_to_the_newest_checkpoint_that_verifies(tmp_path, damage, capsys):
    checkpoints = _two_checkpoints(tmp_path)
    latest = checkpoints / "step-00000004" / (ckpt.STATE_FILE if damage == "truncate" else ckpt.MODEL_FILE)
    if damage == "truncate":
        latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])
    else:
        _flip_tensor_bytes(latest)
    trainer = Trainer(net(), ToyTask(), replace(CFG, steps=6), run_dir=tmp_path)
    trainer.fit(resume=True)
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "passed over damaged checkpoint step-00000004" in line]
    assert len(notes) == 1 and "step-00000002" in notes[0], err
    # it went on from step 2: the same weights as a run that never stopped
    straight = net()
    Trainer(straight, ToyTask(), replace(CFG, steps=6), run_dir=tmp_path / "straight").fit()
    for a, b in zip(straight.parameters(), trainer.model.parameters()):
        assert torch.equal(a, b)


def test_bit_flips_are_found_by_eval_loading_too(tmp_path):
    checkpoints = _two_checkpoints(tmp_path)
    _flip_tensor_bytes(checkpoints / "step-00000004" / ckpt.MODEL_FILE)
    with pytest.raises(DataError, match="does not match its SHA-256"):
        ckpt.load_model_file(checkpoints / "step-00000004" / ckpt.MODEL_FILE)
    weights, meta = ckpt.load_model_file(tmp_path)   # a run folder: the newest that verifies
    assert meta["step"] == 2
    for step in ("step-00000002",):
        _flip_tensor_bytes(checkpoints / step / ckpt.STATE_FILE, 10)
    with pytest.raises(DataError, match="no checkpoint under .* verifies"):
        ckpt.load_checkpoint(tmp_path)


def _rewrite_state(folder: Path, skeleton_json: str) -> None:
    """A crafted state file whose checksum is recorded too (damage that checksums cannot see)."""
    path = folder / ckpt.STATE_FILE
    from safetensors.torch import save_file

    save_file({"t0": torch.zeros(1)}, str(path), metadata={"paperzoo": skeleton_json})
    sums = json.loads((folder / ckpt.CHECKSUMS).read_text())
    sums[ckpt.STATE_FILE] = ckpt._sha256(path)
    (folder / ckpt.CHECKSUMS).write_text(json.dumps(sums))


CRAFTED = {
    "recursion": "[" * 100_000 + "]" * 100_000,
    "deep": json.dumps(json.loads("[" * 500 + "]" * 500)),
    "unhashable key": json.dumps({"__dict__": [[[1, 2], 3]]}),
    "missing tensor": json.dumps({"__dict__": [["step", {"__tensor__": "t9"}]]}),
    "wrong node": json.dumps({"__dict__": [["a", {"__tensor__": 5}]], "x": 1}),
    "not json": "{'step': 1",
    "bad pair": json.dumps({"__dict__": [["only a key"]]}),
    "wrong schema": json.dumps({"__dict__": [["step", "7"]]}),
    "optimizer junk": json.dumps({"__dict__": [[k, v] for k, v in {
        "step": 4, "optimizer": {"__dict__": [["state", {"__dict__": []}], ["param_groups", []]]},
        "rng": {"__dict__": []}, "task": {"__dict__": []}, "log_sums": {"__dict__": []}, "log_count": 0,
        "config": {"__dict__": []}}.items()]}),
}


@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_crafted_state_metadata_is_a_clear_error_and_passed_over(tmp_path, kind, capsys):
    checkpoints = _two_checkpoints(tmp_path)
    _rewrite_state(checkpoints / "step-00000004", CRAFTED[kind])
    solo = _only(tmp_path, "step-00000004")
    if kind == "optimizer junk":   # well-formed, but not this run's state: refused, not resumed from
        with pytest.raises(DataError, match="does not fit this run") as caught:
            Trainer(net(), ToyTask(), replace(CFG, steps=6), run_dir=solo).fit(resume=True)
        assert "\n" not in str(caught.value)
        return
    with pytest.raises(DataError) as caught:   # alone, it is an error of one line
        ckpt.good_checkpoint(solo, validate=check_train_state)
    assert "\n" not in str(caught.value) and "step-00000004" in str(caught.value)
    Trainer(net(), ToyTask(), replace(CFG, steps=6), run_dir=tmp_path).fit(resume=True)
    assert "passed over damaged checkpoint step-00000004" in capsys.readouterr().err


def _only(tmp_path: Path, name: str) -> Path:
    """A run folder holding only checkpoint ``name`` of ``tmp_path``."""
    import shutil

    solo = tmp_path / f"solo-{name}"
    shutil.copytree(tmp_path / "checkpoints" / name, solo / "checkpoints" / name)
    return solo


def test_a_torn_last_metrics_line_is_ignored_with_a_note(tmp_path, capsys):
    Trainer(net(), ToyTask(), replace(CFG, steps=4, log_every=1), run_dir=tmp_path).fit()
    metrics = tmp_path / "metrics.jsonl"
    with open(metrics, "a") as f:
        f.write('{"step": 5, "split": "tra')   # killed while writing
    assert [r["step"] for r in read_metrics(metrics)] == [1, 2, 3, 4, 4]   # 4 train records and the evaluation
    assert "torn last line" in capsys.readouterr().err
    result = Trainer(net(), ToyTask(), replace(CFG, steps=6, log_every=1), run_dir=tmp_path).fit(resume=True)
    steps = [(r["step"], r["split"]) for r in read_metrics(metrics)]
    assert steps == [(1, "train"), (2, "train"), (3, "train"), (4, "train"), (4, "eval"), (5, "train"),
                     (6, "train"), (6, "eval")] == [(r["step"], r["split"]) for r in result.records]
    metrics.write_text(metrics.read_text().replace('"step": 2,', '"step": 2 oops', 1))
    with pytest.raises(DataError, match="line 2"):
        read_metrics(metrics)


def test_truncate_after_rewrites_the_log_atomically(tmp_path, monkeypatch):
    Trainer(net(), ToyTask(), replace(CFG, steps=4, log_every=1), run_dir=tmp_path).fit()
    before = (tmp_path / "metrics.jsonl").read_text()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    from paperzoo.train.logger import MetricLogger

    with pytest.raises(KeyboardInterrupt):
        MetricLogger(tmp_path).truncate_after(2)
    assert (tmp_path / "metrics.jsonl").read_text() == before   # the old log, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".metrics")]


def test_resuming_a_finished_run_appends_nothing(tmp_path, capsys):
    cfg = replace(CFG, steps=4, log_every=1, eval_every=2)
    first = Trainer(net(), ToyTask(), cfg, run_dir=tmp_path).fit()
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"}
    again = Trainer(net(), ToyTask(), cfg, run_dir=tmp_path).fit(resume=True)
    assert "is finished (step 4 of 4); nothing to do" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"} == files
    assert again.final == first.final and again.steps == 4


# --- 7. distributed -------------------------------------------------------------------------

WORKER = """
import os, signal, sys, torch
sys.path.insert(0, {tests!r})
from test_run_safety import CFG, ToyTask, net
from dataclasses import replace
from paperzoo.errors import UserError
from paperzoo.train.loop import Trainer

class StopsAt(ToyTask):
    def training_step(self, model, batch):
        if self.steps == 3 and int(os.environ["RANK"]) == 1:
            os.kill(os.getpid(), signal.SIGSTOP)   # a worker that stops answering
        return super().training_step(model, batch)

torch.set_num_threads(1)
try:
    Trainer(net(), StopsAt(), replace(CFG, steps=1000, checkpoint_every=0, dist_timeout=4.0)).fit()
except UserError as e:
    print(f"paperzoo: error: {{e}}", file=sys.stderr)
    sys.exit(2)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_stopped_worker_ends_its_peer_within_the_timeout(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(REPO / "tests")))
    port = _free_port()
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": str(port), "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2"}
        procs.append(subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True))
    try:
        t0 = time.monotonic()
        _, err = procs[0].communicate(timeout=120)
        waited = time.monotonic() - t0
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
    assert procs[0].returncode == 2, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("paperzoo: error:")]
    assert len(errors) == 1 and "lost contact with the other workers" in errors[0] and "4 s" in errors[0], err
    assert waited < 60, f"the peer waited {waited:.0f} s"   # start-up (~5-10 s) + the 4 s timeout, not 10 min
