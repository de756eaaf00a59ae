"""What a project's dataset references point at: a check for the validator, and mix sources for the builder.

A reference is ``dataset:<id>`` (the caller's Ready dataset; another user's is reported like a missing one) or
``builtin:<name>`` (shared by everyone). Hub-only datasets train like files once added on the Datasets page.
"""
from __future__ import annotations

from typing import Any

from core.datasets import BUILTINS
from core.projects.spec import ProjectBody
from services.datasets.records import DatasetStatus, get_record, record_of_owner
from services.errors import NotFoundError, ServiceError


def dataset_problem(key: str, owner: Any = None, *, as_caller: bool = True) -> str | None:
    """Why ``key`` cannot feed a project now, or None. ``as_caller``: scoped to the request's principal; else to
    ``owner`` (a start dispatched later)."""
    kind, _, ident = key.partition(":")
    if kind == "builtin":
        return None if ident in BUILTINS else f"there is no built-in dataset {ident!r} ({', '.join(BUILTINS)})"
    try:
        record = get_record(ident) if as_caller else record_of_owner(ident, owner)
    except NotFoundError:
        return f"dataset {ident} does not exist or is not yours"
    if record.status != DatasetStatus.READY.value:
        return f"dataset {record.name!r} (id {record.id}) is {record.status}; only Ready datasets can be mixed"
    return None


def mix_sources(body: ProjectBody, owner_id: int | None) -> list:
    """One :class:`core.projects.mix.MixSource` per dataset reference, resolved as the project's owner."""
    from core.projects.mix import MixSource
    from services.datasets.training import resolve_for_training

    sources = []
    for trait in body.traits:
        for share in trait.datasets:
            try:
                spec = resolve_for_training(share.key, "train", owner=owner_id)
            except NotFoundError:
                raise ServiceError(f"{share.key} does not exist or is not yours.") from None
            rows, checksum, label = None, None, share.key
            if share.dataset_id is not None:
                record = record_of_owner(share.dataset_id, owner_id)
                label, checksum = record.name, record.sha256
                # The profile's count; the loader skips rows with an empty prompt, and the builder reports the
                # rows it really found when they are fewer.
                rows = record.row_count
            sources.append(MixSource(key=share.key, trait=trait.trait_type, label=label,
                                     percentage=share.percentage, spec=spec, rows_available=rows,
                                     checksum=checksum))
    return sources


def projects_using_dataset(dataset_id: int) -> list[str]:
    """Projects whose traits name this dataset: it must not vanish under them (remove it from them first)."""
    from sqlalchemy import select

    from extensions import db
    from services.models.projects import Project

    found = []
    for project_id, name, traits in db.session.execute(select(Project.id, Project.name, Project.traits)):
        if any(share.get("dataset_id") == dataset_id for trait in traits or [] for share in trait.get("datasets", [])):
            found.append(f"project {name!r} (id {project_id})")
    return found
