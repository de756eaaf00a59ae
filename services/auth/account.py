"""Deleting an account with all its data: the user's own "delete everything I made".

It acts as that user and goes through each domain's own delete (which removes files, ends children and
announces the deletion), so nothing here knows how a dataset or an export is stored. Work that is still
running is stopped first; what cannot end yet (a session still stopping, a batch test still running) makes the
request a 409 that says what to wait for, before anything is deleted. The user row goes last, and only when
nothing of theirs remains.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from extensions import db
from services.auth import audit
from services.auth.current import acting_as
from services.auth.principal import for_user
from services.errors import ConflictError, ServiceError
from services.models.auth import ApiToken, User, UserSecret

log = logging.getLogger(__name__)
STOP_WAIT_SECONDS = 15.0  # how long a deletion waits for the user's running sessions and exports to end


def active_admins() -> int:
    return db.session.execute(select(func.count(User.id)).where(User.role == "admin", User.status == "active")
                              ).scalar_one()


def _ids(model: type, owner_id: int, *where: Any) -> list[Any]:
    query = select(model.id).where(model.owner_id == owner_id, *where).order_by(model.id)
    return list(db.session.execute(query).scalars())


def _names(model: type, owner_id: int) -> list[str]:
    return list(db.session.execute(select(model.name).where(model.owner_id == owner_id)).scalars())


def _stop_running_work(owner_id: int) -> None:
    """Stop the user's queued and running sessions and exports, and wait (a while) for them to end."""
    from services.exports import get_export_service
    from services.exports.status import ACTIVE as EXPORT_ACTIVE
    from services.models import ExportJob, TrainingSession
    from services.training import get_training_service
    from services.training.status import ACTIVE as TRAINING_ACTIVE

    training_active = [s.value for s in TRAINING_ACTIVE]
    export_active = [s.value for s in EXPORT_ACTIVE]
    exports = get_export_service()
    for export_id in _ids(ExportJob, owner_id, ExportJob.status.in_(export_active)):
        with contextlib.suppress(ConflictError):  # it ended in between
            exports.cancel(export_id)
    training = get_training_service()
    for session_id in _ids(TrainingSession, owner_id, TrainingSession.status.in_(training_active)):
        with contextlib.suppress(ConflictError):
            training.stop(session_id)
    deadline = time.monotonic() + float(current_app.config.get("ACCOUNT_DELETE_WAIT", STOP_WAIT_SECONDS))
    while True:
        db.session.expire_all()  # the supervisors commit from their own threads
        busy = ([f"session {i}" for i in _ids(TrainingSession, owner_id, TrainingSession.status.in_(training_active))]
                + [f"export {i}" for i in _ids(ExportJob, owner_id, ExportJob.status.in_(export_active))])
        if not busy:
            return
        if time.monotonic() > deadline:
            raise ConflictError("Your running work is stopping (" + ", ".join(busy) + "): delete the account again "
                                "once it has stopped. Nothing has been deleted yet.", details=busy)
        time.sleep(0.2)


def _check_nothing_blocks(owner_id: int) -> None:
    """Work that cannot be stopped from here (batch tests and evaluations run to their end; a dataset being
    processed) is waited for: say so before deleting anything."""
    from services.background_jobs import ACTIVE, orphaned
    from services.datasets.records import DatasetStatus
    from services.models import BatchRun, DatasetRecord, Evaluation

    busy = [f"batch test {r.id}" for r in db.session.execute(
        select(BatchRun).where(BatchRun.owner_id == owner_id, BatchRun.status.in_(ACTIVE))).scalars()
        if not orphaned((r.settings or {}).get("owner"))]
    busy += [f"evaluation {r.id}" for r in db.session.execute(
        select(Evaluation).where(Evaluation.owner_id == owner_id, Evaluation.status.in_(ACTIVE))).scalars()
        if not orphaned((r.result or {}).get("owner"))]
    busy += [f"dataset {i} (processing)" for i in _ids(DatasetRecord, owner_id,
                                                      DatasetRecord.status == DatasetStatus.PROCESSING.value)]
    if busy:
        raise ConflictError("Some of your work is still running (" + ", ".join(busy) + "): wait for it to finish, "
                            "then delete the account. Nothing has been deleted yet.", details=busy)


