"""The registry service: the only code that creates, names, aliases, archives and deletes model versions.

Versions are registered from a completed session (automatically, when the training service finishes it) or
from a completed export (by hand). Reads are scoped by owner (services/auth/scope.py): another user's model
answers 404 like one that does not exist. Deploying is services/deploy/'s job; this module only
records the status it reports.
"""
from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.methods import get_method
from extensions import db
from services.auth import audit
from services.auth.scope import owned, visible_owner
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models.exports import ExportJob
from services.models.registry import ModelAlias, ModelVersion, RegisteredModel
from services.models.training import TrainingSession
from services.output_base import output_roots
from services.registry import lineage as lineage_of
from services.registry.digest import content_digest
from services.registry.status import VersionStatus, check_transition

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
REF_RE = re.compile(r"^(?P<name>[^:@\s]+)(?::v(?P<version>\d{1,9})|@(?P<alias>[^:@\s]+))?$")

EXPORT_RESULTS = {"adapter": ("lora_adapter", "gguf"), "gguf": ("gguf", "gguf"), "merged": ("merged", "transformers")}


def inside_data_folders(path: Path) -> Path | None:
    """The resolved path when it lies inside an output root (``outputs/``, the Output Directory Base) or
    ``exports/`` (no symlink out), else None: the registry only ever hands out or deletes files there."""
    roots = [*output_roots(), Path(current_app.config["EXPORT_FOLDER"]).resolve()]
    target = path.resolve()
    if path.is_symlink() or not any(root in target.parents for root in roots):
        return None
    return target


def folder_kind(path: Path) -> tuple[str, str] | None:
    """(type, framework) of a method's result folder, told by what it holds; None when it holds no weights."""
    if (path / "adapter_config.json").is_file():
        return "lora_adapter", "peft"
    if (path / "vector_index.faiss").is_file():
        return "rag_index", "faiss"
    if (path / "config.json").is_file():
        return "llm", "transformers"
    return None


