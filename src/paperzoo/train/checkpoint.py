"""Checkpoints that load without executing code, written atomically.

A checkpoint is a folder ``step-00001234/`` holding

* ``model.safetensors``: the weights, with a JSON description of the model (registry name and
  keyword arguments, data normalisation) in the file's metadata, so ``paperzoo eval`` can
  rebuild the model from the file alone;
* ``state.safetensors``: everything else needed to resume (optimizer state, step, RNG states,
  data-loader state) as a tree of plain values and tensors: tensors are stored as safetensors
  entries and the tree's shape as JSON in the metadata. No pickle anywhere.

Each folder is written under a temporary name and renamed into place, and the ``latest`` file
that names the newest folder is replaced atomically too, so a crash while saving leaves the
previous checkpoint intact and found.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from ..errors import DataError

MODEL_FILE = "model.safetensors"
STATE_FILE = "state.safetensors"
LATEST = "latest"
_META_KEY = "paperzoo"


# --- a tree of plain values and tensors <-> (JSON skeleton, flat tensor dict) -------------------

def flatten_tree(obj: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    tensors: dict[str, torch.Tensor] = {}

    def enc(o: Any) -> Any:
        if isinstance(o, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = o.detach().cpu().contiguous()
            return {"__tensor__": key}
        if isinstance(o, dict):
            return {"__dict__": [[enc(k), enc(v)] for k, v in o.items()]}
        if isinstance(o, tuple):
            return {"__tuple__": [enc(v) for v in o]}
        if isinstance(o, list):
            return [enc(v) for v in o]
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        raise TypeError(f"cannot store a {type(o).__name__} in a checkpoint")

    return enc(obj), tensors


def unflatten_tree(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    def dec(o: Any) -> Any:
        if isinstance(o, list):
            return [dec(v) for v in o]
        if isinstance(o, dict):
            if "__tensor__" in o:
                return tensors[o["__tensor__"]]
            if "__tuple__" in o:
                return tuple(dec(v) for v in o["__tuple__"])
            return {dec(k): dec(v) for k, v in o["__dict__"]}
        return o

    return dec(skeleton)


def save_tree(path: Path, obj: Any) -> None:
    skeleton, tensors = flatten_tree(obj)
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(skeleton)})


def load_tree(path: Path) -> Any:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        return unflatten_tree(json.loads(meta[_META_KEY]), tensors)
    except (OSError, SafetensorError, KeyError, json.JSONDecodeError, ValueError) as e:
        raise DataError(f"cannot read checkpoint state {path}: {e}; "
                        "the file is damaged or not a paperzoo checkpoint") from None


# --- model files --------------------------------------------------------------------------------

def save_model(path: Path, state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(meta)})


def load_model_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and description from a ``model.safetensors`` (or a checkpoint folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = resolve_checkpoint(path) / MODEL_FILE
    if not path.exists():
        raise DataError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get(_META_KEY, "{}"))
        return load_file(str(path)), meta
    except (OSError, SafetensorError, json.JSONDecodeError) as e:
        raise DataError(f"cannot read {path}: {e}; the file is damaged or not a safetensors checkpoint") from None


# --- checkpoint folders ---------------------------------------------------------------------------

def save_checkpoint(directory: Path, step: int, model_state: dict[str, torch.Tensor],
                    model_meta: dict[str, Any], train_state: dict[str, Any], *, keep: int = 2) -> Path:
    """Write ``directory/step-<step>/`` atomically, point ``latest`` at it, prune old ones."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=directory))
    try:
        save_model(tmp / MODEL_FILE, model_state, model_meta)
        save_tree(tmp / STATE_FILE, train_state)
        for f in tmp.iterdir():
            _fsync(f)
        final = directory / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_atomic(directory / LATEST, name)
    if keep > 0:
        for old in sorted(_complete(directory))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint folder: ``path`` itself, or the newest one under ``path`` (or ``path/checkpoints``)."""
    if (path / MODEL_FILE).exists():
        return path
    for directory in (path, path / "checkpoints"):
        latest = directory / LATEST
        if latest.exists():
            candidate = directory / latest.read_text().strip()
            if (candidate / MODEL_FILE).exists() and (candidate / STATE_FILE).exists():
                return candidate
        complete = sorted(_complete(directory)) if directory.is_dir() else []
        if complete:
            return complete[-1]
    raise DataError(f"no checkpoint under {path}; train first or pass a checkpoint folder or model.safetensors")


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """(weights, model description, training state) of the checkpoint at or under ``path``."""
    folder = resolve_checkpoint(path)
    weights, meta = load_model_file(folder / MODEL_FILE)
    return weights, meta, load_tree(folder / STATE_FILE)


def _complete(directory: Path) -> list[Path]:
    return [p for p in directory.glob("step-*")
            if (p / MODEL_FILE).exists() and (p / STATE_FILE).exists()]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
