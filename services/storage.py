"""Resolve paths that come from requests strictly inside a data folder."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from werkzeug.security import safe_join
from werkzeug.utils import secure_filename

from services.errors import ServiceError


class UnsafePathError(ServiceError):
    status_code = 400


def resolve_inside(folder: str | os.PathLike, *parts: str) -> Path:
    """Join ``parts`` under ``folder`` and refuse anything that ends up outside it.

    ``safe_join`` rejects ``..`` and absolute parts; the final ``resolve`` check
    also catches symbolic links inside the folder that point elsewhere.
    """
    root = Path(folder).resolve()
    joined = safe_join(str(root), *[str(p) for p in parts]) if parts else str(root)
    if joined is None:
        raise UnsafePathError(f"Path {'/'.join(map(str, parts))!r} is not allowed here.")
    resolved = Path(joined).resolve()
    if resolved != root and root not in resolved.parents:
        raise UnsafePathError(f"Path {'/'.join(map(str, parts))!r} leaves its data folder.")
    return resolved


def safe_filename(name: str, fallback: str = "file") -> str:
    """A storable file name from a user-supplied one (no folders, no odd characters)."""
    cleaned = secure_filename(name or "")
    return cleaned or fallback


class InsufficientStorage(ServiceError):
    status_code = 507


def check_free_disk(folder: str | os.PathLike, needed: int) -> None:
    """Refuse work that would fill the disk, with a message saying where and how much is free."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise InsufficientStorage(f"Only {free / 1024**3:.1f} GiB free where {folder} lives; "
                                  f"{needed / 1024**3:.1f} GiB are needed. Free some space (old sessions, exports, "
                                  "datasets) and try again.")


def remove_stale_files(folder: str | os.PathLike, pattern: str, older_than: float) -> int:
    """Delete ``pattern`` files left by a crash (e.g. half-received uploads), sparing any written to recently:
    another server process sharing the folder may still be writing it."""
    removed = 0
    cutoff = time.time() - older_than
    for path in Path(folder).glob(pattern):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
