"""ImageFolder from a directory and from tar archives, its decoded-array cache, the DataLoader
path and the PIL/torch transforms, on tiny image sets written here."""

from __future__ import annotations

import io
import tarfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from paperzoo.data import ImageFolder, MissingDataError, folder_loader
from paperzoo.data.transforms import (
    Compose,
    center_crop,
    hflip,
    normalize,
    random_crop,
    random_hflip,
    resize_shorter,
    to_tensor,
)
from paperzoo.errors import DataError

CLASSES = ("cat", "dog", "emu")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("PAPERZOO_CACHE", str(cache))
    return cache


def png(color: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> bytes:
    """A lossless image (width, height = `size`) with a distinct pixel pattern."""
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[...] = color
    pixels[0, 0] = (255 - color[0], 7, 9)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def tree() -> dict[str, bytes]:
    """``<split>/<class>/<image>`` members plus files the reader must ignore."""
    files = {"README.md": b"# not an image\n", "train/.hidden.png": png((1, 1, 1)),
             "train/cat/.DS_Store.png": png((1, 2, 3)), "train/dog/notes.txt": b"ignore me"}
    for split, count in (("train", 3), ("test", 2)):
        for c, cls in enumerate(CLASSES):
            for i in reversed(range(count)):  # written out of order: the reader sorts
                files[f"{split}/{cls}/{i:04d}.png"] = png((40 * c, 10 * i, 100 if split == "train" else 200))
    return files


def write_dir(root: Path, files: dict[str, bytes]) -> Path:
    for name, raw in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(raw)
    return root


def write_tar(path: Path, files: dict[str, bytes], prefix: str = "") -> Path:
    with tarfile.open(path, {".gz": "w:gz", ".xz": "w:xz"}.get(path.suffix, "w")) as tar:
        for name, raw in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    files = tree()
    return {"dir": write_dir(tmp_path / "folder", files),
            "tar": write_tar(tmp_path / "set.tar", files, prefix="./"),
            "tar.gz": write_tar(tmp_path / "set.tar.gz", files),
            "tar.xz": write_tar(tmp_path / "set.tar.xz", files)}


def test_directory_and_archives_agree(sources: dict[str, Path]) -> None:
    folders = {kind: ImageFolder(path, "train") for kind, path in sources.items()}
    reference = folders["dir"]
    assert reference.classes == CLASSES and len(reference) == 9
    assert [s.key for s in reference.samples][:3] == ["train/cat/0000.png", "train/cat/0001.png", "train/cat/0002.png"]
    assert [s.label for s in reference.samples] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    arrays = reference.to_arrays("toy")
    assert arrays.images.shape == (9, 3, 6, 8) and arrays.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert tuple(arrays.images[4, :, 1, 1].tolist()) == (40, 10, 100)  # dog/0001.png
    assert tuple(arrays.images[4, :, 0, 0].tolist()) == (215, 7, 9)
    for kind, folder in folders.items():
        assert folder.classes == CLASSES and [s.key for s in folder.samples] == [s.key for s in reference.samples]
        other = folder.to_arrays("toy", cache=False)
        assert torch.equal(other.images, arrays.images) and torch.equal(other.labels, arrays.labels), kind
        image, label = folder[4]
        assert image.mode == "RGB" and label == 1
        assert np.array_equal(np.asarray(image), arrays.images[4].permute(1, 2, 0).numpy()), kind


def test_random_access_in_any_order(sources: dict[str, Path]) -> None:
    for path in sources.values():
        folder = ImageFolder(path, "test")
        order = [5, 0, 3, 1, 5, 2]
        labels = [folder[i][1] for i in order]
        assert labels == [2, 0, 1, 0, 2, 1]


def test_without_split(tmp_path: Path) -> None:
    root = write_dir(tmp_path / "flat", {f"{c}/{i}.png": png((i, 0, 0)) for c in ("b", "a") for i in range(2)})
    folder = ImageFolder(root)
    assert folder.classes == ("a", "b") and len(folder) == 4


def test_source_text(sources: dict[str, Path]) -> None:
    arrays = ImageFolder(sources["tar.gz"], "test").to_arrays("toy")
    assert "set.tar.gz" in arrays.source and arrays.name == "toy"
    assert ImageFolder(sources["tar"], "test").to_arrays("toy", "Toy from x").source == "Toy from x"


def test_cache_hit_and_corrupted_cache(sources: dict[str, Path], private_cache: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    first = ImageFolder(sources["tar.gz"], "train").to_arrays("toy")
    files = sorted(p.name for p in private_cache.iterdir())
    assert len(files) == 3 and files[0].endswith(".images.npy") and files[1].endswith(".json")

    decode_calls = []
    original = ImageFolder._decode_all
    monkeypatch.setattr(ImageFolder, "_decode_all", lambda self, *a: decode_calls.append(1) or original(self, *a))
    hit = ImageFolder(sources["tar.gz"], "train").to_arrays("toy")
    assert decode_calls == [] and torch.equal(hit.images, first.images) and hit.classes == CLASSES

    images_file = next(private_cache.glob("*.images.npy"))
    images_file.write_bytes(images_file.read_bytes()[:100])  # truncated cache file
    rebuilt = ImageFolder(sources["tar.gz"], "train").to_arrays("toy")
    assert decode_calls == [1] and torch.equal(rebuilt.images, first.images)
    again = ImageFolder(sources["tar.gz"], "train").to_arrays("toy")
    assert decode_calls == [1] and torch.equal(again.images, first.images)
    assert not list(private_cache.glob(".*"))  # no temporary files left behind


def test_changed_archive_invalidates_cache(tmp_path: Path) -> None:
    files = tree()
    path = write_tar(tmp_path / "set.tar", files)
    before = ImageFolder(path, "test").to_arrays("toy")
    files["test/cat/0000.png"] = png((250, 250, 250))
    write_tar(path, files)
    after = ImageFolder(path, "test").to_arrays("toy")
    assert not torch.equal(before.images, after.images)


def corrupt_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()[:300]


def test_corrupted_jpeg_names_the_file(tmp_path: Path) -> None:
    files = tree()
    files["train/dog/0001.png"] = corrupt_jpeg()  # bad bytes under an image name
    files["train/emu/0000.jpg"] = corrupt_jpeg()
    folder = ImageFolder(write_dir(tmp_path / "folder", files), "train")
    index = next(i for i, s in enumerate(folder.samples) if s.key == "train/emu/0000.jpg")
    with pytest.raises(DataError, match=r"train/emu/0000\.jpg: cannot decode image"):
        folder[index]
    with pytest.raises(DataError, match=r"train/dog/0001\.png: cannot decode image"):
        folder.to_arrays("toy", cache=False)
    archive = ImageFolder(write_tar(tmp_path / "bad.tar.gz", files), "train")
    with pytest.raises(DataError, match=r"bad\.tar\.gz:train/dog/0001\.png: cannot decode image"):
        archive.to_arrays("toy", cache=False)


@pytest.mark.parametrize("name, cut", [
    ("set.tar", 512 * 8),         # at a member boundary: tarfile alone would see a clean end
    ("set.tar", 512 * 8 + 100),   # inside a header
    ("set.tar", 512 * 9 + 50),    # inside a member's data
    ("set.tar", -1),              # only the end-of-archive blocks lost
    ("set.tar.gz", None),         # gzip stream cut in half
])
def test_truncated_tar_names_the_archive(tmp_path: Path, name: str, cut: int | None) -> None:
    path = write_tar(tmp_path / name, tree())
    raw = path.read_bytes()
    if cut is None:
        cut = len(raw) // 2
    elif cut < 0:  # just after the last member's (padded) data
        with tarfile.open(path) as tar:
            last = tar.getmembers()[-1]
        cut = last.offset_data + -(-last.size // 512) * 512
    path.write_bytes(raw[:cut])
    with pytest.raises(DataError, match=rf"{name}.*(truncated|corrupted)"):
        ImageFolder(path, "test").to_arrays("toy", cache=False)


def test_mixed_sizes_and_empty_layouts(tmp_path: Path) -> None:
    files = tree()
    files["train/emu/0002.png"] = png((0, 0, 0), size=(5, 5))
    with pytest.raises(DataError, match=r"train/emu/0002\.png: image is 5x5 but earlier ones are 8x6"):
        ImageFolder(write_dir(tmp_path / "mixed", files), "train").to_arrays("toy")
    with pytest.raises(MissingDataError, match="validation"):
        len(ImageFolder(tmp_path / "mixed", "validation"))
    with pytest.raises(DataError, match="no images found"):
        len(ImageFolder(write_tar(tmp_path / "empty.tar", {"README.md": b"x"}), "train"))
    with pytest.raises(MissingDataError, match="nowhere"):
        ImageFolder(tmp_path / "nowhere", "train")


# --- DataLoader path ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, workers", [("dir", 0), ("tar", 2)])
def test_folder_loader_yields_tensors(sources: dict[str, Path], kind: str, workers: int) -> None:
    folder = ImageFolder(sources[kind], "train")
    transform = Compose([partial(center_crop, size=4), to_tensor])
    loader = folder_loader(folder, batch_size=4, transform=transform, shuffle=True, num_workers=workers, seed=0)
    seen = []
    for x, y in loader:
        assert x.dtype == torch.uint8 and x.shape[1:] == (3, 4, 4) and y.dtype == torch.int64
        seen.extend(y.tolist())
    assert sorted(seen) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert folder.transform is None  # the loader works on a copy
    again = [y.tolist() for _, y in folder_loader(folder, batch_size=4, transform=transform, shuffle=True,
                                                   num_workers=0, seed=0)]
    assert sum(again, []) == seen


# --- transforms -----------------------------------------------------------------------------------

def test_transforms() -> None:
    img = Image.fromarray(np.arange(6 * 10 * 3, dtype=np.uint8).reshape(6, 10, 3))
    assert resize_shorter(img, 3).size == (5, 3)
    assert resize_shorter(img.transpose(Image.Transpose.TRANSPOSE), 3).size == (3, 5)
    assert resize_shorter(img, 6) is img
    crop = center_crop(img, (2, 4))
    assert np.array_equal(np.asarray(crop), np.asarray(img)[2:4, 3:7])
    assert np.array_equal(np.asarray(hflip(img)), np.asarray(img)[:, ::-1])
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        patch = np.asarray(random_crop(img, 4, padding=2, generator=g))
        assert patch.shape == (4, 4, 3)
    flipped = [np.array_equal(np.asarray(random_hflip(img, generator=g)), np.asarray(img)) for _ in range(50)]
    assert 0 < sum(flipped) < 50
    with pytest.raises(ValueError):
        random_crop(img, 7)
    t = to_tensor(img)
    assert t.dtype == torch.uint8 and t.shape == (3, 6, 10) and t[1, 0, 0] == 1
    assert to_tensor(img.convert("L")).shape == (1, 6, 10)
    x = normalize(t, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert torch.allclose(x, (t.float() / 255 - 0.5) / 0.25)
    pipeline = Compose([partial(resize_shorter, size=3), partial(center_crop, size=3), to_tensor])
    assert pipeline(img).shape == (3, 3, 3)
