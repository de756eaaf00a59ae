"""System prompt templates JSON API (``/api/prompt-templates``)."""
from flask import Blueprint, jsonify

from services import prompt_templates
from routes.request_json import json_body

bp = Blueprint("prompt_templates", __name__)



@bp.get("")
def list_():
    return jsonify(templates=prompt_templates.list_templates())


@bp.post("")
def create():
    return jsonify(template=prompt_templates.create_template(json_body())), 201


@bp.get("/<template_id>")
def get(template_id: str):
    return jsonify(template=prompt_templates.get_template(template_id, admin_ok=True))  # admins read anyone's


@bp.patch("/<template_id>")
def update(template_id: str):
    return jsonify(template=prompt_templates.update_template(template_id, json_body()))


@bp.delete("/<template_id>")
def delete(template_id: str):
    prompt_templates.delete_template(template_id)
    return jsonify(deleted=template_id)
