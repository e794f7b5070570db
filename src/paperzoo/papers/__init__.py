"""One package per paper: ``model.py`` (registered models), ``experiments.py`` (registered
claims), ``README.md`` (the paper card's long form). A paper imports shared modules and only a
paper it builds on."""

from __future__ import annotations

import importlib

#: Paper packages, in the order `paperzoo list papers` shows them.
PAPERS: tuple[str, ...] = (
    "alexnet", "vgg", "googlenet", "resnet", "densenet",
    "sgd", "adam", "batchnorm", "layernorm", "dropout",
    "seq2seq", "transformer",
)


def load_all() -> None:
    for key in PAPERS:
        importlib.import_module(f"{__name__}.{key}")
