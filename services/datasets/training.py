"""Turn a training config's ``dataset.source`` into a :class:`DatasetSpec` the engine can load anywhere."""
from __future__ import annotations

import os
from typing import Any

from flask import current_app

from core.datasets import BUILTINS, DatasetSpec, FieldMapping, find_entry, mapping_problems
from core.datasets.hub import HUB_ID, hub_status, is_cached
from services.datasets.catalog import HubUnavailable
from services.datasets.records import DatasetStatus, get_record, record_of_owner, stored_file
from services.errors import NotFoundError, ServiceError

SOURCE_HELP = ("use builtin:<name> (" + ", ".join(f"builtin:{n}" for n in BUILTINS) + "), dataset:<id> for an "
               "uploaded or added dataset, project:<id> for a started project's mix, or a Hugging Face id like "
               "openai/gsm8k")


CALLER = object()  # ``owner``: the current principal (a request); a run's job passes its session's owner


def resolve_for_training(source: str, split: str = "train", instruction_field: str | None = None,
                         response_field: str | None = None, *, owner: Any = CALLER) -> DatasetSpec:
    """The spec for ``source``; raises ServiceError (400/503) or NotFoundError with a message for the UI.

    File paths are refused: users train on files they uploaded, by id. A ``dataset:<id>`` of another user is a
    404, as a missing one: by default "another" than the caller; a job started later (dispatched from whoever's
    request) passes ``owner=session.owner_id`` so its own dataset resolves and no other does. Nobody trains
    from another user's dataset, admins included.
    """
    if not isinstance(source, str) or not source.strip():
        raise ServiceError(f"No dataset source given: {SOURCE_HELP}.")
    source = source.strip()
    split = split or "train"
    overrides = {"instruction": instruction_field, "response": response_field}
    if source.startswith("builtin:"):
        return _builtin(source.split(":", 1)[1], split, overrides)
    if source.startswith("dataset:"):
        return _stored(source.split(":", 1)[1], overrides, owner)
    if source.startswith("project:"):
        return _project(source.split(":", 1)[1], owner)
    if HUB_ID.match(source) and not os.path.exists(source):
        return _hub(source, split, overrides)
    raise ServiceError(f"Unknown dataset source {source!r}: {SOURCE_HELP}. Local paths are not accepted; "
                       "upload the file on the Datasets page instead.")


def _builtin(name: str, split: str, overrides: dict) -> DatasetSpec:
    builtin = BUILTINS.get(name)
    if builtin is None:
        raise NotFoundError(f"No built-in dataset named {name!r}; choose one of {', '.join(BUILTINS)}.")
    if split not in builtin.splits:
        raise ServiceError(f"The built-in dataset {name!r} has no split {split!r}; use {' or '.join(builtin.splits)}.")
    return DatasetSpec("builtin", name, split=split, mapping=builtin.mapping.merged(**overrides))


def _stored(dataset_id: str, overrides: dict, owner: Any) -> DatasetSpec:
    record = get_record(dataset_id) if owner is CALLER else record_of_owner(dataset_id, owner)
    if record.status != DatasetStatus.READY.value:
        detail = f": {record.error}" if record.status == DatasetStatus.FAILED.value and record.error else ""
        raise ServiceError(f"Dataset {record.name!r} (id {record.id}) is {record.status}{detail}; "
                           "only Ready datasets can be used for training.")
    mapping = FieldMapping.from_dict(record.mapping).merged(**overrides)
    columns = [c["name"] for c in (record.columns or [])]
    problems = mapping_problems(mapping, columns)
    if problems:
        raise ServiceError(f"Dataset {record.name!r} cannot be used as mapped.", details=problems)
    if record.source_kind == "upload":
        path = stored_file(record)
        if not path.is_file():
            raise ServiceError(f"The file of dataset {record.name!r} is missing from the upload folder.")
        return DatasetSpec("file", str(path), format=record.format, mapping=mapping)
    return DatasetSpec("hub", record.hub_id, split=record.split or "train", config_name=record.config_name,
                       mapping=mapping, cache_dir=current_app.config.get("HF_DATASETS_CACHE"))


def _project(project_id: str, owner: Any) -> DatasetSpec:
    """The frozen mix of the project's latest run (a run itself reads the mix in its own folder)."""
    from core.projects.run_data import mix_spec
    from services.projects.runs import latest_mix_dir

    return mix_spec(latest_mix_dir(project_id, None if owner is CALLER else owner, as_caller=owner is CALLER))


def _hub(hub_id: str, split: str, overrides: dict) -> DatasetSpec:
    entry = find_entry(hub_id)
    if entry is not None:
        hub_id = entry.hub_id
        if split not in entry.splits:
            # The saved config's default "train" meets a dataset without one (OpenMath has "cot"...).
            if split == "train":
                split = entry.split
            else:
                raise ServiceError(f"{hub_id} has no split {split!r}; use one of {', '.join(entry.splits)}.")
    config_name = entry.config_name if entry else None
    cache = current_app.config.get("HF_DATASETS_CACHE")
    online, reason = hub_status()
    if not online and not is_cached(hub_id, config_name, cache):
        raise HubUnavailable(f"{hub_id} is not available: {reason}")
    mapping = (entry.mapping if entry else FieldMapping()).merged(**overrides)
    return DatasetSpec("hub", hub_id, split=split, config_name=config_name, mapping=mapping, cache_dir=cache)
