"""The catalogue of papers and claims, loaded lazily, one paper at a time.

Each paper is a package ``paperzoo.papers.<key>``: ``model.py`` registers its models with
:func:`paperzoo.registry.register_model`, and its claim modules (``experiments.py``, or those its
``__init__`` lists in ``CLAIM_MODULES``) register a :class:`PaperCard` and its :class:`Claim`\\ s
here. Asking for one claim imports only the paper that owns it (the part of the id before the
first dot, or an alias); listing models imports every ``model.py`` and no experiments.

This module imports nothing heavy at import time, so the command line and the model registry can
use it without loading the claims machinery.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import unknown_name

if TYPE_CHECKING:
    from .core import Claim

#: Paper packages, in the order `paperzoo list papers` shows them.
PAPERS: tuple[str, ...] = (
    "alexnet", "vgg", "googlenet", "resnet", "densenet",
    "sgd", "vae", "gan", "adam", "batchnorm", "layernorm", "dropout",
    "seq2seq", "transformer", "bert", "divergence", "nce",
)
#: Claim-id prefixes and names that are not a paper key: GoogLeNet's claims are about Inception.
ALIASES: dict[str, str] = {"inception": "googlenet"}


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


_CARDS: dict[str, PaperCard] = {}
_CLAIMS: dict[str, Claim] = {}
_loaded: set[str] = set()


def register_paper(card: PaperCard) -> PaperCard:
    if card.key in _CARDS:
        raise ValueError(f"paper {card.key!r} is already registered")
    if card.key not in PAPERS:
        raise ValueError(f"paper {card.key!r} is not in paperzoo.claims.catalog.PAPERS")
    _CARDS[card.key] = card
    return card


def register_claim(claim: Claim) -> Claim:
    if claim.id in _CLAIMS:
        raise ValueError(f"claim {claim.id!r} is already registered")
    if paper_of(claim.id) != claim.paper:
        raise ValueError(f"claim {claim.id!r} must belong to paper {paper_of(claim.id)!r}, not {claim.paper!r} "
                         "(its id's prefix names its paper; see ALIASES)")
    _CLAIMS[claim.id] = claim
    return claim


# --- loading ------------------------------------------------------------------------------------

def paper_key(name: str) -> str:
    """A paper key from a key or an alias (``inception`` -> ``googlenet``)."""
    return ALIASES.get(name, name)


def paper_of(claim_id: str) -> str:
    """The key of the paper that owns ``claim_id`` (``inception.auxiliary`` -> ``googlenet``)."""
    return paper_key(claim_id.split(".", 1)[0])


def load_models() -> None:
    """Import every paper's ``model.py`` (registering its models), and nothing else."""
    for key in PAPERS:
        name = f"paperzoo.papers.{key}.model"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def load_paper(key: str) -> None:
    """Import one paper's claim modules (registering its card and claims)."""
    key = paper_key(key)
    if key in _loaded:
        return
    if key not in PAPERS:
        raise unknown_name("paper", key, PAPERS, "Run `paperzoo list papers` to see them all.")
    package = importlib.import_module(f"paperzoo.papers.{key}")
    for module in getattr(package, "CLAIM_MODULES", ("experiments",)):
        importlib.import_module(f"paperzoo.papers.{key}.{module}")
    _loaded.add(key)


def load_all() -> None:
    for key in PAPERS:
        load_paper(key)


# --- lookups ---------------------------------------------------------------------------------------

def list_papers() -> list[str]:
    return list(PAPERS)


def paper_card(key: str) -> PaperCard:
    key = paper_key(key)
    load_paper(key)
    return _CARDS[key]


def reading_passes(key: str) -> str:
    """The three-pass reading of a paper (the sections of its README.md headed ``## Pass ...``), or ""."""
    readme = importlib.resources.files(f"paperzoo.papers.{paper_key(key)}").joinpath("README.md")
    if not readme.is_file():
        return ""
    keep, out = False, []
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keep = line.startswith("## Pass")
        if keep:
            out.append(line)
    return "\n".join(out).strip()


def get_claim(claim_id: str) -> Claim:
    key = paper_of(claim_id)
    if key in PAPERS:
        load_paper(key)
    if claim_id not in _CLAIMS:
        load_all()   # for the suggestions
        raise unknown_name("claim", claim_id, _CLAIMS, "Run `paperzoo list claims` to see them all.")
    return _CLAIMS[claim_id]


def list_claims(paper: str | None = None) -> list[str]:
    """Registered claim ids (``"resnet.degradation"``), optionally of one paper (or alias)."""
    if paper is None:
        load_all()
        return sorted(_CLAIMS, key=lambda c: PAPERS.index(_CLAIMS[c].paper))   # stable: registration order within
    key = paper_key(paper)
    if key not in PAPERS:
        raise unknown_name("paper", paper, PAPERS, "Run `paperzoo list papers` to see them all.")
    load_paper(key)
    return [c for c, claim in _CLAIMS.items() if claim.paper == key]
