"""Checkpoints that load without executing code, written atomically and verified on load.

A checkpoint is a folder ``step-00001234/`` holding

* ``model.safetensors``: the weights, with a JSON description of the model (registry name and
  keyword arguments, data normalisation) in the file's metadata, so ``paperzoo eval`` can
  rebuild the model from the file alone;
* ``state.safetensors``: everything else needed to resume (optimizer state, step, RNG states,
  data-loader state) as a tree of plain values and tensors: tensors are stored as safetensors
  entries and the tree's shape as JSON in the metadata. No pickle anywhere;
* ``checksums.json``: the SHA-256 of the two files, checked on every load, so flipped bytes
  inside the tensor data are found rather than resumed from.

Each folder is written under a temporary name and renamed into place, and the ``latest`` file
that names the newest folder is replaced atomically too, so a crash while saving leaves the
previous checkpoint intact and found. Loading takes the newest checkpoint that verifies and says
so in one line when it had to pass over a damaged one. No tensor that is not finite is ever
written: a run that diverged keeps its last good checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from ..errors import DataError, TrainingDiverged, note

MODEL_FILE = "model.safetensors"
STATE_FILE = "state.safetensors"
CHECKSUMS = "checksums.json"
LATEST = "latest"
_META_KEY = "paperzoo"
_MAX_DEPTH = 64          # nesting of a stored tree (an optimizer state is 4 deep)
_STEP_DIR = re.compile(r"step-(\d{8,})")


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


def unflatten_tree(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The tree :func:`flatten_tree` encoded. A skeleton of any other shape (a damaged or crafted
    file) raises ``ValueError`` naming what is wrong, never ``TypeError``/``KeyError``/recursion."""

    def dec(o: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError(f"nested more than {_MAX_DEPTH} levels deep")
        if isinstance(o, list):
            return [dec(v, depth + 1) for v in o]
        if isinstance(o, dict):
            if len(o) != 1:
                raise ValueError(f"a node with keys {sorted(o)[:4]}")
            kind, body = next(iter(o.items()))
            if kind == "__tensor__" and isinstance(body, str):
                if body not in tensors:
                    raise ValueError(f"a reference to a missing tensor {body!r}")
                return tensors[body]
            if kind == "__tuple__" and isinstance(body, list):
                return tuple(dec(v, depth + 1) for v in body)
            if kind == "__dict__" and isinstance(body, list):
                out = {}
                for item in body:
                    if not (isinstance(item, list) and len(item) == 2):
                        raise ValueError("a dict entry that is not a [key, value] pair")
                    key = dec(item[0], depth + 1)
                    if not _hashable(key):
                        raise ValueError(f"a dict key of type {type(key).__name__}")
                    out[key] = dec(item[1], depth + 1)
                return out
            raise ValueError(f"a node of kind {kind!r}")
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        raise ValueError(f"a value of type {type(o).__name__}")

    return dec(skeleton, 0)


def _hashable(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_hashable(k) for k in key)
    return key is None or isinstance(key, (bool, int, float, str))


def save_tree(path: Path, obj: Any) -> None:
    skeleton, tensors = flatten_tree(obj)
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(skeleton)})


