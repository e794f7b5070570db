"""Datasets: readers for the official files, in-memory image arrays, loaders and downloads.

Small image sets load whole into memory::

    from paperzoo.data import load_dataset, train_val_split, channel_stats, DeviceLoader
    train = load_dataset("cifar10", "train")           # ImageArrays; train.source says which copy
    fit_idx, val_idx = train_val_split(len(train))      # the ResNet paper's fixed 45k/5k split
    mean, std = channel_stats(train.subset(fit_idx).images)
    loader = DeviceLoader(train.subset(fit_idx), batch_size=128, augment=True, mean=mean, std=std)

Large image folders (ImageNet layout, directory or tar) go through :class:`ImageFolder` and
:func:`folder_loader` with :mod:`paperzoo.data.transforms`. Files live under
:func:`data_root` (``--data-root``, ``$PAPERZOO_DATA`` or ``~/.cache/paperzoo``).
"""

from ._io import MissingDataError
from .arrays import ImageArrays, channel_stats, train_val_split
from .catalog import DatasetInfo, dataset_info, list_datasets
from .datasets import load_dataset
from .download import ChecksumError, download_dataset, download_file
from .idx import read_idx
from .imagefolder import ImageFolder
from .loader import DeviceLoader, crop_and_flip, folder_loader
from .root import cache_dir, data_root
from .sentences import LabelledSentences, Vocabulary, load_sentences, pad_batch, read_sentences

__all__ = [
    "ChecksumError",
    "DatasetInfo",
    "DeviceLoader",
    "ImageArrays",
    "ImageFolder",
    "LabelledSentences",
    "MissingDataError",
    "Vocabulary",
    "cache_dir",
    "channel_stats",
    "crop_and_flip",
    "data_root",
    "dataset_info",
    "download_dataset",
    "download_file",
    "folder_loader",
    "list_datasets",
    "load_dataset",
    "load_sentences",
    "pad_batch",
    "read_idx",
    "read_sentences",
    "train_val_split",
]
