"""Model registry API (``/api/registry``): list, inspect, register, alias, archive, delete, download.

Deploy and undeploy are in routes/deploy.py (same URL prefix)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file

from routes.request_json import json_body
from services.archive import stream_tar_gz
from services.registry import get_registry
from services.registry.downloads import download_target

bp = Blueprint("registry", __name__)


@bp.get("/models")
def list_models():
    args = request.args
    return jsonify(models=get_registry().list_models(
        everyone=args.get("all") == "1", type_=args.get("type") or None, status=args.get("status") or None,
        query=args.get("q") or None))


@bp.get("/models/<name>")
def model(name: str):
    registry = get_registry()
    return jsonify(registry.model_dict(registry.model(name, admin_ok=True)))


@bp.get("/models/<name>/versions/<version>")
def version(name: str, version: str):
    registry = get_registry()
    return jsonify(registry.version_dict(registry.version(name, version, admin_ok=True)))


@bp.post("/register")
def register():
    """``{session_id}`` or ``{export_id}`` (and optionally ``name``): 201 with a new version, 200 with the
    version that already holds the same weights."""
    data = json_body()
    row, created = get_registry().register_from_request(data)
    return jsonify(version=get_registry().version_dict(row), created=created), 201 if created else 200


@bp.put("/models/<name>/aliases/<alias>")
def set_alias(name: str, alias: str):
    data = json_body()
    row = get_registry().set_alias(name, alias, data.get("version"))
    return jsonify(version=get_registry().version_dict(row, lineage=False))


@bp.delete("/models/<name>/aliases/<alias>")
def delete_alias(name: str, alias: str):
    get_registry().delete_alias(name, alias)
    return jsonify(deleted=True)


@bp.post("/models/<name>/versions/<version>/archive")
def archive(name: str, version: str):
    row = get_registry().archive(name, version, archived=json_body().get("archived", True) is not False
                                 if request.data else True)
    return jsonify(version=get_registry().version_dict(row, lineage=False))


@bp.delete("/models/<name>/versions/<version>")
def delete(name: str, version: str):
    get_registry().delete(name, version)
    return jsonify(deleted=True)


@bp.get("/models/<name>/versions/<version>/download")
def download(name: str, version: str):
    row, target = download_target(name, version)
    filename = row.ref.replace(":", "-")
    if target.is_file():
        return send_file(target, as_attachment=True, download_name=target.name)
    return Response(stream_tar_gz(target, filename), mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.tar.gz"'})
