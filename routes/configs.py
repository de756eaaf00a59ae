"""Saved configs API: save, load, list, delete, import (JSON or YAML upload) and export (download)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.common import Deleted
from routes.schemas.configs import (SavedConfigEnvelope, SavedConfigImport, SavedConfigList, SavedConfigLoaded,
                                    SavedConfigName, SavedConfigSave)
from services import configs
from services.errors import ServiceError

bp = Blueprint("configs", __name__)


@bp.post("/save")
@api.validate(json=SavedConfigSave, resp=Responses(HTTP_201=SavedConfigEnvelope), tags=["configs"])
def save():
    """Validate a training config and save it under a name."""
    body = json_body()
    entry = configs.save(body.get("name"), body.get("config"), description=body.get("description"),
                         overwrite=bool(body.get("overwrite", True)))
    return jsonify(config=entry), 201


@bp.get("/load")
@api.validate(query=SavedConfigName, resp=Responses(HTTP_200=SavedConfigLoaded), tags=["configs"])
def load():
    """A preset or saved config, validated, with every default filled in."""
    name = request.args.get("name", "")
    return jsonify(name=name, config=configs.load(name))


@bp.get("/list")
@api.validate(resp=Responses(HTTP_200=SavedConfigList), tags=["configs"])
def list_():
    """The shipped presets and the caller's saved configs."""
    return jsonify(configs=configs.list_configs())


@bp.delete("/<name>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["configs"])
def delete(name: str):
    """Delete one of the caller's saved configs (presets cannot be deleted)."""
    configs.delete(name)
    return jsonify(deleted=name)


@bp.post("/import")
# skip_validation: SpecTree's form validation reads request.form first, which would take the upload before the view
# reads it (request.files); the model documents the form, the view and services/configs.py check it.
@api.validate(form=SavedConfigImport, resp=Responses(HTTP_201=SavedConfigEnvelope), tags=["configs"],
              skip_validation=True)
def import_():
    """Save an uploaded JSON or YAML config file."""
    upload = request.files.get("file")
    if upload is None:
        raise ServiceError("Send the config as a multipart field named 'file' (.json, .yaml or .yml).",
                           details=[{"path": "file", "message": "missing", "hint": ""}])
    entry = configs.import_file(upload.filename or "", upload.read(configs.MAX_IMPORT_BYTES + 1),
                                name=request.form.get("name") or None,
                                overwrite=request.form.get("overwrite") in ("1", "true", "on"))
    return jsonify(config=entry), 201


@bp.get("/export")
@api.validate(query=SavedConfigName, tags=["configs"])
def export():
    """Download a preset or saved config as a JSON file."""
    filename, text = configs.export_text(request.args.get("name", ""))
    return Response(text, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
