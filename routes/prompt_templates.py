"""System prompt templates JSON API (``/api/prompt-templates``)."""
from flask import Blueprint, jsonify

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.common import Deleted
from routes.schemas.prompt_templates import (PromptTemplateCreate, PromptTemplateEnvelope, PromptTemplateFields,
                                             PromptTemplateList)
from services import prompt_templates

bp = Blueprint("prompt_templates", __name__)


@bp.get("")
@api.validate(resp=Responses(HTTP_200=PromptTemplateList), tags=["prompt-templates"])
def list_():
    """The built-in GRPO template and the caller's own."""
    return jsonify(templates=prompt_templates.list_templates())


@bp.post("")
@api.validate(json=PromptTemplateCreate, resp=Responses(HTTP_201=PromptTemplateEnvelope), tags=["prompt-templates"])
def create():
    """Save a system prompt template with its four format markers."""
    return jsonify(template=prompt_templates.create_template(json_body())), 201


@bp.get("/<template_id>")
@api.validate(resp=Responses(HTTP_200=PromptTemplateEnvelope), tags=["prompt-templates"])
def get(template_id: str):
    """One template ('default' is the built-in one); administrators may read anyone's."""
    return jsonify(template=prompt_templates.get_template(template_id, admin_ok=True))


@bp.patch("/<template_id>")
@api.validate(json=PromptTemplateFields, resp=Responses(HTTP_200=PromptTemplateEnvelope), tags=["prompt-templates"])
def update(template_id: str):
    """Change some of a template's fields (the built-in one cannot change)."""
    return jsonify(template=prompt_templates.update_template(template_id, json_body()))


@bp.delete("/<template_id>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["prompt-templates"])
def delete(template_id: str):
    """Delete one of the caller's templates."""
    prompt_templates.delete_template(template_id)
    return jsonify(deleted=template_id)
