"""Optimizer configuration. The training loop builds its optimizer from this by name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch

from ..errors import UserError

OptimizerName = Literal["sgd", "adagrad", "rmsprop", "adam", "adamw", "bert_adam"]


@dataclass(frozen=True)
class OptimizerConfig:
    """Which optimizer and its hyperparameters. Defaults: SGD with momentum 0.9 and L2 weight
    decay 1e-4, the recipe of AlexNet, VGG and ResNet.

    ``impl="torch"`` builds ``torch.optim``'s implementation (fast multi-tensor kernels),
    ``impl="paperzoo"`` the one written from the paper's equations in :mod:`paperzoo.optim`;
    the tests hold the two equal. ``bert_adam`` (Adam with decoupled weight decay and no bias
    correction, as BERT trained) exists only in paperzoo.
    """

    name: OptimizerName = "sgd"
    lr: float = 0.1
    momentum: float = 0.9            # SGD, RMSProp
    weight_decay: float = 1e-4       # L2 (added to the gradient); decoupled for adamw and bert_adam
    nesterov: bool = False           # SGD
    betas: tuple[float, float] = (0.9, 0.999)   # Adam family
    eps: float = 1e-8                # AdaGrad, RMSProp, Adam family
    alpha: float = 0.99              # RMSProp: decay of the squared-gradient average
    bias_correction: bool = True     # Adam, AdamW
    impl: Literal["torch", "paperzoo"] = "torch"


def build_optimizer(cfg: OptimizerConfig, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if cfg.impl == "paperzoo" or cfg.name == "bert_adam" or not cfg.bias_correction:
        from . import _paperzoo_optimizer  # noqa: PLC0415  (written from the equations)

        return _paperzoo_optimizer(cfg, params)
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay, nesterov=cfg.nesterov)
    if cfg.name == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=cfg.weight_decay, eps=cfg.eps)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps,
                                   weight_decay=cfg.weight_decay, momentum=cfg.momentum)
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
    raise UserError(f"unknown optimizer {cfg.name!r}; choose sgd, adagrad, rmsprop, adam, adamw or bert_adam")
