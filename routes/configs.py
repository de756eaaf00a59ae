"""Saved configs API: save, load, list, delete, import (JSON or YAML upload) and export (download)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from routes.request_json import json_body
from services import configs
from services.errors import ServiceError

bp = Blueprint("configs", __name__)


@bp.post("/save")
def save():
    body = json_body()
    entry = configs.save(body.get("name"), body.get("config"), description=body.get("description"),
                         overwrite=bool(body.get("overwrite", True)))
    return jsonify(config=entry), 201


@bp.get("/load")
def load():
    name = request.args.get("name", "")
    return jsonify(name=name, config=configs.load(name))


@bp.get("/list")
def list_():
    return jsonify(configs=configs.list_configs())


@bp.delete("/<name>")
def delete(name: str):
    configs.delete(name)
    return jsonify(deleted=name)


@bp.post("/import")
def import_():
    upload = request.files.get("file")
    if upload is None:
        raise ServiceError("Send the config as a multipart field named 'file' (.json, .yaml or .yml).",
                           details=[{"path": "file", "message": "missing", "hint": ""}])
    entry = configs.import_file(upload.filename or "", upload.read(configs.MAX_IMPORT_BYTES + 1),
                                name=request.form.get("name") or None,
                                overwrite=request.form.get("overwrite") in ("1", "true", "on"))
    return jsonify(config=entry), 201


@bp.get("/export")
def export():
    filename, text = configs.export_text(request.args.get("name", ""))
    return Response(text, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
