"""What paperzoo knows about each dataset: class names, where its files live under the data
root, and the official files with their URLs and SHA-256 digests.

Provenance of every digest is written next to it. None was computed here from a download (this
project's machines have no network); each was read from a published checksum list, and where
the data root's copy is byte-identical to the official file it was also checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import unknown_name


@dataclass(frozen=True)
class RemoteFile:
    """One official file: its name, mirror URLs (tried in order), SHA-256 and size in bytes."""

    name: str
    urls: tuple[str, ...]
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset paperzoo can load.

    Attributes:
        name: the name ``load_dataset`` takes.
        title: human-readable name.
        folder: sub-folder of the data root holding the official files.
        classes: class names in label order.
        homepage: where the dataset is described.
        files: the official files that ``download_dataset`` fetches into ``<root>/<folder>/``.
    """

    name: str
    title: str
    folder: str
    classes: tuple[str, ...]
    homepage: str
    files: tuple[RemoteFile, ...]


# --- class names -----------------------------------------------------------------------------

MNIST_CLASSES = tuple(str(d) for d in range(10))

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")

#: Official CIFAR-10 label order (``batches.meta``), which is also alphabetical.
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck")

#: CIFAR-100 ``fine_label_names`` in label order, as listed in pytorch/vision
#: torchvision/prototype/datasets/_builtin/cifar100.categories (alphabetical).
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
    "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
    "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
    "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal",
    "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
    "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)

#: CIFAR-100 ``coarse_label_names`` (20 superclasses) in label order, as listed in
#: huggingface/datasets datasets/cifar100/cifar100.py (alphabetical).
CIFAR100_COARSE_CLASSES = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
)

# --- official files ----------------------------------------------------------------------------

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


def _mirrored(name: str, sha256: str, size: int, bases: tuple[str, ...]) -> RemoteFile:
    return RemoteFile(name, tuple(base + name for base in bases), sha256, size)


# MNIST digests and sizes: tensorflow/datasets tensorflow_datasets/url_checksums/mnist.txt
# (commit 31f1255e57e5, for the storage.googleapis.com/cvdf-datasets mirror); the same digests
# are listed for the yann.lecun.com and ossci-datasets mirrors in pytorch/vision
# torchvision/prototype/datasets/_builtin/mnist.py (commit 01c11a0564b8). The t10k images,
# t10k labels and train labels digests also equal the sha256 of the project's shared development
# copies (whose train images were re-gzipped, so that one file's digest differs).
_MNIST_FILES = tuple(_mirrored(name, sha, size, _MNIST_MIRRORS) for name, sha, size in (
    ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
))

# Fashion-MNIST digests and sizes: tensorflow/datasets
# tensorflow_datasets/url_checksums/fashion_mnist.txt (commit 333639b37af6); the same digests are
# in pytorch/vision torchvision/prototype/datasets/_builtin/mnist.py (commit 01c11a0564b8). The two
# label files' digests also equal the sha256 of the project's shared development copies.
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_FASHION_FILES = tuple(_mirrored(name, sha, size, _FASHION_MIRRORS) for name, sha, size in (
    ("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
    ("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
    ("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
    ("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
))

# CIFAR digests: tensorflow/datasets tensorflow_datasets/url_checksums/cifar10.csv and
# cifar100.csv (commit 2740d30f03c8); the same digests are in pytorch/vision
# torchvision/prototype/datasets/_builtin/cifar.py (commit 0b02d420f766). Sizes not recorded there.
_CIFAR10_FILES = (RemoteFile(
    "cifar-10-python.tar.gz", ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),)
_CIFAR100_FILES = (RemoteFile(
    "cifar-100-python.tar.gz", ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",),
    "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"),)

_CIFAR_HOME = "https://www.cs.toronto.edu/~kriz/cifar.html"

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("mnist", "MNIST", "mnist", MNIST_CLASSES, "http://yann.lecun.com/exdb/mnist/", _MNIST_FILES),
    DatasetInfo("fashion-mnist", "Fashion-MNIST", "fashion-mnist", FASHION_MNIST_CLASSES,
                "https://github.com/zalandoresearch/fashion-mnist", _FASHION_FILES),
    DatasetInfo("cifar10", "CIFAR-10", "cifar10", CIFAR10_CLASSES, _CIFAR_HOME, _CIFAR10_FILES),
    DatasetInfo("cifar100", "CIFAR-100", "cifar100", CIFAR100_CLASSES, _CIFAR_HOME, _CIFAR100_FILES),
)}


def list_datasets() -> list[str]:
    """Names accepted by :func:`paperzoo.data.load_dataset`, sorted."""
    return sorted(DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of `name`; an unknown name is a UserError with suggestions."""
    try:
        return DATASETS[name]
    except KeyError:
        raise unknown_name("dataset", name, DATASETS,
                           f"Known datasets: {', '.join(list_datasets())}.") from None
