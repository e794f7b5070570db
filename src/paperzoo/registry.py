"""The model registry.

Models are keyword-only builder functions registered by name (as torchvision's
``@register_model()`` and timm's builders): ``create_model("resnet20", shortcut="B")``.
Registering a name twice is an error. The modules that define models are imported on first use
by the loaders :func:`add_loader` collects (``paperzoo`` adds the papers' ``model.py`` files);
the registry imports nothing above it. Papers and claims are catalogued in
:mod:`paperzoo.claims.catalog`.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn

from .errors import UserError, unknown_name


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    paper: str
    input_size: tuple[int, ...]
    num_classes: int | None
    tiny: bool
    summary: str
    #: Builds a batch of ``n`` valid inputs for models that do not take images (token ids, ...):
    #: one tensor, or a tuple of tensors passed as positional arguments.
    example_input: Callable[[int], torch.Tensor | tuple[torch.Tensor, ...]] | None = None

    def signature(self) -> inspect.Signature:
        return inspect.signature(self.builder)

    def build(self, **kwargs: Any) -> nn.Module:
        """The model, built with ``kwargs``; an argument the builder does not take is a UserError."""
        accepted = self.signature().parameters
        has_var_kw = any(p.kind == p.VAR_KEYWORD for p in accepted.values())
        bad = [k for k in kwargs if k not in accepted and not has_var_kw]
        if bad:
            options = ", ".join(k for k in accepted if accepted[k].kind == inspect.Parameter.KEYWORD_ONLY)
            raise UserError(f"model {self.name!r} takes no argument {bad[0]!r}; it takes: {options}")
        return self.builder(**kwargs)


_MODELS: dict[str, ModelEntry] = {}
_loaders: list[Callable[[], None]] = []
_loaded = False


def register_model(
    *,
    paper: str,
    input_size: tuple[int, ...] = (3, 224, 224),
    num_classes: int | None = 1000,
    tiny: bool = False,
    name: str | None = None,
    example_input: Callable[[int], torch.Tensor | tuple[torch.Tensor, ...]] | None = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a keyword-only model builder under its function name.

    ``input_size`` is the (C, H, W) the model is meant for and ``num_classes`` its default
    number of outputs; ``tiny`` marks the small variant every family has for tests. Models whose
    input is not an image (token ids, ...) give ``example_input(n)``, a batch of ``n`` valid
    inputs (a tensor, or a tuple of tensors for ``model(*inputs)``), which the registry-driven
    tests feed instead of random images.
    """

    def decorator(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or fn.__name__
        params = inspect.signature(fn).parameters.values()
        if any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
            raise TypeError(f"model builder {key!r} must take keyword-only arguments")
        if key in _MODELS:
            raise ValueError(f"model {key!r} is already registered")
        doc = inspect.getdoc(fn) or ""
        _MODELS[key] = ModelEntry(key, fn, paper, tuple(input_size), num_classes, tiny,
                                  doc.splitlines()[0] if doc else "", example_input)
        return fn

    return decorator


def add_loader(loader: Callable[[], None]) -> None:
    """Register a function that imports the modules defining models; the registry calls each once,
    on first use. ``paperzoo`` adds the papers' catalogue (:func:`paperzoo.claims.catalog.load_models`),
    so the registry itself imports nothing above it."""
    _loaders.append(loader)


def load_models() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for loader in _loaders:
            loader()


def model_entry(name: str) -> ModelEntry:
    load_models()
    if name not in _MODELS:
        raise unknown_name("model", name, _MODELS, "Run `paperzoo list models` to see them all.")
    return _MODELS[name]


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model: ``create_model("resnet56", shortcut="B", num_classes=100)``."""
    return model_entry(name).build(**kwargs)


def list_models(pattern: str | None = None, *, paper: str | None = None) -> list[str]:
    """Registered model names, optionally filtered by a glob (``"resnet*"``) or paper key."""
    load_models()
    names = sorted(_MODELS, key=_natural_key)
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    if paper:
        names = [n for n in names if _MODELS[n].paper == paper]
    return names


def _natural_key(name: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))
