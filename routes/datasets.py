"""Datasets JSON API (``/api/datasets``): thin wrappers over ``services.datasets``."""
from flask import Blueprint, jsonify, request, send_file

from services import datasets
from routes.request_json import json_body
from services.errors import ServiceError
from services.security import allow_large_body

bp = Blueprint("datasets", __name__)


@bp.get("/list")
def list_():
    records = datasets.list_records(type_=request.args.get("type"), status=request.args.get("status"),
                                    tag=request.args.get("tag"), source=request.args.get("source"))
    return jsonify(datasets=[datasets.to_dict(r) for r in records])


@bp.post("/upload")
@allow_large_body  # streamed to disk with its own limit (TUNEWRIGHT_MAX_UPLOAD_BYTES)
def upload():
    record = datasets.save_upload(request)
    return jsonify(dataset=datasets.to_dict(record)), 202


@bp.post("/preview")
def preview():
    return jsonify(datasets.preview(json_body()))


@bp.get("/catalog")
def catalog():
    return jsonify(datasets.catalog(request.args.get("category")))


@bp.post("/catalog")
def add_from_hub():
    record = datasets.add_hub_dataset(json_body())
    return jsonify(dataset=datasets.to_dict(record)), 202


@bp.get("/<int:dataset_id>")
def get(dataset_id: int):
    """Admins may read anyone's dataset description (oversight); the file, edits and deletes stay the owner's."""
    return jsonify(dataset=datasets.to_dict(datasets.get_record(dataset_id, admin_ok=True), detail=True))


@bp.patch("/<int:dataset_id>")
def update(dataset_id: int):
    record = datasets.update_record(dataset_id, json_body())
    return jsonify(dataset=datasets.to_dict(record, detail=True))


@bp.delete("/<int:dataset_id>")
def delete(dataset_id: int):
    datasets.delete_record(dataset_id)
    return jsonify(deleted=dataset_id)


@bp.post("/<int:dataset_id>/reprocess")
def reprocess(dataset_id: int):
    record = datasets.reprocess_record(dataset_id)
    return jsonify(dataset=datasets.to_dict(record)), 202


@bp.get("/<int:dataset_id>/download")
def download(dataset_id: int):
    record = datasets.get_record(dataset_id)
    path = datasets.stored_file(record)
    if not path.is_file():
        raise ServiceError(f"The file of dataset {record.name!r} is missing from the upload folder.", status_code=404)
    return send_file(path, as_attachment=True, download_name=record.original_filename or path.name,
                     mimetype="application/octet-stream")
