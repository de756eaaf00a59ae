"""Projects: create, check, preview, start, delete. A project's run is an ordinary training session (same
queue, monitor, charts, registry), whose dataset is the project's frozen mix (``dataset.source`` =
``project:<id>``) and whose folder lies in the project's output directory.
"""
from __future__ import annotations

import contextlib
import copy
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.model_registry import Availability, availability
from core.projects.spec import ProjectBody, ProjectValidationError, parse_body, rule_errors
from core.training_config import ConfigValidationError, parse_config
from extensions import db
from services.auth import audit
from services.auth.scope import get_owned, new_owner_id, owned
from services.errors import ConflictError, ServiceError
from services.models.projects import Project
from services.projects.records import body_of, run_of
from services.projects.references import dataset_problem, mix_sources
from services.storage import resolve_inside

# The project decides these; a training config inside the project may not.
FIXED_CONFIG_KEYS = {("name",): "name", ("description",): "description", ("method",): "training_type",
                     ("model", "name"): "base_model", ("dataset", "source"): "traits"}
PREVIEW_TOKEN_SAMPLE = 500


def run_config(body: ProjectBody, project_id: int) -> dict[str, Any]:
    """The training config of a run: the project's settings, its model, method and mix as the dataset."""
    config = copy.deepcopy(body.config)
    config.update(name=body.name, description=body.description[:2000], method=body.training_type)
    config.setdefault("model", {})["name"] = body.base_model
    config.setdefault("dataset", {})["source"] = f"project:{project_id}"
    return config


def _config_errors(body: ProjectBody) -> list[dict[str, str]]:
    errors = []
    for path, owner_field in FIXED_CONFIG_KEYS.items():
        section: Any = body.config
        for part in path[:-1]:
            section = section.get(part) if isinstance(section, dict) else None
        if isinstance(section, dict) and path[-1] in section:
            errors.append({"path": "config." + ".".join(path), "message": f"is set by the project's {owner_field}",
                           "hint": "Remove it from config."})
    if errors:
        return errors
    try:
        parse_config(run_config(body, 1))
    except ConfigValidationError as exc:
        return [{**e, "path": "config." + e["path"]} for e in exc.errors]
    return []


def _model_errors(body: ProjectBody) -> list[dict[str, str]]:
    from core.methods import get_method

    errors = []
    status, reason = availability(body.base_model, current_app.config["MODEL_CACHE"])
    if status is Availability.UNAVAILABLE:
        errors.append({"path": "base_model", "message": reason, "hint": "Pick a model on the Models page."})
    unavailable = get_method(body.training_type).unavailable_reason()
    if unavailable:
        errors.append({"path": "training_type", "message": unavailable, "hint": ""})
    return errors


def default_folder_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "project"


def _output_dir(body: ProjectBody, owner_id: int | None, create: bool) -> Path:
    from services.output_base import resolve_output_dir

    return resolve_output_dir(body.output_dir, owner_id, default_name=default_folder_name(body.name), create=create)


def parse(data: Any, owner_id: int | None, *, as_caller: bool = True, create_dir: bool = True
          ) -> tuple[ProjectBody, Path]:
    """The body and its resolved output folder, or ServiceError listing every problem at once."""
    folder = None
    try:
        body = parse_body(data)
    except ProjectValidationError as exc:
        raise ServiceError("The project is not valid: " + str(exc), details=exc.errors) from None
    errors = rule_errors(body, lambda key: dataset_problem(key, owner_id, as_caller=as_caller))
    errors += _model_errors(body) + _config_errors(body)
    try:
        folder = _output_dir(body, owner_id, create_dir and not errors)
    except ServiceError as exc:
        errors.append({"path": "output_dir", "message": exc.message, "hint": ""})
    if errors or folder is None:
        raise ServiceError("The project is not valid: " + "; ".join(f"{e['path']}: {e['message']}" for e in errors),
                           details=errors)
    return body, folder


def _apply(project: Project, body: ProjectBody, folder: Path) -> None:
    data = body.model_dump(mode="json")
    for field in ("name", "description", "base_model", "training_type", "max_rows", "traits", "mix", "config"):
        setattr(project, field, data[field])
    project.output_dir = str(folder)


def _commit_named(project: Project) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConflictError(f"You have a project named {project.name!r} already; pick another name.") from None


# -- reads ---------------------------------------------------------------------------------------------------
def list_projects() -> list[Project]:
    return list(db.session.execute(owned(select(Project), Project).order_by(Project.created_at.desc())).scalars())


def get_project(project_id: int, *, admin_ok: bool = False) -> Project:
    return get_owned(Project, project_id, admin_ok=admin_ok, label="Project")


# -- commands ------------------------------------------------------------------------------------------------
def check(data: Any) -> dict[str, Any]:
    """The wizard's validation: the same rules as create, nothing stored (the folder is not created)."""
    try:
        body, folder = parse(data, new_owner_id(), create_dir=False)
    except ServiceError as exc:
        return {"valid": False, "errors": exc.details or [{"path": "", "message": exc.message, "hint": ""}]}
    return {"valid": True, "errors": [], "output_dir": str(folder), "max_rows": body.max_rows}


def create(data: Any) -> Project:
    owner = new_owner_id()
    body, folder = parse(data, owner)
    project = Project(owner_id=owner, status="draft", runs=[])
    _apply(project, body, folder)
    db.session.add(project)
    _commit_named(project)
    audit.record("project.created", target=f"project:{project.id}")
    return project


