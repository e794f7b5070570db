"""Reader for the IDX format of MNIST and Fashion-MNIST (``*-idx3-ubyte``, ``*-idx1-ubyte``).

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic number -- two zero
bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
and the number of dimensions -- then each dimension's size as a big-endian uint32, then the
values in row-major order, big-endian. Files may be gzip-compressed (as distributed) or plain
(bzip2 and xz are also recognised by their magic bytes).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from ..errors import DataError
from ._io import REDOWNLOAD, read_decompressed

IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in the IDX file at `path` (``.gz`` or plain), in native byte order.

    Raises DataError naming the file if its compression is damaged, its magic number is wrong, or its
    length does not match the dimensions in its header (truncated or padded file).
    """
    path = Path(path)
    return parse_idx(read_decompressed(path), str(path))


def parse_idx(raw: bytes, where: str) -> np.ndarray:
    """Decode IDX bytes; `where` names the file in error messages."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DataError(f"{where}: not an IDX file (magic number {raw[:4].hex() or 'missing'}); "
                        f"{REDOWNLOAD}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{where}: IDX header is truncated; {REDOWNLOAD}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_TYPES[raw[2]])
    count = math.prod(dims)
    expected, actual = count * dtype.itemsize, len(raw) - header
    if actual != expected:
        raise DataError(f"{where}: header declares shape {dims} ({expected} bytes of data) but the "
                        f"file holds {actual} bytes; it is truncated or corrupted; {REDOWNLOAD}")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # native byte order, writable copy
