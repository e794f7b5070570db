"""The area under the ROC curve of a score that should rank one set of items above another, with the
standard error of Hanley & McNeil (1982)."""

from __future__ import annotations

import math

import torch

__all__ = ["auroc", "auroc_se"]


def auroc(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """P(score of a positive > score of a negative), ties counted ½: the Mann-Whitney U statistic divided by
    n₊·n₋, from the ranks of all scores (average ranks for ties)."""
    pos, neg = positive.flatten().double(), negative.flatten().double()
    if not len(pos) or not len(neg):
        raise ValueError("auroc needs at least one positive and one negative score")
    scores = torch.cat([pos, neg])
    order = scores.argsort()
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    values, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    if len(values) < len(scores):  # average the ranks of tied scores
        sums = torch.zeros(len(values), dtype=torch.float64).index_add_(0, inverse, ranks)
        ranks = (sums / counts)[inverse]
    u = float(ranks[: len(pos)].sum()) - len(pos) * (len(pos) + 1) / 2
    return u / (len(pos) * len(neg))


def auroc_se(area: float, n_positive: int, n_negative: int) -> float:
    """Hanley & McNeil's (1982) standard error of an AUROC ``area`` from n₊ positives and n₋ negatives."""
    q1, q2 = area / (2 - area), 2 * area * area / (1 + area)
    var = (area * (1 - area) + (n_positive - 1) * (q1 - area * area)
           + (n_negative - 1) * (q2 - area * area)) / (n_positive * n_negative)
    return math.sqrt(max(var, 0.0))
