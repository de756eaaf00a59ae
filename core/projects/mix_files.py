"""Files of a mix: canonical JSON lines, hashed while written, published all at once.

A mix is complete when its ``manifest.json`` exists: every file is written
under a temporary name and synced, the old manifest is removed first, the data
files are renamed into place, and the new manifest comes last. A crash at any
point leaves either the previous mix, or data files with no manifest, never a
manifest that describes files it does not match.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

try:  # several times faster than the standard library per row; the same bytes for valid UTF-8 text
    import orjson
except ImportError:  # pragma: no cover - orjson is a pinned requirement
    orjson = None

_STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
_STDLIB_ASCII = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def canonical_json(record: dict) -> bytes:
    """Compact JSON with sorted keys, in UTF-8: a mix row's line (without its newline), and what its hash is of.

    Text that is not valid Unicode (a lone surrogate) is written with ASCII
    escapes instead, so no row is ever refused.
    """
    if orjson is not None:
        try:
            return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: a lone surrogate
            return _STDLIB_ASCII.encode(record).encode("ascii")
    try:
        return _STDLIB.encode(record).encode("utf-8")
    except UnicodeEncodeError:
        return _STDLIB_ASCII.encode(record).encode("ascii")


class HashingWriter:
    """A temporary file beside its final name that counts and hashes what is written to it."""

    def __init__(self, folder: Path, name: str):
        self.name = name
        handle, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
        self.path = Path(path)
        os.chmod(handle, 0o644)  # mkstemp's 0600 would hide the mix from a worker running as another user
        self._file = os.fdopen(handle, "wb", buffering=1 << 20)
        self._digest = hashlib.sha256()
        self.bytes = 0
        self.rows = 0

    def write(self, data: bytes, rows: int) -> None:
        self._file.write(data)
        self._digest.update(data)
        self.bytes += len(data)
        self.rows += rows

    def close(self) -> dict:
        """Flush and sync; returns what the manifest records about the file."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return {"sha256": self._digest.hexdigest(), "rows": self.rows, "bytes": self.bytes}

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def publish(folder: Path, written: list[HashingWriter], manifest_name: str, manifest: bytes) -> None:
    """Move the written files into place, the manifest last (see the module docstring)."""
    final = folder / manifest_name
    final.unlink(missing_ok=True)
    for writer in written:
        os.replace(writer.path, folder / writer.name)
    staged = HashingWriter(folder, manifest_name)
    staged.write(manifest, 0)
    staged.close()
    os.replace(staged.path, final)
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
