"""Post-training validation of a project's run: expected files, formats, loading, a short generation.

The checks load the model, so they run in a child process (``python -m core.projects.validate_output``): the
server never holds a model's weights for this, and a crash in a native loader fails the check, not the
studio. Results are stored on the project and shown on its page.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from extensions import db
from services.errors import ConflictError, ServiceError
from services.models.base import utcnow
from services.models.projects import Project
from services.projects.records import run_of

log = logging.getLogger(__name__)
VALIDATION_TIMEOUT = 900.0  # seconds: loading a 7 B model on a CPU takes minutes
ROOT = Path(__file__).resolve().parents[2]


def _run_checks(method: str, run_dir: str, base_model: str | None, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "core.projects.validate_output", method, run_dir, base_model or ""]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"passed": False, "checks": [{"name": "validation", "passed": False,
                                             "detail": f"the checks took longer than {timeout:.0f} s"}]}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode not in (0, 1) or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"passed": False, "checks": [{"name": "validation", "passed": False,
                                             "detail": f"the checking process ended with code {done.returncode}: "
                                                       + " | ".join(tail)}]}
    return json.loads(lines[-1])


def validate_project(project: Project) -> dict[str, Any]:
    """Run the checks on the project's latest completed run and store the result."""
    from services.session_models import base_model_path

    run = run_of(project)
    if run is None or run.status != "completed":
        state = run.status if run is not None else "not started"
        raise ConflictError(f"Project {project.name!r} is {state}: validation needs a completed run.")
    try:
        base = base_model_path(run.config["model"]["name"], current_app.config["MODEL_CACHE"])
    except ServiceError:
        base = None
    timeout = float(current_app.config.get("PROJECT_VALIDATION_TIMEOUT", VALIDATION_TIMEOUT))
    result = _run_checks(run.config["method"], run.output_dir, base, timeout)
    result = {"passed": bool(result.get("passed")), "checks": result.get("checks", []),
              "session_id": run.id, "checked_at": utcnow().isoformat()}
    project.validation = result
    db.session.commit()
    return result


def validate_in_background(app: Flask, session_id: str, wait: bool = False) -> None:
    """After a run completes: validate it when it is a project's (a thread; nothing to do otherwise). ``wait``:
    in this thread instead (a worker's job, whose process ends with it)."""
    project_id = db.session.execute(select(Project.id).where(Project.session_id == session_id)).scalar()
    if project_id is None:
        return

    def work() -> None:
        with app.app_context():
            project = db.session.get(Project, project_id)
            if project is None or project.session_id != session_id:
                return
            try:
                validate_project(project)
            except Exception:  # recorded in the log; the user can validate again from the project page
                log.exception("validating project %s failed", project_id)
            finally:
                db.session.remove()

    if wait:
        work()
        return
    threading.Thread(target=work, name=f"validate-project-{project_id}", daemon=True).start()
