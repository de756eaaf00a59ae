"""Model registry API (``/api/registry``): list, inspect, register, alias, archive, delete, download.

Deploy and undeploy are in routes/deploy.py (same URL prefix)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.common import Deleted
from routes.schemas.registry import (ArchiveVersion, RegisteredVersion, RegisterVersion, RegistryModel,
                                     RegistryModelList, RegistryModelsQuery, RegistryVersion,
                                     RegistryVersionEnvelope, SetAlias)
from services.archive import stream_tar_gz
from services.registry import get_registry
from services.registry.downloads import download_target

bp = Blueprint("registry", __name__)


@bp.get("/models")
@api.validate(query=RegistryModelsQuery, resp=Responses(HTTP_200=RegistryModelList), tags=["registry"])
def list_models():
    """The caller's registered models with their versions, by name; filters apply to the versions."""
    args = request.args
    return jsonify(models=get_registry().list_models(
        everyone=args.get("all") == "1", type_=args.get("type") or None, status=args.get("status") or None,
        query=args.get("q") or None))


@bp.get("/models/<name>")
@api.validate(resp=Responses(HTTP_200=RegistryModel), tags=["registry"])
def model(name: str):
    """A registered model: its versions (with lineage) and aliases. Admins may read anyone's."""
    registry = get_registry()
    return jsonify(registry.model_dict(registry.model(name, admin_ok=True)))


@bp.get("/models/<name>/versions/<version>")
@api.validate(resp=Responses(HTTP_200=RegistryVersion), tags=["registry"])
def version(name: str, version: str):
    """One version (``3`` or ``v3``) with its files, metrics, lineage and last deployment. Admins may read
    anyone's."""
    registry = get_registry()
    return jsonify(registry.version_dict(registry.version(name, version, admin_ok=True)))


@bp.post("/register")
@api.validate(json=RegisterVersion, resp=Responses(HTTP_200=RegisteredVersion, HTTP_201=RegisteredVersion),
              tags=["registry"])
def register():
    """Register a completed session's or export's weights as a new version of a model.

    ``{session_id}`` or ``{export_id}`` (and optionally ``name``): 201 with a new version, 200 with the
    version that already holds the same weights."""
    data = json_body()
    row, created = get_registry().register_from_request(data)
    return jsonify(version=get_registry().version_dict(row), created=created), 201 if created else 200


@bp.put("/models/<name>/aliases/<alias>")
@api.validate(json=SetAlias, resp=Responses(HTTP_200=RegistryVersionEnvelope), tags=["registry"])
def set_alias(name: str, alias: str):
    """Point ``name@alias`` at a version, moving it from wherever it pointed (aliases: a-z, 0-9, '_' and '-',
    starting with a letter, not v<number>)."""
    data = json_body()
    row = get_registry().set_alias(name, alias, data.get("version"))
    return jsonify(version=get_registry().version_dict(row, lineage=False))


@bp.delete("/models/<name>/aliases/<alias>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["registry"])
def delete_alias(name: str, alias: str):
    """Remove an alias (the version stays)."""
    get_registry().delete_alias(name, alias)
    return jsonify(deleted=True)


@bp.post("/models/<name>/versions/<version>/archive")
@api.validate(json=ArchiveVersion, resp=Responses(HTTP_200=RegistryVersionEnvelope), tags=["registry"])
def archive(name: str, version: str):
    """Archive a version, or with ``{archived: false}`` make it ready again (a deployed version must be
    undeployed first). The body is optional: no body archives."""
    row = get_registry().archive(name, version, archived=json_body().get("archived", True) is not False
                                 if request.data else True)
    return jsonify(version=get_registry().version_dict(row, lineage=False))


@bp.delete("/models/<name>/versions/<version>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["registry"])
def delete(name: str, version: str):
    """Delete a version and its weight files (only files inside the data folders; 409 while deployed)."""
    get_registry().delete(name, version)
    return jsonify(deleted=True)


@bp.get("/models/<name>/versions/<version>/download")
@api.validate(resp=Responses(HTTP_200=(None, "The weights: the file itself (application/octet-stream), or "
                                             "a .tar.gz of the folder (application/gzip), streamed.")),
              tags=["registry"])
def download(name: str, version: str):
    """Download a version's weights: its file (a GGUF), or a streamed ``.tar.gz`` of its folder."""
    row, target = download_target(name, version)
    filename = row.ref.replace(":", "-")
    if target.is_file():
        return send_file(target, as_attachment=True, download_name=target.name)
    return Response(stream_tar_gz(target, filename), mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.tar.gz"'})
