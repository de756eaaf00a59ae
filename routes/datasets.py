"""Datasets JSON API (``/api/datasets``): thin wrappers over ``services.datasets``."""
from flask import Blueprint, jsonify, request, send_file

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.common import Deleted
from routes.schemas.datasets import (DatasetCatalog, DatasetCatalogQuery, DatasetEnvelope, DatasetFromHub, DatasetList,
                                     DatasetListQuery, DatasetPreview, DatasetPreviewRequest, DatasetUpdate,
                                     DatasetUploadForm)
from services import datasets
from services.errors import ServiceError
from services.security import allow_large_body

bp = Blueprint("datasets", __name__)


@bp.get("/list")
@api.validate(query=DatasetListQuery, resp=Responses(HTTP_200=DatasetList), tags=["datasets"])
def list_():
    """Your datasets, newest first, filtered by type, status, tag or source."""
    records = datasets.list_records(type_=request.args.get("type"), status=request.args.get("status"),
                                    tag=request.args.get("tag"), source=request.args.get("source"))
    return jsonify(datasets=[datasets.to_dict(r) for r in records])


@bp.post("/upload")
# Documented, not validated: SpecTree's form validation reads request.form first, which would parse (and spool)
# the whole upload before services.datasets.save_upload streams it to disk with its own limit and hash.
@api.validate(form=DatasetUploadForm, resp=Responses(HTTP_202=DatasetEnvelope), tags=["datasets"],
              skip_validation=True)
@allow_large_body  # streamed to disk with its own limit (TUNEWRIGHT_MAX_UPLOAD_BYTES)
def upload():
    """Upload a dataset file (multipart); it is processed in the background (status Processing, then Ready or
    Failed)."""
    record = datasets.save_upload(request)
    return jsonify(dataset=datasets.to_dict(record)), 202


@bp.post("/preview")
@api.validate(json=DatasetPreviewRequest, resp=Responses(HTTP_200=DatasetPreview), tags=["datasets"])
def preview():
    """The first rows of a dataset, file or source mapped to instruction/response, and the prompts the model will
    see."""
    return jsonify(datasets.preview(json_body()))


@bp.get("/catalog")
@api.validate(query=DatasetCatalogQuery, resp=Responses(HTTP_200=DatasetCatalog), tags=["datasets"])
def catalog():
    """The curated Hub datasets (optionally one category's), the built-in sets and whether the Hub is reachable."""
    return jsonify(datasets.catalog(request.args.get("category")))


@bp.post("/catalog")
@api.validate(json=DatasetFromHub, resp=Responses(HTTP_202=DatasetEnvelope), tags=["datasets"])
def add_from_hub():
    """Add a Hub dataset (curated or any owner/name); it is downloaded and processed in the background."""
    record = datasets.add_hub_dataset(json_body())
    return jsonify(dataset=datasets.to_dict(record)), 202


@bp.get("/<int:dataset_id>")
@api.validate(resp=Responses(HTTP_200=DatasetEnvelope), tags=["datasets"])
def get(dataset_id: int):
    """A dataset with its profile and first rows.

    Admins may read anyone's dataset description (oversight); the file, edits and deletes stay the owner's."""
    return jsonify(dataset=datasets.to_dict(datasets.get_record(dataset_id, admin_ok=True), detail=True))


@bp.patch("/<int:dataset_id>")
@api.validate(json=DatasetUpdate, resp=Responses(HTTP_200=DatasetEnvelope), tags=["datasets"])
def update(dataset_id: int):
    """Change a dataset's name, description, tags or field mapping."""
    record = datasets.update_record(dataset_id, json_body())
    return jsonify(dataset=datasets.to_dict(record, detail=True))


@bp.delete("/<int:dataset_id>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["datasets"])
def delete(dataset_id: int):
    """Delete a dataset and its file (refused while a queued or running session uses it)."""
    datasets.delete_record(dataset_id)
    return jsonify(deleted=dataset_id)


@bp.post("/<int:dataset_id>/reprocess")
@api.validate(resp=Responses(HTTP_202=DatasetEnvelope), tags=["datasets"])
def reprocess(dataset_id: int):
    """Process a dataset again (after a failure, an interrupted job or a changed file)."""
    record = datasets.reprocess_record(dataset_id)
    return jsonify(dataset=datasets.to_dict(record)), 202


@bp.get("/<int:dataset_id>/download")
@api.validate(tags=["datasets"])
def download(dataset_id: int):
    """Download an uploaded dataset's file as it was uploaded."""
    record = datasets.get_record(dataset_id)
    path = datasets.stored_file(record)
    if not path.is_file():
        raise ServiceError(f"The file of dataset {record.name!r} is missing from the upload folder.", status_code=404)
    return send_file(path, as_attachment=True, download_name=record.original_filename or path.name,
                     mimetype="application/octet-stream")
