"""Name registries for models, papers and claims.

Models are keyword-only builder functions registered by name (as torchvision's
``@register_model()`` and timm's builders): ``create_model("resnet20", shortcut="B")``.
Papers register a :class:`PaperCard`, claims a :class:`paperzoo.claims.Claim`.
Registering a name twice is an error. Everything is registered on import of
:mod:`paperzoo.papers`, which :func:`load_papers` does on first use.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from .errors import UserError, unknown_name

if TYPE_CHECKING:
    from .claims import Claim


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


@dataclass(frozen=True)
class PaperCard:
    """What `paperzoo show <paper>` prints, besides the paper's claims and our results."""

    key: str
    title: str
    authors: str
    year: int
    arxiv: str
    problem: str
    idea: str
    venue: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


_MODELS: dict[str, ModelEntry] = {}
_PAPERS: dict[str, PaperCard] = {}
_CLAIMS: dict[str, "Claim"] = {}
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


def register_paper(card: PaperCard) -> PaperCard:
    if card.key in _PAPERS:
        raise ValueError(f"paper {card.key!r} is already registered")
    _PAPERS[card.key] = card
    return card


def register_claim(claim: "Claim") -> "Claim":
    if claim.id in _CLAIMS:
        raise ValueError(f"claim {claim.id!r} is already registered")
    _CLAIMS[claim.id] = claim
    return claim


def load_papers() -> None:
    """Import every paper package so that its models and claims are registered."""
    global _loaded
    if not _loaded:
        _loaded = True
        from . import papers

        papers.load_all()


def model_entry(name: str) -> ModelEntry:
    load_papers()
    if name not in _MODELS:
        raise unknown_name("model", name, _MODELS, "Run `paperzoo list models` to see them all.")
    return _MODELS[name]


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model: ``create_model("resnet56", shortcut="B", num_classes=100)``."""
    entry = model_entry(name)
    accepted = entry.signature().parameters
    has_var_kw = any(p.kind == p.VAR_KEYWORD for p in accepted.values())
    bad = [k for k in kwargs if k not in accepted and not has_var_kw]
    if bad:
        options = ", ".join(k for k in accepted if accepted[k].kind == inspect.Parameter.KEYWORD_ONLY)
        raise UserError(f"model {name!r} takes no argument {bad[0]!r}; it takes: {options}")
    return entry.builder(**kwargs)


def list_models(pattern: str | None = None, *, paper: str | None = None) -> list[str]:
    """Registered model names, optionally filtered by a glob (``"resnet*"``) or paper key."""
    load_papers()
    names = sorted(_MODELS, key=_natural_key)
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    if paper:
        names = [n for n in names if _MODELS[n].paper == paper]
    return names


def paper_card(key: str) -> PaperCard:
    load_papers()
    if key not in _PAPERS:
        raise unknown_name("paper", key, _PAPERS, "Run `paperzoo list papers` to see them all.")
    return _PAPERS[key]


def list_papers() -> list[str]:
    load_papers()
    return sorted(_PAPERS)


def get_claim(claim_id: str) -> "Claim":
    load_papers()
    if claim_id not in _CLAIMS:
        raise unknown_name("claim", claim_id, _CLAIMS, "Run `paperzoo list claims` to see them all.")
    return _CLAIMS[claim_id]


def list_claims(paper: str | None = None) -> list[str]:
    """Registered claim ids (``"resnet.degradation"``), optionally for one paper."""
    load_papers()
    if paper is not None and paper not in _PAPERS:
        raise unknown_name("paper", paper, _PAPERS, "Run `paperzoo list papers` to see them all.")
    return [c for c in _CLAIMS if paper is None or _CLAIMS[c].paper == paper]


def _natural_key(name: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))