def update(project_id: int, data: Any) -> Project:
    """A partial body merged into the stored one, validated whole. A running project keeps its settings."""
    project = get_project(project_id)
    if not isinstance(data, dict):
        raise ServiceError("The changes must be a JSON object.")
    _refuse_while_active(project, "edited")
    body, folder = parse({**body_of(project), **data}, project.owner_id)
    _apply(project, body, folder)
    _commit_named(project)
    return project


def delete(project_id: int) -> None:
    """The project, its runs (through the training service: their exports and registry entries go with them)
    and its output folder when nothing else is left in it."""
    from services.training import get_training_service

    project = get_project(project_id)
    _refuse_while_active(project, "deleted")
    training = get_training_service()
    for session_id in list(project.runs or []):
        if training.exists(session_id):
            training.delete(session_id)
    folder = Path(project.output_dir)
    db.session.delete(project)
    db.session.commit()
    try:
        folder.rmdir()  # only when empty: the folder may hold the user's own files
    except OSError:
        pass
    audit.record("project.deleted", target=f"project:{project_id}")


def _refuse_while_active(project: Project, verb: str) -> None:
    from services.training.status import ACTIVE, Status

    run = run_of(project)
    if run is not None and Status(run.status) in ACTIVE:
        raise ConflictError(f"Project {project.name!r} is {run.status}: stop its run before it can be {verb}.")


def preview(data_or_id: Any) -> dict[str, Any]:
    """Rows, shares of rows and tokens, duplication and shortfalls per dataset, before anything is written."""
    from services.projects.tokens import token_counter

    if isinstance(data_or_id, int):
        project = get_project(data_or_id)
        owner, data = project.owner_id, body_of(project)
    else:
        owner, data = new_owner_id(), data_or_id
    body, _ = parse(data, owner, create_dir=False)
    sources = mix_sources(body, owner)
    count, note = token_counter(body.base_model)
    with _readable():
        plan = _plan(body, sources, _tokens_per_row(sources, count, body.mix.seed))
    return {**plan.to_dict(), "tokens_note": note}


def _plan(body: ProjectBody, sources: list, tokens: dict[str, float] | None):
    from core.projects.mix import plan_mix

    return plan_mix(sources, body.max_rows, unit=body.mix.unit, trait_weights=body.mix.trait_weights,
                    tokens_per_row=tokens, upsample=body.mix.upsample,
                    eval_rows_per_trait=body.mix.eval_rows_per_trait)


def _tokens_per_row(sources: list, count, seed: int) -> dict[str, float]:
    from core.projects.mix import estimate_tokens_per_row

    return {s.key: estimate_tokens_per_row(s.spec, count, sample=PREVIEW_TOKEN_SAMPLE, seed=seed) for s in sources}


@contextlib.contextmanager
def _readable():
    """A dataset that cannot be read or mixed (a bad row, a Hub dataset gone offline, an empty source) is the
    user's to fix: a 400 naming it, never a 500."""
    from core.datasets import DatasetFormatError, DatasetUnavailableError
    from core.projects.mix import MixError

    try:
        yield
    except (MixError, DatasetFormatError, DatasetUnavailableError) as exc:
        raise ServiceError(f"The mix cannot be built: {exc}") from None


def start(project_id: int, priority: str = "normal") -> Project:
    """Check everything again, freeze the mix into the new run's folder, then queue the run."""
    from core.projects.mix import build_mix
    from services.projects.tokens import token_counter
    from services.training import get_training_service

    project = get_project(project_id)
    _refuse_while_active(project, "started again")
    body, folder = parse(body_of(project), project.owner_id)
    training = get_training_service()
    session_id = uuid.uuid4().hex[:12]
    while training.exists(session_id):
        session_id = uuid.uuid4().hex[:12]
    run_dir = resolve_inside(folder, session_id)
    sources = mix_sources(body, project.owner_id)
    with _readable():
        tokens = _tokens_per_row(sources, token_counter(body.base_model)[0], body.mix.seed) \
            if body.mix.unit == "tokens" else None
        try:
            manifest = build_mix(_plan(body, sources, tokens), sources, run_dir / "mix", body.mix.seed)
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)  # a half-built mix is nobody's
            raise
    previous = (project.session_id, list(project.runs or []), project.manifest_sha256, project.validation)
    project.session_id, project.runs = session_id, [*previous[1], session_id]
    project.manifest_sha256, project.validation, project.status = manifest["manifest_sha256"], None, "started"
    db.session.commit()
    try:
        training.create(run_config(body, project.id), session_id=session_id, priority=priority,
                        output_parent=folder)
    except Exception:
        db.session.rollback()
        project.session_id, project.runs, project.manifest_sha256, project.validation = previous
        db.session.commit()
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    audit.record("project.started", target=f"project:{project.id}", detail={"session_id": session_id})
    return project


def manifest(project_id: int) -> dict[str, Any]:
    """The frozen manifest of the project's latest run."""
    import json

    project = get_project(project_id, admin_ok=True)
    run = run_of(project)
    if run is None:
        raise ConflictError(f"Project {project.name!r} has not been started: its mix is frozen when it starts.")
    path = Path(run.output_dir) / "mix" / "manifest.json"
    if not path.is_file():
        raise ServiceError(f"The manifest of run {run.id} is missing from {path.parent}.", status_code=410)
    return json.loads(path.read_text(encoding="utf-8"))
