"""Read the chosen rows of one source in a single streaming pass into a spool file of JSON lines.

The spool holds each wanted row once, in stream order, with its byte offsets
and content hash in flat arrays: the final files are then written in any order
by slicing a memory map, so a million-row mix never holds a million dicts.
"""
from __future__ import annotations

import mmap
from hashlib import sha256
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.datasets.loader import iter_examples
from core.datasets.spec import DatasetSpec
from core.projects.mix_files import canonical_json



@dataclass
class Spool:
    path: Path
    offsets: np.ndarray  # int64, one more than the rows: row r is bytes offsets[r]:offsets[r + 1]
    hashes: np.ndarray  # >u8, the first 8 bytes of each row's SHA-256
    rows: int  # rows found; fewer than wanted when the stream ended early
    stream_rows: int | None  # the stream's real length when it ended before the last wanted index

    def open(self) -> mmap.mmap | bytes:
        if not self.rows:
            return b""
        with open(self.path, "rb") as handle:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def spool_rows(spec: DatasetSpec, trait: str, wanted: np.ndarray, path: Path) -> Spool:
    """Stream ``spec`` up to its last wanted index and write those rows, in order, to ``path``.

    A row index is the row's position in :func:`core.datasets.iter_examples`.
    """
    targets = wanted.tolist()
    offsets, hashes = array("q", [0]), bytearray()
    stream_rows = None
    with open(path, "wb", buffering=1 << 20) as out:
        if targets:
            stream_rows = _copy_wanted(iter_examples(spec), trait, targets, out, offsets, hashes)
    found = len(offsets) - 1
    return Spool(path=path, offsets=np.frombuffer(offsets, dtype=np.int64),
                 hashes=np.frombuffer(bytes(hashes), dtype=">u8"), rows=found, stream_rows=stream_rows)


def _copy_wanted(rows, trait: str, targets: list[int], out, offsets: array, hashes: bytearray) -> int | None:
    """The hot loop; returns the stream's length when it ended before the last target, else None.

    A mix row keeps instruction, response and system (when present) and adds
    the trait. Each line is written at once: holding orjson's output buffers
    (in a list, to join them) is several times slower than copying them into
    the file's buffer.
    """
    write, position, at, last, index = out.write, 0, 0, len(targets) - 1, -1
    following = targets[0]
    for index, row in enumerate(rows):
        if index != following:
            continue
        record = {"instruction": row["instruction"], "response": row["response"], "trait": trait}
        if "system" in row:
            record["system"] = row["system"]
        line = canonical_json(record)
        hashes += sha256(line).digest()[:8]
        write(line)
        write(b"\n")
        position += len(line) + 1
        offsets.append(position)
        if at == last:
            break
        at += 1
        following = targets[at]
    else:
        return index + 1
    return None
