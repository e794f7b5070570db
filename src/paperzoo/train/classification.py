"""Image classification as a task of the training loop, shared by every CNN paper.

The data is held on the training device as one uint8 tensor and augmented there
(:class:`paperzoo.data.DeviceLoader`), so the input pipeline is never the bottleneck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DeviceLoader, ImageArrays, channel_stats, load_dataset, train_val_split
from ..data.root import data_root
from ..errors import UserError
from .env import resolve_device
from .loop import TrainConfig, Trainer, TrainResult
from .spec import ModelSpec


@dataclass(frozen=True)
class DataConfig:
    """Which images, how they are split and augmented.

    ``val_size`` images are held out of the training set for model selection (the ResNet
    paper's 45k/5k CIFAR split); 0 trains on the whole training set. ``train_subset`` and
    ``eval_subset`` shrink the sets for quick CPU presets (0: everything). ``train_eval``
    training images (a fixed sample) are also evaluated, in eval mode, as split ``trainset``: the
    training error of the net itself rather than the running error on augmented batches.
    """

    dataset: str = "cifar10"
    batch_size: int = 128
    augment: bool = True        # 4-pixel zero padding, random crop, horizontal flip
    val_size: int = 5000
    train_subset: int = 0
    eval_subset: int = 0
    eval_batch_size: int = 500
    train_eval: int = 0


@lru_cache(maxsize=8)
def _load(name: str, split: str, root: str) -> ImageArrays:
    return load_dataset(name, split, root=root)


#: A training loss of the model's output and the labels, for models whose training-mode output is
#: not plain logits (GoogLeNet's auxiliary classifiers: a tuple whose first element is the logits).
Loss = Callable[[Any, torch.Tensor], torch.Tensor]


#: Changes a training batch, drawing from the task's own generator (crops, scale jitter, colour noise).
TrainTransform = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
#: Changes an evaluation batch's images (a centre crop, a test scale, another dtype).
EvalTransform = Callable[[torch.Tensor], torch.Tensor]


class ImageClassificationTask:
    """Cross-entropy training (or ``loss``); reports loss and top-1 error (a fraction) on train, val and test.

    ``loss(output, labels)`` replaces the cross-entropy in training; a tuple output's first element
    is taken as the logits for the training error. Evaluation (eval mode) always uses the logits.

    Variants of the input pipeline are plain functions: ``train_transform(x, y, generator)``
    changes each (normalised, loader-augmented) training batch, drawing from the task's own
    generator (seeded by ``seed``, saved with checkpoints); ``eval_transform(x)`` changes each
    evaluation batch. After each evaluation :attr:`errors` holds, per evaluated split, each
    image's error (a bool tensor, in the loader's fixed order), for paired tests between arms.
    """

    def __init__(self, cfg: DataConfig, *, device: str | torch.device = "cpu", seed: int = 0,
                 root: str | Path | None = None, channels_last: bool = False, loss: Loss | None = None,
                 train_transform: TrainTransform | None = None, eval_transform: EvalTransform | None = None) -> None:
        self.cfg = cfg
        self.loss = loss
        self.train_transform, self.eval_transform = train_transform, eval_transform
        self.generator = torch.Generator().manual_seed(seed)
        self.device = torch.device(device)
        root = str(data_root(root))
        full = _load(cfg.dataset, "train", root)
        test = _load(cfg.dataset, "test", root)
        self.source = full.source
        self.classes = full.classes
        self.channels = full.images.shape[1]
        if cfg.val_size:
            train_idx, val_idx = train_val_split(len(full), cfg.val_size)
            train, val = full.subset(train_idx), full.subset(val_idx)
        else:
            train, val = full, None
        if cfg.train_subset:
            train = train.sample(cfg.train_subset)
        if cfg.eval_subset:
            test = test.sample(cfg.eval_subset)
            val = val.sample(cfg.eval_subset) if val is not None else None
        self.mean, self.std = channel_stats(train.images)
        trainset = train.sample(cfg.train_eval) if cfg.train_eval else None
        common = dict(device=self.device, mean=self.mean, std=self.std, channels_last=channels_last)
        self.train_loader = DeviceLoader(train, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         augment=cfg.augment, seed=seed, **common)
        self.eval_loaders = {
            name: DeviceLoader(data, batch_size=cfg.eval_batch_size, shuffle=False, drop_last=False,
                               augment=False, **common)
            for name, data in (("val", val), ("test", test), ("trainset", trainset)) if data is not None
        }
        self.sizes = {"train": len(train), "val": len(val) if val is not None else 0, "test": len(test)}
        if trainset is not None:
            self.sizes["trainset"] = len(trainset)
        self.errors: dict[str, torch.Tensor] = {}

    def meta(self) -> dict[str, Any]:
        """Data description stored with checkpoints (what ``paperzoo eval`` needs to normalise)."""
        return {"dataset": self.cfg.dataset, "source": self.source, "mean": list(map(float, self.mean)),
                "std": list(map(float, self.std)), "classes": list(self.classes)}

    def model_kwargs(self, spec: ModelSpec) -> dict[str, Any]:
        """The builder arguments the data fixes: the number of classes, and the input channels
        when they differ from what the model expects (UserError if it cannot take them)."""
        kwargs: dict[str, Any] = {"num_classes": len(self.classes)}
        if self.channels != spec.input_size[0]:
            if "in_channels" not in spec.signature().parameters:
                raise UserError(f"{spec.name} takes {spec.input_size[0]}-channel images and {self.cfg.dataset} has "
                                f"{self.channels}; choose another model or dataset")
            kwargs["in_channels"] = self.channels
        return kwargs

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.train_transform is None:
            return self.train_loader.forever()
        return (self.train_transform(x, y, self.generator) for x, y in self.train_loader.forever())

    def training_step(self, model: nn.Module, batch):
        x, y = batch
        output = model(x)
        if self.loss is None:
            logits, loss = output, F.cross_entropy(output, y)
        else:
            logits, loss = output[0] if isinstance(output, tuple) else output, self.loss(output, y)
        return loss, {"error": (logits.argmax(1) != y).float().mean()}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        out = {}
        for name, loader in self.eval_loaders.items():
            batches = loader if self.eval_transform is None else ((self.eval_transform(x), y) for x, y in loader)
            wrong: list[torch.Tensor] = []
            out |= {f"{name}_{k}": v for k, v in evaluate_classifier(model, batches, wrong=wrong).items()}
            self.errors[name] = torch.cat(wrong).cpu()
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"train_loader": self.train_loader.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.train_loader.load_state_dict(state["train_loader"])
        if "generator" in state:
            self.generator.set_state(state["generator"])


def evaluate_classifier(model: nn.Module, loader, *, wrong: list[torch.Tensor] | None = None) -> dict[str, float]:
    """Mean cross-entropy and top-1 error over a finite loader (caller sets eval mode/no_grad);
    ``wrong`` collects each batch's per-image errors (bool) when given."""
    loss = errors = n = 0.0
    for x, y in loader:
        logits = model(x).float()
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        miss = logits.argmax(1) != y
        errors += miss.sum().item()
        n += y.numel()
        if wrong is not None:
            wrong.append(miss)
    return {"loss": loss / n, "error": errors / n}


def train_classifier(spec: ModelSpec, data: DataConfig, train: TrainConfig, *,
                     model_kwargs: dict[str, Any] | None = None, run_dir: str | Path | None = None,
                     data_root: str | Path | None = None, resume: bool = False, loss: Loss | None = None,
                     ) -> tuple[TrainResult, nn.Module, ImageClassificationTask]:
    """Build the model ``spec`` describes (a :class:`~paperzoo.registry.ModelEntry`, e.g.
    ``model_entry("resnet20")``) for the classification task, and train it with the one loop
    (``loss``: see :class:`ImageClassificationTask`)."""
    device = resolve_device(train.device)
    task = ImageClassificationTask(data, device=device, seed=train.seed, root=data_root,
                                   channels_last=train.channels_last, loss=loss)
    model_kwargs = {**task.model_kwargs(spec), **dict(model_kwargs or {})}
    torch.manual_seed(train.seed)  # the model's initialisation depends on the run's seed only
    model = spec.build(**model_kwargs)
    meta = {"model": spec.name, "model_kwargs": model_kwargs, "data": task.meta()}
    trainer = Trainer(model, task, train, run_dir=run_dir, model_meta=meta)
    return trainer.fit(resume=resume), trainer.model, task
