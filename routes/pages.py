"""Server-rendered wizard pages. Later issues fill each step; the layout and navigation live here."""
from flask import Blueprint, abort, current_app, render_template

from routes.wizard import draft_id
from services.executors import executor_name
from services.model_catalog import list_models

bp = Blueprint("pages", __name__)

# (endpoint slug, label) in wizard order; base.html renders the navigation from this.
WIZARD_STEPS = [
    ("model", "Model"),
    ("dataset", "Dataset"),
    ("config", "Config"),
    ("rewards", "Rewards"),
    ("review", "Review"),
    ("train", "Train"),
    ("export", "Export"),
    ("test", "Test"),
]
_STEP_LABELS = dict(WIZARD_STEPS)


@bp.app_context_processor
def inject_wizard_steps():
    return {"wizard_steps": WIZARD_STEPS}


@bp.get("/")
def index():
    """The home page is the dashboard (signed in, or single mode); the wizard is one click away."""
    return render_template("dashboard.html", executor=executor_name(current_app))


@bp.get("/wizard/<step>")
def wizard_step(step: str):
    if step not in _STEP_LABELS:
        abort(404, description=f"No wizard step named {step!r}.")
    draft_id()  # the page hands out the draft key, so its scripts' first GET and PATCH share one draft
    context = {"step": step, "label": _STEP_LABELS[step]}
    if step == "model":
        context["models"] = list_models(current_app.config["MODEL_CACHE"])
    return render_template(f"wizard/{step}.html", **context)
