"""Typed ``key=value`` overrides for frozen dataclass configs (``--set optimizer.lr=0.05``).

Values are parsed by the field's declared type, so a typo or a bad value is a clear
:class:`~paperzoo.errors.UserError` instead of a silently ignored string.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from .errors import UserError

T = TypeVar("T")


def to_dict(cfg: Any) -> Any:
    """A JSON-ready view of a (nested) dataclass config."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {str(k): to_dict(v) for k, v in cfg.items()}
    return cfg


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": "1", "c": "x"}``; a malformed item is a UserError."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"bad setting {item!r}: write key=value, e.g. --set steps=1000")
        out[key.strip()] = value.strip()
    return out


def apply_overrides(cfg: T, overrides: dict[str, str], *, what: str = "setting") -> T:
    """Return a copy of the frozen dataclass ``cfg`` with dotted-path overrides applied."""
    for path, raw in overrides.items():
        cfg = _set(cfg, path.split("."), raw, path, what)
    return cfg


def _set(cfg: Any, parts: list[str], raw: str, path: str, what: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cfg)}
    head = parts[0]
    if head not in names:
        raise UserError(f"unknown {what} {path!r}; valid: {', '.join(_paths(cfg))}")
    hints = typing.get_type_hints(type(cfg))
    current = getattr(cfg, head)
    if len(parts) > 1:
        if not dataclasses.is_dataclass(current):
            raise UserError(f"unknown {what} {path!r}; valid: {', '.join(_paths(cfg))}")
        value = _set(current, parts[1:], raw, path, what)
    else:
        if dataclasses.is_dataclass(current):
            example = f"{path}.{dataclasses.fields(current)[0].name}=..."
            raise UserError(f"{what} {path!r} is a group; set one of its fields, e.g. {example}")
        value = parse_value(raw, hints[head], path)
    return dataclasses.replace(cfg, **{head: value})


def _paths(cfg: Any, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out += _paths(v, f"{prefix}{f.name}.")
        else:
            out.append(prefix + f.name)
    return out


def parse_value(raw: str, annotation: Any, path: str = "value") -> Any:
    """Parse ``raw`` as ``annotation`` (bool, int, float, str, Optional, Literal, tuple[...])."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("none", "null", "") and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return parse_value(raw, arg, path)
            except UserError as e:
                errors.append(str(e))
        raise UserError(errors[0] if errors else f"bad value {raw!r} for {path}")
    if origin is typing.Literal:
        if raw not in [str(a) for a in args]:
            raise UserError(f"bad value {raw!r} for {path}: choose one of {', '.join(map(str, args))}")
        return next(a for a in args if str(a) == raw)
    if origin in (tuple, list):
        items = [s for s in raw.strip("()[]").split(",") if s.strip()]
        elem = args[0] if args else str
        return tuple(parse_value(s.strip(), elem, path) for s in items)
    if annotation is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise UserError(f"bad value {raw!r} for {path}: expected true or false")
    if annotation in (int, float):
        try:
            return annotation(float(raw)) if annotation is int and _is_int_like(raw) else annotation(raw)
        except ValueError:
            raise UserError(f"bad value {raw!r} for {path}: expected {annotation.__name__}") from None
    if annotation is str or annotation is Any:
        return raw
    raise UserError(f"{path} cannot be set from the command line")


def parse_literal(raw: str) -> Any:
    """Best-effort value for untyped settings (model keyword arguments): JSON, else the string."""
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _is_int_like(raw: str) -> bool:
    try:
        return float(raw).is_integer() and ("e" in raw.lower() or "." in raw)
    except ValueError:
        return False
