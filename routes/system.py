"""System status API: the same sample the ``system_update`` event carries."""
from flask import Blueprint, current_app, jsonify

from services.system_monitor import get_monitor

bp = Blueprint("system", __name__)


@bp.get("/status")
def status():
    return jsonify(get_monitor().sample())


@bp.get("/workers")
def workers():
    """The training workers (TUNEWRIGHT_EXECUTOR=rq): GPUs, free memory, heartbeat, current jobs. Job ids the
    caller may not see are left out."""
    from services.executors.workers import list_workers, visible_jobs

    return jsonify(executor=current_app.config.get("EXECUTOR", "local"), workers=visible_jobs(list_workers()))
