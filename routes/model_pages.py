"""The Models pages: the registry's table, a model with its versions, one version, and Compare. The pages
render a shell; static/js/models_*.js fill it from /api/registry. A name or version the caller cannot read is
the usual 404 page (an admin may read anyone's, as the registry API allows)."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from services.errors import NotFoundError

from services.registry import get_registry

bp = Blueprint("model_pages", __name__)


@bp.get("/models")
def index():
    return render_template("models/index.html")


@bp.get("/models/compare")
def compare():
    """``?v=name:v1&v=name:v2``: the references are checked by the API the page calls. Without ``v`` a model
    named "compare" (a valid name) still has its page here."""
    if not request.args.getlist("v"):
        try:
            return model("compare")
        except NotFoundError:
            pass
    return render_template("models/compare.html")


@bp.get("/models/<name>")
def model(name: str):
    registry = get_registry()
    row = registry.model(name, admin_ok=True)
    return render_template("models/model.html", model=row)


@bp.get("/models/<name>/versions/<version>")
def version(name: str, version: str):
    row = get_registry().version(name, version, admin_ok=True)
    return render_template("models/version.html", version=row)
