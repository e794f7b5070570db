import json
import os

import pytest
import torch

from paperzoo.errors import DataError
from paperzoo.train import checkpoint as ckpt


def _state():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    return model, opt


def test_tree_round_trip_keeps_types(tmp_path):
    _, opt = _state()
    tree = {"step": 7, "opt": opt.state_dict(), "betas": (0.9, 0.99), "none": None, "names": ["a", "b"],
            "rng": torch.get_rng_state(), "nested": {1: {"x": torch.arange(3)}}}
    ckpt.save_tree(tmp_path / "s.safetensors", tree)
    back = ckpt.load_tree(tmp_path / "s.safetensors")
    assert back["step"] == 7 and back["betas"] == (0.9, 0.99) and back["none"] is None
    assert torch.equal(back["nested"][1]["x"], torch.arange(3))
    assert torch.equal(back["rng"], torch.get_rng_state())
    sd = back["opt"]
    assert set(sd["state"]) == {0, 1}  # integer keys survive
    assert torch.equal(sd["state"][0]["momentum_buffer"], opt.state_dict()["state"][0]["momentum_buffer"])


def test_state_file_holds_no_pickle(tmp_path):
    _, opt = _state()
    ckpt.save_tree(tmp_path / "s.safetensors", {"opt": opt.state_dict()})
    raw = (tmp_path / "s.safetensors").read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])  # a safetensors file is a JSON header and raw tensor bytes
    assert "paperzoo" in header["__metadata__"]


def test_checkpoint_folders_are_atomic_and_pruned(tmp_path):
    model, opt = _state()
    for step in (1, 2, 3):
        ckpt.save_checkpoint(tmp_path, step, model.state_dict(), {"model": "x"}, {"step": step}, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-00000002", "step-00000003"]
    assert (tmp_path / "latest").read_text() == "step-00000003"
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers
    weights, meta, state = ckpt.load_checkpoint(tmp_path)
    assert meta["model"] == "x" and state["step"] == 3
    assert torch.equal(weights["weight"], model.weight)


def test_crash_while_saving_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model, _ = _state()
    ckpt.save_checkpoint(tmp_path, 1, model.state_dict(), {}, {"step": 1})

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "save_tree", boom)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, 2, model.state_dict(), {}, {"step": 2})
    assert not list(tmp_path.glob(".*")) and not (tmp_path / "step-00000002").exists()
    assert ckpt.load_checkpoint(tmp_path)[2]["step"] == 1


def test_stale_latest_pointer_falls_back_to_newest_complete(tmp_path):
    model, _ = _state()
    ckpt.save_checkpoint(tmp_path, 1, model.state_dict(), {}, {"step": 1})
    (tmp_path / "latest").write_text("step-00000009")  # points at a folder that never completed
    assert ckpt.resolve_checkpoint(tmp_path).name == "step-00000001"


def test_damaged_files_are_clear_errors(tmp_path):
    model, _ = _state()
    folder = ckpt.save_checkpoint(tmp_path, 1, model.state_dict(), {}, {"step": 1})
    state = folder / ckpt.STATE_FILE
    state.write_bytes(state.read_bytes()[: os.path.getsize(state) // 2])
    with pytest.raises(DataError, match="state.safetensors"):
        ckpt.load_checkpoint(tmp_path)
    with pytest.raises(DataError, match="no checkpoint"):
        ckpt.resolve_checkpoint(tmp_path / "nowhere")
