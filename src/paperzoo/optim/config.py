"""Optimizer configuration. The training loop builds its optimizer from this by name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch

from ..errors import UserError
from . import optimizers

OptimizerName = Literal["sgd", "adagrad", "rmsprop", "adam", "adamw", "bert_adam"]


@dataclass(frozen=True)
class OptimizerConfig:
    """Which optimizer and its hyperparameters. Defaults: SGD with momentum 0.9 and L2 weight
    decay 1e-4, the recipe of AlexNet, VGG and ResNet.

    ``impl="torch"`` builds ``torch.optim``'s implementation (fast multi-tensor kernels),
    ``impl="paperzoo"`` the one written from the paper's equations in
    :mod:`paperzoo.optim.optimizers`; the tests hold the two equal. ``bert_adam`` (Adam with
    decoupled weight decay and no bias correction, as BERT trained) and ``bias_correction=False``
    exist only in paperzoo, so they build paperzoo's whatever ``impl`` says. ``bert_adam`` takes
    ``lr``, ``betas``, ``eps`` and ``weight_decay`` from here (set ``eps=1e-6`` for BERT's).
    """

    name: OptimizerName = "sgd"
    lr: float = 0.1
    momentum: float = 0.9            # SGD, RMSProp
    dampening: float = 0.0           # SGD
    weight_decay: float = 1e-4       # L2 (added to the gradient); decoupled for adamw and bert_adam
    nesterov: bool = False           # SGD
    betas: tuple[float, float] = (0.9, 0.999)   # Adam family
    eps: float = 1e-8                # AdaGrad, RMSProp, Adam family
    alpha: float = 0.99              # RMSProp: decay of the squared-gradient average
    centered: bool = False           # RMSProp: divide by the root of the gradient's variance
    bias_correction: bool = True     # Adam, AdamW
    #: False: biases and normalisation-layer parameters get no weight decay (BERT's optimiser; see
    #: :func:`no_decay_parameter_names`); needs the model, not its parameters, in :func:`build_optimizer`
    decay_bias_and_norm: bool = True
    impl: Literal["torch", "paperzoo"] = "torch"


#: The config fields each optimizer takes, besides ``lr`` (the same keywords in torch.optim and paperzoo).
_FIELDS = {
    "sgd": ("momentum", "dampening", "weight_decay", "nesterov"),
    "adagrad": ("eps", "weight_decay"),
    "rmsprop": ("alpha", "eps", "momentum", "centered", "weight_decay"),
    "adam": ("betas", "eps", "weight_decay", "bias_correction"),
    "adamw": ("betas", "eps", "weight_decay", "bias_correction"),
    "bert_adam": ("betas", "eps", "weight_decay"),
}
_PAPERZOO = {"sgd": optimizers.SGD, "adagrad": optimizers.AdaGrad, "rmsprop": optimizers.RMSProp,
             "adam": optimizers.Adam, "adamw": optimizers.AdamW, "bert_adam": optimizers.BertAdam}
_TORCH = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
          "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


_NORMS = (torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.modules.batchnorm._NormBase)


def no_decay_parameter_names(model: torch.nn.Module) -> set[str]:
    """Names of the parameters exempt from weight decay: biases and normalisation-layer parameters.

    BERT's ``optimization.py`` exempts by name (``exclude_from_weight_decay=["LayerNorm",
    "layer_norm", "bias"]``); here any parameter of a LayerNorm, GroupNorm or BatchNorm module, any
    parameter named ``bias``, and any whose name holds ``LayerNorm`` or ``layer_norm`` (weights
    converted from Google's checkpoints) is exempt."""
    names = set()
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{name}" if module_name else name
            if isinstance(module, _NORMS) or name == "bias" or "LayerNorm" in full or "layer_norm" in full:
                names.add(full)
    return names


def build_optimizer(cfg: OptimizerConfig,
                    params: Iterable[torch.nn.Parameter] | torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer ``cfg`` names over ``params`` (the parameters, or the model itself: needed when
    ``cfg.decay_bias_and_norm`` is False, to split them into a decayed and an exempt group)."""
    if cfg.name not in _FIELDS:
        raise UserError(f"unknown optimizer {cfg.name!r}; choose {', '.join(_FIELDS)}")
    if not cfg.bias_correction and "bias_correction" not in _FIELDS[cfg.name]:
        raise UserError(f"bias_correction applies to adam and adamw only, not to {cfg.name!r}")
    if not cfg.decay_bias_and_norm:
        if not isinstance(params, torch.nn.Module):
            raise UserError("decay_bias_and_norm=False needs the model (to find biases and norms), not its parameters")
        exempt = no_decay_parameter_names(params)
        named = [(n, p) for n, p in params.named_parameters() if p.requires_grad]
        groups = [{"params": [p for n, p in named if n not in exempt]},
                  {"params": [p for n, p in named if n in exempt], "weight_decay": 0.0}]
        params = [g for g in groups if g["params"]]
    elif isinstance(params, torch.nn.Module):
        params = [p for p in params.parameters() if p.requires_grad]
    else:
        params = [p for p in params if p.requires_grad]
    kwargs = {k: getattr(cfg, k) for k in ("lr", *_FIELDS[cfg.name])}
    own = cfg.impl == "paperzoo" or cfg.name not in _TORCH or not cfg.bias_correction
    if not own:
        kwargs.pop("bias_correction", None)
    try:
        return (_PAPERZOO if own else _TORCH)[cfg.name](params, **kwargs)
    except ValueError as e:  # a hyperparameter the optimizer rejects
        raise UserError(f"bad optimizer settings for {cfg.name!r}: {e}") from None
