"""Column types shared by the models.

``StoragePath``: with scale-out, every host mounts the shared storage (``TUNEWRIGHT_STORAGE``) where it likes, so
a path under it is stored relative (``@storage/outputs/u1/abc``) and read back under this process's own mount.
Without a storage folder the column is a plain string, and rows written before it read back unchanged."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

PREFIX = "@storage/"
_root: Path | None = None


def set_storage_root(path: str | None) -> None:
    """Called by the app factory with ``STORAGE`` (None: paths are stored as they are)."""
    global _root
    _root = Path(path).resolve() if path else None


def storage_root() -> Path | None:
    return _root


def to_stored(value: str) -> str:
    if _root is not None:
        path = Path(value)
        if path.is_absolute() and (path == _root or _root in path.parents):
            return PREFIX + path.relative_to(_root).as_posix()
    return value


def from_stored(value: str) -> str:
    if value.startswith(PREFIX):
        if _root is None:
            raise RuntimeError(f"{value!r} lies in the shared storage, but TUNEWRIGHT_STORAGE is not set here")
        return str(_root / value[len(PREFIX):])
    return value


class StoragePath(TypeDecorator):
    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_stored(str(value))

    def process_result_value(self, value, dialect):
        return None if value is None else from_stored(value)
