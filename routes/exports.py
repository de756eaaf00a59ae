"""Exports API (``/api/exports``): create, list, inspect, cancel, delete, download."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file

from core.export import EXPORTERS, QUANTIZATIONS
from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.common import Deleted
from routes.schemas.exports import (ExportCreate, ExportDetail, ExportDownloadQuery, ExportEnvelope, ExportFormats,
                                    ExportList, ExportListQuery)
from services.exports import export_detail, export_summary, get_export_service

bp = Blueprint("exports", __name__)


@bp.get("/formats")
@api.validate(resp=Responses(HTTP_200=ExportFormats), tags=["exports"])
def formats():
    """The export formats and the GGUF quantizations."""
    return jsonify(formats=list(EXPORTERS), quantizations=list(QUANTIZATIONS))


@bp.post("/create")
@api.validate(json=ExportCreate, resp=Responses(HTTP_201=ExportEnvelope), tags=["exports"])
def create():
    """Queue an export of a session's final weights or one of its checkpoints."""
    data = json_body()
    job = get_export_service().create(str(data.get("session_id", "")), str(data.get("format", "")),
                                      data.get("quantization"), data.get("checkpoint") or None)
    return jsonify(export=export_summary(job)), 201


@bp.get("/list")
@api.validate(query=ExportListQuery, resp=Responses(HTTP_200=ExportList), tags=["exports"])
def list_():
    """Your exports, newest first (optionally one session's)."""
    return jsonify(exports=get_export_service().list(request.args.get("session_id")))


@bp.get("/<export_id>")
@api.validate(resp=Responses(HTTP_200=ExportDetail), tags=["exports"])
def detail(export_id: str):
    """An export with its manifest (admins may read anyone's)."""
    return jsonify(export_detail(get_export_service().get(export_id, admin_ok=True)))


@bp.post("/<export_id>/cancel")
@api.validate(resp=Responses(HTTP_200=ExportEnvelope), tags=["exports"])
def cancel(export_id: str):
    """Cancel a queued or running export."""
    return jsonify(export=export_summary(get_export_service().cancel(export_id)))


@bp.post("/<export_id>/retry")
@api.validate(resp=Responses(HTTP_200=ExportEnvelope), tags=["exports"])
def retry(export_id: str):
    """Run a failed, cancelled or interrupted export again (it goes back to the queue)."""
    return jsonify(export=export_summary(get_export_service().retry(export_id)))


@bp.delete("/<export_id>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["exports"])
def delete(export_id: str):
    """Delete a finished export and its files (and the registry versions made from it)."""
    get_export_service().delete(export_id)
    return jsonify(deleted=export_id)


@bp.get("/<export_id>/download")
@api.validate(query=ExportDownloadQuery, tags=["exports"])
def download(export_id: str):
    """Download a completed export: one file of its manifest (?file=NAME), else all of it as a streamed
    .tar.gz."""
    service = get_export_service()
    session_id = request.args.get("session_id")
    if request.args.get("file"):
        path = service.file_path(export_id, request.args["file"], session_id)
        return send_file(path, as_attachment=True, download_name=path.name)
    name, chunks = service.archive(export_id, session_id)
    return Response(chunks, mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
