"""Projects JSON API (``/api/projects``): thin wrappers over ``services.projects``."""
from flask import Blueprint, jsonify, request

from routes.request_json import json_body
from services import projects

bp = Blueprint("projects", __name__)


@bp.get("")
def list_():
    return jsonify(projects=[projects.to_dict(p) for p in projects.list_projects()])


@bp.post("")
def create():
    return jsonify(project=projects.to_dict(projects.create(json_body()))), 201


@bp.post("/check")
def check():
    """The wizard's validation: every problem at once, nothing stored."""
    return jsonify(projects.check(json_body()))


@bp.post("/preview")
def preview_body():
    """The mix a body would build, before the project exists (the wizard's Preview step)."""
    return jsonify(preview=projects.preview(json_body()))


@bp.get("/<int:project_id>")
def get(project_id: int):
    return jsonify(project=projects.to_dict(projects.get_project(project_id, admin_ok=True)))


@bp.patch("/<int:project_id>")
def update(project_id: int):
    return jsonify(project=projects.to_dict(projects.update(project_id, json_body())))


@bp.delete("/<int:project_id>")
def delete(project_id: int):
    projects.delete(project_id)
    return jsonify(deleted=project_id)


@bp.post("/<int:project_id>/start")
def start(project_id: int):
    priority = json_body().get("priority", "normal") if request.content_length else "normal"
    return jsonify(project=projects.to_dict(projects.start(project_id, priority))), 202


@bp.post("/<int:project_id>/validate")
def validate(project_id: int):
    return jsonify(projects.validate(project_id))


@bp.get("/<int:project_id>/preview")
def preview(project_id: int):
    return jsonify(preview=projects.preview(project_id))


@bp.get("/<int:project_id>/manifest")
def manifest(project_id: int):
    return jsonify(manifest=projects.manifest(project_id))
