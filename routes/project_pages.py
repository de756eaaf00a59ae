"""The Projects pages: the list, the new-project wizard and one project's page. Each renders a shell that
static/js/project*.js fills from /api/projects; a project the caller cannot read is the usual 404 page (an admin
may read anyone's, as the API allows)."""
from flask import Blueprint, current_app, render_template

from core.default_model import DEFAULT_MODEL_ID
from core.projects.spec import MAX_ROWS_PRESETS
from services import projects

bp = Blueprint("project_pages", __name__)


@bp.get("/projects")
def index():
    return render_template("projects/index.html")


@bp.get("/projects/new")
def new():
    return render_template("projects/wizard.html", max_rows_presets=MAX_ROWS_PRESETS,
                           default_model=DEFAULT_MODEL_ID, settings_url=_settings_url())


def _settings_url() -> str | None:
    """The Settings page, where the output base is chosen, when this build has one."""
    return "/settings" if any(rule.rule == "/settings" for rule in current_app.url_map.iter_rules()) else None


@bp.get("/projects/<int:project_id>")
def detail(project_id: int):
    project = projects.get_project(project_id, admin_ok=True)
    return render_template("projects/detail.html", project=project)
