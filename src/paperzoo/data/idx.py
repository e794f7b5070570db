"""Reader for the IDX format of MNIST and Fashion-MNIST (``*-idx3-ubyte``, ``*-idx1-ubyte``).

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic number -- two zero
bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
and the number of dimensions -- then each dimension's size as a big-endian uint32, then the
values in row-major order, big-endian. Files may be gzip-compressed (as distributed) or plain
(bzip2 and xz are also recognised by their magic bytes).

The header bounds the read: :func:`read_idx` decompresses the header, then at most the bytes its
shape declares (plus one, to tell a padded file), so a small ``.gz`` that expands to gigabytes
fails after a few bytes more than the header allows.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from ..errors import DataError
from ._io import REDOWNLOAD, decompressed, read_bounded, too_large

IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: Largest IDX file :func:`read_idx` accepts (header included): four times EMNIST's largest
#: (by_class train images, 0.55 GB); MNIST's train images are 47 MB.
MAX_IDX_BYTES = 1 << 31


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in the IDX file at `path` (``.gz`` or plain), in native byte order.

    Raises DataError naming the file if its compression is damaged, its magic number is wrong, or its
    length does not match the dimensions in its header (truncated or padded file). Only as many
    bytes as the header declares (plus one) are ever decompressed.
    """
    path = Path(path)
    where = str(path)
    with decompressed(path) as f:
        head = f.read(4)
        ndim = head[3] if len(head) == 4 else 0
        dims, dtype, header = parse_idx_header(head + f.read(4 * ndim), where)
        size = header + math.prod(dims) * dtype.itemsize
        if size > MAX_IDX_BYTES:
            raise too_large(where, f"header declares shape {dims} ({size:,} bytes)",
                            f"more than the {MAX_IDX_BYTES:,} bytes this reader accepts")
        f.seek(0)  # cheap: only the header was decompressed
        raw = read_bounded(f, size, where, f"the size its header's shape {dims} gives")
    return parse_idx(raw, where)


def parse_idx_header(raw: bytes, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(dims, dtype, header length)`` from the first bytes of an IDX file; DataError naming
    `where` if the magic number is wrong or the header is cut short."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DataError(f"{where}: not an IDX file (magic number {raw[:4].hex() or 'missing'}); "
                        f"{REDOWNLOAD}")
    header = 4 + 4 * raw[3]
    if len(raw) < header:
        raise DataError(f"{where}: IDX header is truncated; {REDOWNLOAD}")
    return struct.unpack(f">{raw[3]}I", raw[4:header]), np.dtype(IDX_TYPES[raw[2]]), header


def parse_idx(raw: bytes, where: str) -> np.ndarray:
    """Decode IDX bytes; `where` names the file in error messages."""
    dims, dtype, header = parse_idx_header(raw, where)
    count = math.prod(dims)
    expected, actual = count * dtype.itemsize, len(raw) - header
    if actual != expected:
        raise DataError(f"{where}: header declares shape {dims} ({expected} bytes of data) but the "
                        f"file holds {actual} bytes; it is truncated or corrupted; {REDOWNLOAD}")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # native byte order, writable copy
