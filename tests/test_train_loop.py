"""The one training loop: exact resume after an interruption, data-parallel equals one worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from paperzoo.optim import OptimizerConfig, ScheduleConfig
from paperzoo.registry import model_entry
from paperzoo.train.checkpoint import load_checkpoint
from paperzoo.train.classification import DataConfig, train_classifier
from paperzoo.train.logger import read_metrics
from paperzoo.train.loop import TrainConfig, Trainer

REPO = Path(__file__).resolve().parents[1]

TINY_DATA = DataConfig(dataset="cifar10", batch_size=32, augment=True, val_size=500, train_subset=512,
                       eval_subset=200, eval_batch_size=100)
TINY_TRAIN = TrainConfig(steps=12, optimizer=OptimizerConfig(lr=0.05), eval_every=4, log_every=2,
                         checkpoint_every=4, schedule=ScheduleConfig(name="multistep", milestones=(7,)),
                         deterministic=True, device="cpu", progress=False, best_metric="val_error")


class Interrupt(Exception):
    pass


def _timing_free(records):
    return [{k: v for k, v in r.items() if k != "samples_per_s"} for r in records]


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, shared_data, monkeypatch):
    straight, model_a, _ = train_classifier(model_entry("resnet8"), TINY_DATA, TINY_TRAIN, run_dir=tmp_path / "a")

    # Second run: crash while computing step 11 (after the checkpoint at step 8), then resume.
    import paperzoo.train.classification as cls

    original = cls.ImageClassificationTask.training_step
    calls = {"n": 0}

    def crashing(self, model, batch):
        calls["n"] += 1
        if calls["n"] == 11:
            raise Interrupt()
        return original(self, model, batch)

    monkeypatch.setattr(cls.ImageClassificationTask, "training_step", crashing)
    with pytest.raises(Interrupt):
        train_classifier(model_entry("resnet8"), TINY_DATA, TINY_TRAIN, run_dir=tmp_path / "b")
    monkeypatch.setattr(cls.ImageClassificationTask, "training_step", original)
    assert load_checkpoint(tmp_path / "b")[2]["step"] == 8
    resumed, model_b, _ = train_classifier(model_entry("resnet8"), TINY_DATA, TINY_TRAIN, run_dir=tmp_path / "b",
                                           resume=True)

    assert _timing_free(read_metrics(tmp_path / "a" / "metrics.jsonl")) == \
        _timing_free(read_metrics(tmp_path / "b" / "metrics.jsonl"))
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), name
    assert resumed.final == straight.final


def test_run_folder_records_config_env_metrics_and_best(tmp_path, shared_data):
    result, _, task = train_classifier(model_entry("resnet8"), TINY_DATA, replace(TINY_TRAIN, steps=4),
                                       run_dir=tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    env = json.loads((tmp_path / "env.json").read_text())
    assert config["model"] == "resnet8" and config["train"]["steps"] == 4
    assert config["data"]["source"].startswith("CIFAR-10 (JPEG q75 copy)")
    assert env["torch"] == torch.__version__ and "git_commit" in env and env["hardware"]
    splits = [r["split"] for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert splits.count("train") == 2 and splits.count("eval") == 1
    assert (tmp_path / "best" / "model.safetensors").exists()
    assert set(result.final) == {"val_loss", "val_error", "test_loss", "test_error"}
    assert task.sizes == {"train": 512, "val": 200, "test": 200}


class FixedBatchTask:
    """A regression task with one fixed global batch: enough to compare optimizer steps."""

    def __init__(self, batch: int = 8) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(batch, 3, 8, 8, generator=g)
        self.y = torch.randn(batch, 4, generator=g)

    def train_batches(self):
        while True:
            yield self.x, self.y

    def training_step(self, model, batch):
        x, y = batch
        self.seen = x.shape[0]
        return torch.nn.functional.mse_loss(model(x), y), {}

    def evaluate(self, model):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(6 * 6 * 6, 4))


DDP_TRAIN = TrainConfig(steps=3, optimizer=OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4),
                        schedule=ScheduleConfig(name="constant"), log_every=1, device="cpu",
                        progress=False, deterministic=True)


def test_data_parallel_equals_one_worker_on_the_whole_batch(tmp_path):
    """Two gloo workers under torchrun, each on half the batch, take the same steps as one
    worker on the whole batch (synchronous data parallelism, VGG Section 3.3)."""
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + str(REPO / "tests"),
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                           "--rdzv-endpoint=localhost:0", "--rdzv-backend=c10d",
                           str(REPO / "tests" / "ddp_worker.py"), str(out)],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = torch.load(out, weights_only=True)
    assert ddp.pop("__seen__").item() == 4  # each worker computed on its half of the batch of 8

    single = small_net()
    Trainer(single, FixedBatchTask(), DDP_TRAIN).fit()
    for name, p in single.state_dict().items():
        # float32: 3 momentum steps move each parameter by lr·(1 + 1.9 + 2.71) ≈ 0.56 times gradients ≈ 0.2 that are
        # sums over 8 × 36 terms taken in two orders (halves + all-reduce, the whole batch): 4·eps·√288·0.2·0.56 ≈ 1e-6
        torch.testing.assert_close(ddp[name], p, rtol=0, atol=1e-6, msg=name)
    moved = small_net().state_dict()
    assert any(not torch.equal(moved[k], ddp[k]) for k in moved)  # the test is not vacuous


def test_resume_restores_the_global_rng_that_dropout_draws_from(tmp_path):
    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(192, 4))

    cfg = replace(DDP_TRAIN, steps=6, checkpoint_every=3)
    straight = net()
    Trainer(straight, FixedBatchTask(), cfg, run_dir=tmp_path / "a").fit()
    Trainer(net(), FixedBatchTask(), replace(cfg, steps=3), run_dir=tmp_path / "b").fit()
    torch.manual_seed(123)  # whatever happens in between must not matter
    resumed = net()
    Trainer(resumed, FixedBatchTask(), cfg, run_dir=tmp_path / "b").fit(resume=True)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
