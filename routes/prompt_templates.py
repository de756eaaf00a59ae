"""System prompt templates JSON API (``/api/prompt-templates``)."""
from flask import Blueprint, jsonify, request

from services import prompt_templates
from services.errors import ServiceError

bp = Blueprint("prompt_templates", __name__)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("Send a JSON object in the request body.")
    return body


@bp.get("")
def list_():
    return jsonify(templates=prompt_templates.list_templates())


@bp.post("")
def create():
    return jsonify(template=prompt_templates.create_template(_json_body())), 201


@bp.get("/<template_id>")
def get(template_id: str):
    return jsonify(template=prompt_templates.get_template(template_id))


@bp.patch("/<template_id>")
def update(template_id: str):
    return jsonify(template=prompt_templates.update_template(template_id, _json_body()))


@bp.delete("/<template_id>")
def delete(template_id: str):
    prompt_templates.delete_template(template_id)
    return jsonify(deleted=template_id)
