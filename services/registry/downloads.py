"""Handing a version's weights out: the owner's only (like an export), recorded in the audit log."""
from __future__ import annotations

from pathlib import Path

from services.auth import audit
from services.errors import ConflictError
from services.models.registry import ModelVersion
from services.registry import get_registry
from services.registry.versions import inside_data_folders


def download_target(name: str, number: str) -> tuple[ModelVersion, Path]:
    row = get_registry().version(name, number)
    target = inside_data_folders(Path(row.path))
    if target is None:
        raise ConflictError(f"{row.ref}'s files are outside the data folders: they cannot be downloaded here.")
    if not target.exists():
        raise ConflictError(f"{row.ref}'s files are gone from {target.name}.")
    audit.record("model.downloaded", target=f"model:{row.ref}")
    return row, target
