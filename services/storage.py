"""Resolve paths that come from requests strictly inside a data folder."""
from __future__ import annotations

import os
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
