"""Per-owner data folders: ``uploads/u7/…``, ``outputs/u7/…``. With no owner (the single-user studio) the
folder is the data folder itself, so a studio that later switches to accounts keeps its files where they are
(their rows, not their paths, change owner)."""
from __future__ import annotations

from pathlib import Path


def owner_folder(root: str | Path, owner_id: int | None) -> Path:
    """The owner's folder inside ``root`` (created). Owner ids are integers: nothing from a request names it."""
    base = Path(root)
    if owner_id is None:
        return base
    if not isinstance(owner_id, int) or isinstance(owner_id, bool) or owner_id <= 0:
        raise ValueError(f"owner id must be a positive integer, not {owner_id!r}")
    folder = base / f"u{owner_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def current_owner_folder(root: str | Path) -> Path:
    from services.auth.current import current_owner_id

    return owner_folder(root, current_owner_id())