def load_tree(path: Path) -> Any:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        if _META_KEY not in meta:
            raise ValueError("no paperzoo metadata")
        return unflatten_tree(json.loads(meta[_META_KEY]), tensors)
    except (OSError, SafetensorError, ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(e, RecursionError) else str(e).splitlines()[0]
        raise DataError(f"cannot read checkpoint state {path}: {reason}; "
                        "the file is damaged or not a paperzoo checkpoint") from None


# --- model files --------------------------------------------------------------------------------

def nonfinite(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity."""
    return [k for k, t in tensors.items()
            if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all())]


def _refuse_nonfinite(tensors: Mapping[str, torch.Tensor], what: str) -> None:
    bad = nonfinite(tensors)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise TrainingDiverged(f"not writing {what}: {len(bad)} of {len(tensors)} tensors are not finite ({shown})")


def save_model(path: Path, state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write weights and their description; refuses weights that are not finite."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    _refuse_nonfinite(tensors, str(path))
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(meta)})


def load_model_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and description from a ``model.safetensors``, a checkpoint folder, or a run or
    ``checkpoints`` folder (its newest checkpoint that verifies)."""
    path = Path(path)
    if path.is_dir():
        for folder, error in _candidates(path):
            if error is None:
                return _read_model(folder / MODEL_FILE)
        raise _none_verify(path)
    if not path.exists():
        raise DataError(f"no checkpoint at {path}")
    if path.name == MODEL_FILE:
        _verify(path.parent, MODEL_FILE)
    return _read_model(path)


def _read_model(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get(_META_KEY, "{}"))
        if not isinstance(meta, dict):
            raise ValueError("its description is not a JSON object")
        return load_file(str(path)), meta
    except (OSError, SafetensorError, ValueError, RecursionError) as e:
        raise DataError(f"cannot read {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}; "
                        "the file is damaged or not a safetensors checkpoint") from None


def rebuild_model(path: str | os.PathLike, build: Callable[..., Any]) -> tuple[Any, dict[str, Any]]:
    """The model saved at ``path`` (see :func:`load_model_file`) and its description, rebuilt with
    ``build(name, **kwargs)`` (e.g. :func:`paperzoo.registry.create_model`) from the name and keyword
    arguments its metadata records. A file that does not say which model it holds, or weights that
    do not fit the model, are one-line errors."""
    weights, meta = load_model_file(path)
    if "model" not in meta:
        raise DataError(f"{path} does not say which model it holds; it was not written by paperzoo")
    model = build(meta["model"], **meta.get("model_kwargs", {}))
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise DataError(f"the weights in {path} do not fit {meta['model']}: {str(e).splitlines()[0]}") from None
    return model, meta


def average_checkpoints(paths: Sequence[str | os.PathLike]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the weights of N checkpoints (``model.safetensors`` files or
    checkpoint folders): checkpoint averaging, as the Transformer paper's Section 6.1 ("a single
    model obtained by averaging the last 5 checkpoints"). Floating tensors are averaged in float64
    and cast back; others (integer buffers) must be equal and are kept. Load the result with
    ``model.load_state_dict``."""
    if not paths:
        raise DataError("averaging checkpoints needs at least one checkpoint")
    states = [load_model_file(p)[0] for p in paths]
    keys = set(states[0])
    for path, state in zip(paths, states):
        if set(state) != keys:
            raise DataError(f"{path}: its weights do not match those of {paths[0]} (different models)")
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = (sum(s[key].double() for s in states) / len(states)).to(first.dtype)
        elif all(torch.equal(s[key], first) for s in states):
            out[key] = first
        else:
            raise DataError(f"{key}: a non-floating tensor differs between checkpoints; it cannot be averaged")
    return out


# --- checkpoint folders ---------------------------------------------------------------------------

def save_checkpoint(directory: Path, step: int, model_state: dict[str, torch.Tensor],
                    model_meta: dict[str, Any], train_state: dict[str, Any], *, keep: int = 2) -> Path:
    """Write ``directory/step-<step>/`` atomically, point ``latest`` at it, prune old ones.

    Raises :class:`TrainingDiverged` and writes nothing when a weight or a tensor of the training
    state (optimizer moments, BN statistics) is not finite, so pruning, which keeps the newest
    ``keep`` folders, never removes the last good checkpoint for a bad one.
    """
    _refuse_nonfinite({k: v.detach() for k, v in model_state.items()}, f"checkpoint of step {step}")
    _refuse_nonfinite(flatten_tree(train_state)[1], f"checkpoint of step {step} (its training state)")
    directory.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=directory))
    try:
        save_model(tmp / MODEL_FILE, model_state, model_meta)
        save_tree(tmp / STATE_FILE, train_state)
        sums = {f: _sha256(tmp / f) for f in (MODEL_FILE, STATE_FILE)}
        (tmp / CHECKSUMS).write_text(json.dumps(sums, indent=1) + "\n")
        for f in tmp.iterdir():
            _fsync(f)
        final = directory / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_text_atomic(directory / LATEST, name)
    if keep > 0:
        for old in _complete(directory)[keep:]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def clean_leftovers(run_dir: Path) -> list[Path]:
    """Remove what killed writes leave in a run folder: temporary ``.step-*`` folders and
    ``.latest-*`` files under ``checkpoints/``, a half-written best model, a half-rewritten
    ``metrics.jsonl``. Call it only while holding the run folder's lock (a live writer's
    temporaries look the same)."""
    patterns = {run_dir / "checkpoints": (".step-", f".{LATEST}-"), run_dir / "best": (f".{MODEL_FILE}",),
                run_dir: (".metrics.jsonl-",)}
    removed = []
    for directory, prefixes in patterns.items():
        if directory.is_dir():
            removed += [p for p in directory.iterdir() if p.name.startswith(prefixes)]
    for p in removed:
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    return removed


def has_checkpoint(path: Path) -> bool:
    """Whether ``path`` (a run, ``checkpoints`` or checkpoint folder) holds a complete checkpoint."""
    return next(_folders(path), None) is not None


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint folder: ``path`` itself, or the newest complete one under ``path`` (or
    ``path/checkpoints``); the folder ``latest`` names comes first when it is complete."""
    for folder in _folders(path):
        return folder
    raise DataError(f"no checkpoint under {path}; train first or pass a checkpoint folder or model.safetensors")


def load_checkpoint(path: Path, *, validate: Callable[[Any], None] | None = None,
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """(weights, model description, training state) of :func:`good_checkpoint`."""
    return good_checkpoint(path, validate=validate)[1:]


def good_checkpoint(path: Path, *, validate: Callable[[Any], None] | None = None,
                    ) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """(folder, weights, model description, training state) of the newest checkpoint at or under
    ``path`` that verifies: checksums match, both files read, and ``validate(state)`` (which
    raises ``ValueError`` for a state of the wrong shape) passes. Passing over a damaged
    checkpoint is said in one line."""
    skipped: list[tuple[Path, str]] = []
    for folder, error in _candidates(path):
        try:
            if error is not None:
                raise DataError(error)
            weights, meta = _read_model(folder / MODEL_FILE)
            state = load_tree(folder / STATE_FILE)
            if validate is not None:
                try:
                    validate(state)
                except ValueError as e:
                    raise DataError(f"{folder / STATE_FILE} is not a training state of this loop: {e}") from None
        except DataError as e:
            skipped.append((folder, str(e)))
            continue
        if skipped:
            names = ", ".join(f.name for f, _ in skipped)
            note(f"passed over damaged checkpoint {names} ({skipped[0][1]}); using {folder}, "
                 "the newest one that verifies")
        return folder, weights, meta, state
    if skipped:
        raise DataError(f"no checkpoint under {path} verifies; the newest, {skipped[0][0]}: {skipped[0][1]}")
    raise DataError(f"no checkpoint under {path}; train first or pass a checkpoint folder or model.safetensors")


def _folders(path: Path):
    """Complete checkpoint folders at or under ``path``, the one to try first first."""
    if (path / MODEL_FILE).exists():
        yield path
        return
    for directory in (path, path / "checkpoints"):
        if not directory.is_dir():
            continue
        complete = _complete(directory)
        latest = directory / LATEST
        named = directory / latest.read_text().strip() if latest.is_file() else None
        if named in complete:   # normally the newest; first in any case
            complete.remove(named)
            complete.insert(0, named)
        if complete:
            yield from complete
            return


def _candidates(path: Path):
    """(folder, why it does not verify or None) for each complete checkpoint, newest first."""
    for folder in _folders(path):
        yield folder, _verify_error(folder)


def _none_verify(path: Path) -> DataError:
    found = list(_candidates(path))
    if not found:
        return DataError(f"no checkpoint under {path}; train first or pass a checkpoint folder or model.safetensors")
    return DataError(f"no checkpoint under {path} verifies; the newest, {found[0][0]}: {found[0][1]}")


def _verify(folder: Path, *files: str) -> None:
    error = _verify_error(folder, files or (MODEL_FILE, STATE_FILE))
    if error:
        raise DataError(error)


def _verify_error(folder: Path, files: tuple[str, ...] = (MODEL_FILE, STATE_FILE)) -> str | None:
    """Why ``folder``'s files do not match their recorded SHA-256, or None when they do (or when the
    folder predates checksums: then nothing can be checked, and reading it must find damage)."""
    listing = folder / CHECKSUMS
    if not listing.exists():
        return None
    try:
        sums = json.loads(listing.read_text())
        if not isinstance(sums, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as e:
        return f"its {CHECKSUMS} is unreadable ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
    for name in files:
        if not (folder / name).exists():
            return f"{folder / name} is missing"
        if sums.get(name) != _sha256(folder / name):
            return f"{folder / name} does not match its SHA-256 in {CHECKSUMS} (the file is damaged)"
    return None


def _complete(directory: Path) -> list[Path]:
    """Complete checkpoint folders in ``directory``, newest (highest step) first."""
    found = [p for p in directory.glob("step-*")
             if _STEP_DIR.fullmatch(p.name) and (p / MODEL_FILE).exists() and (p / STATE_FILE).exists()]
    return sorted(found, key=lambda p: int(p.name[5:]), reverse=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
