"""Vaswani et al. (2017). Attention Is All You Need. arXiv:1706.03762."""

from . import analysis, experiments, model, table3  # noqa: F401  (registers models, the paper card and claims)
