"""System status API: the same sample the ``system_update`` event carries."""
from flask import Blueprint, current_app, jsonify

from routes.contract import Responses, api
from routes.schemas.system import SystemStatus, SystemWorkers
from services.system_monitor import get_monitor

bp = Blueprint("system", __name__)


@bp.get("/status")
@api.validate(resp=Responses(HTTP_200=SystemStatus), tags=["system"])
def status():
    """This machine's CPU, RAM, disk and GPUs now."""
    return jsonify(get_monitor().sample())


@bp.get("/workers")
@api.validate(resp=Responses(HTTP_200=SystemWorkers), tags=["system"])
def workers():
    """The training workers of the rq executor, with their GPUs, heartbeat and current jobs.

    The training workers (TUNEWRIGHT_EXECUTOR=rq): GPUs, free memory, heartbeat, current jobs. Job ids the
    caller may not see are left out. ``grace_seconds``: how long a silent worker stays alive (then it is lost)."""
    from services.executors import executor_name
    from services.executors.workers import list_workers, visible_jobs

    return jsonify(executor=executor_name(current_app), workers=visible_jobs(list_workers()),
                   grace_seconds=float(current_app.config.get("WORKER_GRACE_SECONDS", 60)))
