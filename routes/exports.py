"""Exports API (``/api/exports``): create, list, inspect, cancel, delete, download."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file

from core.export import EXPORTERS, QUANTIZATIONS
from routes.request_json import json_body
from services.exports import export_detail, export_summary, get_export_service

bp = Blueprint("exports", __name__)


@bp.get("/formats")
def formats():
    return jsonify(formats=list(EXPORTERS), quantizations=list(QUANTIZATIONS))


@bp.post("/create")
def create():
    data = json_body()
    job = get_export_service().create(str(data.get("session_id", "")), str(data.get("format", "")),
                                      data.get("quantization"), data.get("checkpoint") or None)
    return jsonify(export=export_summary(job)), 201


@bp.get("/list")
def list_():
    return jsonify(exports=get_export_service().list(request.args.get("session_id")))


@bp.get("/<export_id>")
def detail(export_id: str):
    """An export with its manifest (admins may read anyone's)."""
    return jsonify(export_detail(get_export_service().get(export_id, admin_ok=True)))


@bp.post("/<export_id>/cancel")
def cancel(export_id: str):
    return jsonify(export=export_summary(get_export_service().cancel(export_id)))


@bp.post("/<export_id>/retry")
def retry(export_id: str):
    """Run a failed, cancelled or interrupted export again (it goes back to the queue)."""
    return jsonify(export=export_summary(get_export_service().retry(export_id)))


@bp.delete("/<export_id>")
def delete(export_id: str):
    get_export_service().delete(export_id)
    return jsonify(deleted=export_id)


@bp.get("/<export_id>/download")
def download(export_id: str):
    """``?file=<name>`` for one file of the manifest; without it the whole export as a streamed .tar.gz."""
    service = get_export_service()
    session_id = request.args.get("session_id")
    if request.args.get("file"):
        path = service.file_path(export_id, request.args["file"], session_id)
        return send_file(path, as_attachment=True, download_name=path.name)
    name, chunks = service.archive(export_id, session_id)
    return Response(chunks, mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
