"""Projects JSON API (``/api/projects``): thin wrappers over ``services.projects``."""
from flask import Blueprint, jsonify, request

from core.projects.spec import ProjectBody
from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.common import Deleted
from routes.schemas.projects import (MixPreviewEnvelope, ProjectChanges, ProjectCheck, ProjectEnvelope, ProjectList,
                                     ProjectManifest, ProjectStart, ProjectValidation)
from services import projects

bp = Blueprint("projects", __name__)


@bp.get("")
@api.validate(resp=Responses(HTTP_200=ProjectList), tags=["projects"])
def list_():
    """The caller's projects, newest first."""
    return jsonify(projects=[projects.to_dict(p) for p in projects.list_projects()])


@bp.post("")
@api.validate(json=ProjectBody, resp=Responses(HTTP_201=ProjectEnvelope), tags=["projects"])
def create():
    """Create a project (a draft): every problem of the body is reported at once, nothing is stored then."""
    return jsonify(project=projects.to_dict(projects.create(json_body()))), 201


# The wizard sends its body at every step, complete or not, and shows the problems this lists: a body that does
# not fit ProjectBody is answered 200 with valid: false, never a 400. So the model documents the body here but
# does not gate it (skip_validation, which skips checking the answer against ProjectCheck too).
@bp.post("/check")
@api.validate(json=ProjectBody, resp=Responses(HTTP_200=ProjectCheck), tags=["projects"], skip_validation=True)
def check():
    """Check a project body with the create rules, storing nothing (the wizard's validation).

    Answers 200 for any JSON object: ``valid`` and every problem at once, each with its field path and a hint."""
    return jsonify(projects.check(json_body()))


@bp.post("/preview")
@api.validate(json=ProjectBody, resp=Responses(HTTP_200=MixPreviewEnvelope), tags=["projects"])
def preview_body():
    """The mix a project body would build, before the project exists (the wizard's Preview step)."""
    return jsonify(preview=projects.preview(json_body()))


@bp.get("/<int:project_id>")
@api.validate(resp=Responses(HTTP_200=ProjectEnvelope), tags=["projects"])
def get(project_id: int):
    """A project with its status (its latest run's), run and validation. Admins may read anyone's."""
    return jsonify(project=projects.to_dict(projects.get_project(project_id, admin_ok=True)))


@bp.patch("/<int:project_id>")
@api.validate(json=ProjectChanges, resp=Responses(HTTP_200=ProjectEnvelope), tags=["projects"])
def update(project_id: int):
    """Change some fields of a project; the merged body is checked whole (409 while its run is active)."""
    return jsonify(project=projects.to_dict(projects.update(project_id, json_body())))


@bp.delete("/<int:project_id>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["projects"])
def delete(project_id: int):
    """Delete a project that is not running, with its runs and (when empty) its output folder."""
    projects.delete(project_id)
    return jsonify(deleted=project_id)


@bp.post("/<int:project_id>/start")
@api.validate(json=ProjectStart, resp=Responses(HTTP_202=ProjectEnvelope), tags=["projects"])
def start(project_id: int):
    """Check the project again, freeze its mix into a new run's folder and queue the run (the body is
    optional)."""
    priority = json_body().get("priority", "normal") if request.content_length else "normal"
    return jsonify(project=projects.to_dict(projects.start(project_id, priority))), 202


@bp.post("/<int:project_id>/validate")
@api.validate(resp=Responses(HTTP_200=ProjectValidation), tags=["projects"])
def validate(project_id: int):
    """Check the latest completed run's output again (files, formats, loading, a short generation) and store
    the result."""
    return jsonify(projects.validate(project_id))


@bp.get("/<int:project_id>/preview")
@api.validate(resp=Responses(HTTP_200=MixPreviewEnvelope), tags=["projects"])
def preview(project_id: int):
    """The mix a stored project would build now."""
    return jsonify(preview=projects.preview(project_id))


@bp.get("/<int:project_id>/manifest")
@api.validate(resp=Responses(HTTP_200=ProjectManifest), tags=["projects"])
def manifest(project_id: int):
    """The frozen mix of the project's latest run (409 before its first start). Admins may read anyone's."""
    return jsonify(manifest=projects.manifest(project_id))