def _versions(owner_id: int) -> list[tuple[str, int]]:
    from services.models.registry import ModelVersion, RegisteredModel

    return [(name, number) for name, number in db.session.execute(
        select(RegisteredModel.name, ModelVersion.version).join(ModelVersion.model)
        .where(ModelVersion.owner_id == owner_id).order_by(ModelVersion.id))]


def _delete_version(ref: tuple[str, int]) -> None:
    from services.deploy import get_deployer
    from services.registry import get_registry
    from services.registry.status import VersionStatus

    name, number = ref
    if get_registry().version(name, number).status == VersionStatus.DEPLOYED:
        get_deployer().undeploy(name, number)
    get_registry().delete(name, number)


def _delete_all(owner_id: int) -> list[str]:
    """Every owned thing through its service's delete; returns what could not be deleted."""
    from services import configs, projects, prompt_templates
    from services.datasets.records import delete_record
    from services.evaluation import get_batch_service, get_evaluation_service
    from services.exports import get_export_service
    from services.models import (BatchRun, CustomReward, DatasetRecord, Evaluation, ExportJob, Project,
                                 PromptTemplate, SavedConfigMeta, TestRun, TrainingSession, WizardDraft)
    from services.rewards.custom import delete_custom
    from services.training import get_training_service

    steps: list[tuple[str, Callable[[Any], None], list[Any]]] = [
        # Versions first: a deployed one is undeployed (its server stops), then its files go; sessions and
        # exports would otherwise refuse to go while a version serves from their files.
        ("model version", _delete_version, _versions(owner_id)),
        ("export", get_export_service().delete, _ids(ExportJob, owner_id)),
        ("evaluation", get_evaluation_service().delete, _ids(Evaluation, owner_id)),
        ("batch test", get_batch_service().delete, _ids(BatchRun, owner_id)),
        ("project", projects.delete, _ids(Project, owner_id)),  # with its runs
        ("session", get_training_service().delete, _ids(TrainingSession, owner_id)),
        ("dataset", delete_record, _ids(DatasetRecord, owner_id)),
        ("saved config", configs.delete, _names(SavedConfigMeta, owner_id)),
        ("custom reward", delete_custom, _ids(CustomReward, owner_id)),
        ("prompt template", prompt_templates.delete_template, _ids(PromptTemplate, owner_id)),
    ]
    left: list[str] = []
    for label, remove, idents in steps:
        for ident in idents:
            try:
                remove(ident)
            except ServiceError as error:
                db.session.rollback()
                if error.status_code != 404:  # gone already (a session's exports go with it)
                    left.append(f"{label} {ident}: {error.message}")
            except Exception:  # one broken item must not hide what else is left: logged, reported, kept
                db.session.rollback()
                log.exception("account deletion: %s %s could not be deleted", label, ident)
                left.append(f"{label} {ident}: an internal error (logged)")
    # Rows no service deletes one by one: the playground's test history, wizard drafts, the metadata of a
    # saved config whose file was already gone, the user's tokens and their tracker secrets.
    for model in (TestRun, WizardDraft, SavedConfigMeta, UserSecret):
        db.session.execute(delete(model).where(model.owner_id == owner_id))
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == owner_id))
    db.session.commit()
    return left


def delete_account(user: User, confirm: Any) -> dict[str, Any]:
    """Delete ``user`` and everything they own. ``confirm`` must be their username (typed by them)."""
    if not isinstance(confirm, str) or confirm != user.username:
        raise ServiceError(f"To delete the account, send confirm: \"{user.username}\" (your username).",
                           details=[{"path": "confirm", "message": "must equal your username", "hint": ""}])
    if user.role == "admin" and user.status == "active" and active_admins() <= 1:
        raise ConflictError("You are the last active administrator: promote another user to admin before "
                            "deleting this account, or the studio would have nobody to approve accounts.")
    username, user_id = user.username, user.id
    with acting_as(for_user(user, "session")):
        _check_nothing_blocks(user_id)
        _stop_running_work(user_id)
        left = _delete_all(user_id)
    if left:
        raise ConflictError("Some of your things could not be deleted, so the account stays: "
                            + "; ".join(left), details=left)
    from services.auth.users import revoke_credentials

    revoke_credentials(user)  # live Socket.IO connections end (the hooks), before the row is gone
    audit.record("user.deleted", target=f"user:{username}", actor_id=user_id, actor=username, commit=False)
    db.session.delete(db.session.get(User, user_id))
    db.session.commit()
    return {"deleted": username}