def model_name_for(text: str) -> str:
    """A registry name from a session's name: lower case, ``[a-z0-9._-]``, at most 100 characters."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:100]
    return slug or "model"


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ServiceError("A model name is 1-100 characters of a-z, 0-9, '.', '_' and '-', starting with a "
                           "letter or digit.", details=[{"path": "name", "message": "invalid model name"}])
    return name


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """``name``, ``name:v3`` or ``name@alias`` -> (name, version, alias)."""
    match = REF_RE.match(ref or "")
    if not match:
        raise NotFoundError(f"Model {ref[:200]!r} not found: name it as name, name:v3 or name@alias.")
    version = match.group("version")
    return match.group("name"), int(version) if version else None, match.group("alias")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


class RegistryService:
    def __init__(self, app: Flask):
        self.app = app

    # ---- reads ---------------------------------------------------------------------------------------------
    def model(self, name: str, *, admin_ok: bool = False) -> RegisteredModel:
        if not isinstance(name, str) or not NAME_RE.match(name):
            # No model can have this name; asking the database anyway would pass it a NUL or an endless string
            # (PostgreSQL refuses NUL in text: a 500).
            raise NotFoundError(f"Model {str(name)[:200]!r} not found.")
        query = owned(select(RegisteredModel).filter_by(name=name), RegisteredModel, admin_ok=admin_ok)
        models = list(db.session.execute(query).scalars())
        mine = [m for m in models if visible_owner(m.owner_id)]
        model = (mine or models or [None])[0]
        if model is None:
            raise NotFoundError(f"Model {name[:200]!r} not found.")
        return model

    def version(self, name: str, number: Any, *, admin_ok: bool = False) -> ModelVersion:
        model = self.model(name, admin_ok=admin_ok)
        try:
            number = int(str(number).lstrip("v"))
        except ValueError:
            raise NotFoundError(f"Version {str(number)[:20]!r} of {name!r} not found.") from None
        for row in model.versions:
            if row.version == number:
                return row
        raise NotFoundError(f"Version {number} of {name!r} not found.")

    def resolve(self, ref: str, *, deployed_only: bool = False) -> ModelVersion:
        """``name`` (its newest version, or with ``deployed_only`` its newest deployed one), ``name:v3`` or
        ``name@alias``."""
        name, number, alias = parse_ref(ref)
        model = self.model(name)
        if number is not None:
            found = next((v for v in model.versions if v.version == number), None)
        elif alias is not None:
            found = next((a.target for a in model.aliases if a.alias == alias), None)
        else:
            candidates = [v for v in model.versions
                          if (v.status == VersionStatus.DEPLOYED if deployed_only else v.status != "archived")]
            found = candidates[-1] if candidates else None
        if found is None or (deployed_only and found.status != VersionStatus.DEPLOYED):
            raise NotFoundError(f"Model {ref[:200]!r} not found" + (" among deployed models." if deployed_only
                                                                    else "."))
        return found

    def list_models(self, *, everyone: bool = False, type_: str | None = None, status: str | None = None,
                    query: str | None = None) -> list[dict[str, Any]]:
        stmt = owned(select(RegisteredModel).order_by(RegisteredModel.name), RegisteredModel, admin_ok=everyone)
        result = []
        for model in db.session.execute(stmt).scalars():
            if query and query.lower() not in model.name:
                continue
            versions = [v for v in model.versions if (not type_ or v.type == type_)
                        and (not status or v.status == status)]
            if versions:
                result.append(self.model_dict(model, versions))
        return result

    def versions_of_owner(self, owner_id: int | None) -> list[ModelVersion]:
        return list(db.session.execute(select(ModelVersion).filter_by(owner_id=owner_id)).scalars())

    def deployed(self) -> list[ModelVersion]:
        """The caller's deployed versions (what ``GET /v1/models`` lists)."""
        stmt = owned(select(ModelVersion).filter_by(status=VersionStatus.DEPLOYED.value), ModelVersion)
        return list(db.session.execute(stmt.order_by(ModelVersion.id)).scalars())

    def model_dict(self, model: RegisteredModel, versions: list[ModelVersion] | None = None) -> dict[str, Any]:
        versions = model.versions if versions is None else versions
        return {"name": model.name, "owner_id": model.owner_id, "description": model.description,
                "created_at": _iso(model.created_at),
                "aliases": {a.alias: a.target.version for a in model.aliases},
                "versions": [self.version_dict(v) for v in versions]}

    def version_dict(self, row: ModelVersion, *, lineage: bool = True) -> dict[str, Any]:
        data = {
            "name": row.model.name, "version": row.version, "ref": row.ref, "digest": row.digest, "type": row.type,
            "framework": row.framework, "base_model": row.base_model, "method": row.method, "status": row.status,
            "status_reason": row.status_reason, "size_bytes": row.size_bytes, "owner_id": row.owner_id,
            "session_id": row.session_id, "export_id": row.export_id, "created_at": _iso(row.created_at),
            "aliases": sorted(a.alias for a in row.model.aliases if a.version_id == row.id),
            "metrics": row.metrics or {}, "files": row.files or [], "deployment": row.deployment,
        }
        if lineage:
            data["lineage"] = {**(row.lineage or {}), "exports": lineage_of.exports_of(row.session_id)}
        return data

    # ---- registration --------------------------------------------------------------------------------------
    def register_session(self, session: TrainingSession, name: str | None = None,
                         finishing: bool = False) -> tuple[ModelVersion, bool]:
        """The version holding this completed session's weights: ``(version, created)``. ``finishing``: the
        training service registers a run whose child reported success, just before marking it completed."""
        if session.status != "completed" and not finishing:
            raise ConflictError(f"Session {session.id} is {session.status}: only a completed run is registered.")
        config = session.config or {}
        method = config.get("method") or "grpo"
        path = Path(session.output_dir) / get_method(method).outputs[0]
        kind = folder_kind(path)
        if kind is None:
            raise ConflictError(f"Session {session.id} has no trained weights to register.")
        type_, framework = kind
        return self._register(
            owner_id=session.owner_id, name=name or model_name_for(session.name), path=path, type_=type_,
            framework=framework, base_model=(config.get("model") or {}).get("name"), method=method,
            session_id=session.id, export_id=None, metrics=lineage_of.session_metrics(session),
            lineage=lineage_of.session_lineage(session))

    def register_export(self, export: ExportJob, name: str | None = None) -> tuple[ModelVersion, bool]:
        if export.status != "completed":
            raise ConflictError(f"Export {export.id} is {export.status}: only a completed export is registered.")
        session = db.session.get(TrainingSession, export.session_id)
        type_, framework = EXPORT_RESULTS.get(export.format, ("llm", "transformers"))
        folder = Path(export.export_dir)
        path = folder / "model" if export.format == "merged" else folder
        if export.format == "gguf":
            ggufs = sorted(folder.glob("*.gguf"))
            path = ggufs[0] if len(ggufs) == 1 else folder
        config = session.config if session is not None else {}
        lineage = lineage_of.session_lineage(session) if session is not None else {}
        lineage["export"] = {"id": export.id, "format": export.format, "quantization": export.quantization,
                             "verification": (export.manifest or {}).get("verification")}
        metrics = lineage_of.session_metrics(session) if session is not None else {}
        return self._register(
            owner_id=export.owner_id, name=name or model_name_for(session.name if session else export.id),
            path=path, type_=type_, framework=framework, base_model=(config.get("model") or {}).get("name"),
            method=config.get("method") or "grpo", session_id=export.session_id, export_id=export.id,
            metrics=metrics, lineage=lineage)

    def _register(self, *, owner_id: int | None, name: str, path: Path, type_: str, framework: str,
                  base_model: str | None, method: str | None, session_id: str | None, export_id: str | None,
                  metrics: dict, lineage: dict) -> tuple[ModelVersion, bool]:
        check_name(name)
        try:
            digest, files, size = content_digest(path)
        except FileNotFoundError as exc:
            raise ConflictError(f"Nothing to register: {exc}") from None
        existing = db.session.execute(select(ModelVersion).filter_by(owner_id=owner_id, digest=digest)
                                      ).scalar_one_or_none()
        if existing is not None:
            return existing, False
        model = db.session.execute(select(RegisteredModel).filter_by(owner_id=owner_id, name=name)
                                   ).scalar_one_or_none()
        if model is None:
            model = RegisteredModel(owner_id=owner_id, name=name)
            db.session.add(model)
            db.session.flush()
        number = (db.session.scalar(select(func.max(ModelVersion.version)).filter_by(model_id=model.id)) or 0) + 1
        row = ModelVersion(model_id=model.id, owner_id=owner_id, version=number, digest=digest, type=type_,
                           framework=framework, base_model=base_model, method=method,
                           status=VersionStatus.READY.value, path=str(path), size_bytes=size, files=files,
                           session_id=session_id, export_id=export_id, metrics=metrics, lineage=lineage)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:  # the same content registered at the same moment: that one wins
            db.session.rollback()
            existing = db.session.execute(select(ModelVersion).filter_by(owner_id=owner_id, digest=digest)
                                          ).scalar_one_or_none()
            if existing is None:
                raise
            return existing, False
        log.info("registered %s (%s) from %s", row.ref, digest[:19], session_id or export_id)
        return row, True

    def register_from_request(self, data: dict[str, Any]) -> tuple[ModelVersion, bool]:
        """``{session_id}`` or ``{export_id}``, optionally ``name``: the caller's own session or export only."""
        name = data.get("name")
        if name is not None:
            check_name(name)
        if bool(data.get("session_id")) == bool(data.get("export_id")):
            raise ServiceError("Send one of session_id or export_id.",
                               details=[{"path": "session_id", "message": "one of session_id or export_id"}])
        if data.get("session_id"):
            from services.training import get_training_service

            return self.register_session(get_training_service().get(str(data["session_id"])), name)
        from services.exports import get_export_service

        return self.register_export(get_export_service().get(str(data["export_id"])), name)

    def register_completed(self, session_id: str) -> ModelVersion | None:
        """Called by the training service when a session completes: registration never fails the run, it
        logs why it could not register."""
        session = db.session.get(TrainingSession, session_id)
        if session is None:
            return None
        try:
            row, _ = self.register_session(session, finishing=True)
            return row
        except Exception:
            db.session.rollback()
            log.exception("could not register the model of session %s", session_id)
            return None

    # ---- changes -------------------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: Any, number: Any) -> ModelVersion:
        if not isinstance(alias, str) or not ALIAS_RE.match(alias) or alias.startswith("v") and alias[1:].isdigit():
            raise ServiceError("An alias is 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter, and "
                               "not v<number>.", details=[{"path": "alias", "message": "invalid alias"}])
        row = self.version(name, number)
        existing = next((a for a in row.model.aliases if a.alias == alias), None)
        if existing is None:
            db.session.add(ModelAlias(model_id=row.model_id, alias=alias, version_id=row.id))
        else:
            existing.version_id = row.id
        db.session.commit()
        db.session.refresh(row.model)
        return row

    def delete_alias(self, name: str, alias: str) -> None:
        model = self.model(name)
        found = next((a for a in model.aliases if a.alias == alias), None)
        if found is None:
            raise NotFoundError(f"Alias {alias[:64]!r} of {name!r} not found.")
        db.session.delete(found)
        db.session.commit()

    def set_status(self, row: ModelVersion, new: VersionStatus, reason: str | None = None,
                   deployment: dict | None = None) -> None:
        if row.status != new.value:
            check_transition(row.status, new, row.ref)
            row.status = new.value
        row.status_reason = reason
        if deployment is not None:
            row.deployment = deployment
        db.session.commit()

    def archive(self, name: str, number: Any, archived: bool = True) -> ModelVersion:
        row = self.version(name, number)
        self.set_status(row, VersionStatus.ARCHIVED if archived else VersionStatus.READY)
        return row

    def delete(self, name: str, number: Any) -> None:
        """Remove the version and its weight files, but only files inside the data folders; refused while the
        version is deployed."""
        row = self.version(name, number)
        if row.status == VersionStatus.DEPLOYED:
            raise ConflictError(f"{row.ref} is deployed: undeploy it before deleting it.")
        path = Path(row.path)
        shared = db.session.scalar(select(func.count()).select_from(ModelVersion)
                                   .where(ModelVersion.path == row.path, ModelVersion.id != row.id)) or 0
        if not shared:
            self._remove_files(path)
        model, ref = row.model, row.ref
        db.session.delete(row)
        db.session.flush()
        if not model.versions or all(v.id == row.id for v in model.versions):
            db.session.delete(model)
        audit.record("model.deleted", target=f"model:{ref}", commit=False)
        db.session.commit()

    def forget(self, *, session_id: str | None = None, export_id: str | None = None) -> int:
        """Before a session or an export is deleted (its folder goes with it): its versions' rows go too;
        refused while one of them is deployed. Returns how many were removed."""
        column, value = (ModelVersion.session_id, session_id) if session_id else (ModelVersion.export_id, export_id)
        query = select(ModelVersion).where(column == value)
        rows = list(db.session.execute(query).scalars())
        deployed = [row.ref for row in rows if row.status == VersionStatus.DEPLOYED]
        if deployed:
            raise ConflictError(f"{', '.join(deployed)} serve{'s' if len(deployed) == 1 else ''} from these files: "
                                "undeploy first.")
        for row in rows:
            model = row.model
            db.session.delete(row)
            db.session.flush()
            if not model.versions or all(v.id == row.id for v in model.versions):
                db.session.delete(model)
        db.session.flush()
        return len(rows)

    def _remove_files(self, path: Path) -> None:
        target = inside_data_folders(path)
        if target is None:
            log.warning("not removing %s: outside the data folders", path)
            return
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.is_file():
            target.unlink()
