"""Job API for scripts (``/api/v1/jobs``): thin over :mod:`services.jobs` (jobs are training sessions)."""
from flask import Blueprint, Response, jsonify, request, send_file

from routes.request_json import json_body
from services import jobs
from services.archive import stream_tar_gz
from services.deployment import deployment

bp = Blueprint("api_v1_jobs", __name__)


@bp.post("/", strict_slashes=False)
def create():
    job = jobs.create_job(json_body())
    return jsonify(jobs.job_json(job, jobs.waiting_of(job))), 201


@bp.get("/", strict_slashes=False)
def list_():
    return jsonify(jobs=jobs.list_jobs())


@bp.get("/<job_id>")
def get(job_id: str):
    job = jobs.get_job(job_id, admin_ok=True)
    return jsonify(jobs.job_json(job, jobs.waiting_of(job)))


@bp.get("/<job_id>/status")
def status(job_id: str):
    job = jobs.get_job(job_id, admin_ok=True)
    return jsonify(jobs.status_json(job, jobs.waiting_of(job)))


@bp.post("/<job_id>/cancel")
def cancel(job_id: str):
    job = jobs.cancel_job(job_id)
    return jsonify(jobs.job_json(job, jobs.waiting_of(job)))


@bp.get("/<job_id>/download")
def download(job_id: str):
    target = jobs.download_target(job_id)
    if target.is_file():
        return send_file(target, as_attachment=True, download_name=target.name)
    name = f"{job_id}-{target.name}"
    return Response(stream_tar_gz(target, target.name), mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}.tar.gz"'})


@bp.get("/<job_id>/deployment")
def deploy(job_id: str):
    """Ollama Modelfile and LM Studio steps with the exact commands (the job page shows the same)."""
    return jsonify(deployment(job_id, request.host_url))
