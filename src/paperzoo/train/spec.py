"""What training needs to know of a model it builds, without knowing where models are registered."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol

import torch.nn as nn


class ModelSpec(Protocol):
    """A named model builder: its ``name`` (stored with checkpoints so that ``paperzoo eval`` can
    rebuild it), ``build(**kwargs)``, its keyword arguments (``signature``), and the
    ``input_size`` (C, H, W) it expects. :class:`paperzoo.registry.ModelEntry` is one; the training
    code takes any."""

    name: str
    input_size: tuple[int, ...]

    def signature(self) -> inspect.Signature: ...

    def build(self, **kwargs: Any) -> nn.Module: ...


#: Rebuilds a model from the name and keyword arguments a checkpoint stores
#: (:func:`paperzoo.registry.create_model` is one).
Build = Callable[..., nn.Module]
