"""Job API for scripts (``/api/v1/jobs``): thin over :mod:`services.jobs` (jobs are training sessions)."""
from flask import Blueprint, Response, jsonify, request, send_file

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.jobs import Job, JobCreate, JobDeployment, JobList, JobStatus
from services import jobs
from services.archive import stream_tar_gz
from services.deployment import deployment

bp = Blueprint("api_v1_jobs", __name__)


@bp.post("/", strict_slashes=False)
@api.validate(json=JobCreate, resp=Responses(HTTP_201=Job), tags=["jobs"])
def create():
    """Queue a training job from flat settings (and optionally a partial training config)."""
    job = jobs.create_job(json_body())
    return jsonify(jobs.job_json(job, jobs.waiting_of(job))), 201


@bp.get("/", strict_slashes=False)
@api.validate(resp=Responses(HTTP_200=JobList), tags=["jobs"])
def list_():
    """The caller's jobs, newest first."""
    return jsonify(jobs=jobs.list_jobs())


@bp.get("/<job_id>")
@api.validate(resp=Responses(HTTP_200=Job), tags=["jobs"])
def get(job_id: str):
    """A job, with links to its status, download and deployment. Admins may read anyone's."""
    job = jobs.get_job(job_id, admin_ok=True)
    return jsonify(jobs.job_json(job, jobs.waiting_of(job)))


@bp.get("/<job_id>/status")
@api.validate(resp=Responses(HTTP_200=JobStatus), tags=["jobs"])
def status(job_id: str):
    """A job's progress: status, step, epoch, latest loss, ETA (what a script polls). Admins may read
    anyone's."""
    job = jobs.get_job(job_id, admin_ok=True)
    return jsonify(jobs.status_json(job, jobs.waiting_of(job)))


@bp.post("/<job_id>/cancel")
@api.validate(resp=Responses(HTTP_200=Job), tags=["jobs"])
def cancel(job_id: str):
    """Stop a job: a running one saves a checkpoint and stops, a queued one leaves the queue."""
    job = jobs.cancel_job(job_id)
    return jsonify(jobs.job_json(job, jobs.waiting_of(job)))


@bp.get("/<job_id>/download")
@api.validate(resp=Responses(HTTP_200=(None, "The job's output: a file, or a .tar.gz of its folder "
                                             "(application/gzip), streamed.")), tags=["jobs"])
def download(job_id: str):
    """Download a completed job's output (409 with its status until it has completed)."""
    target = jobs.download_target(job_id)
    if target.is_file():
        return send_file(target, as_attachment=True, download_name=target.name)
    name = f"{job_id}-{target.name}"
    return Response(stream_tar_gz(target, target.name), mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}.tar.gz"'})


@bp.get("/<job_id>/deployment")
@api.validate(resp=Responses(HTTP_200=JobDeployment), tags=["jobs"])
def deploy(job_id: str):
    """How to run a finished job in Ollama or LM Studio: the export, Modelfile and exact commands.

    The job page shows the same."""
    return jsonify(deployment(job_id, request.host_url))
