"""paperzoo: landmark deep-learning papers from their equations up, each key claim a runnable
experiment with a verdict."""

from . import registry
from .claims.catalog import list_claims, list_papers, load_models
from .registry import create_model, list_models

registry.add_loader(load_models)   # models come from the papers' model.py files, loaded on first use

__version__ = "0.1.0"

__all__ = ["create_model", "list_models", "list_claims", "list_papers", "reproduce", "translate", "__version__"]


def reproduce(claim_id: str, preset: str = "quick", **kwargs):
    """Run one claim's experiment and write its report; see :func:`paperzoo.claims.reproduce`."""
    from .claims import reproduce as _reproduce

    return _reproduce(claim_id, preset=preset, **kwargs)


def translate(checkpoint, texts, **kwargs) -> list[str]:
    """Translate `texts` with a trained translation model; see :func:`paperzoo.train.translation.translate`."""
    from .train.translation import translate as _translate

    return _translate(checkpoint, texts, create_model, **kwargs)
