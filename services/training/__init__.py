"""Training lifecycle: the queue, child processes, their supervisors, and what they record."""
from __future__ import annotations

from flask import Flask, current_app

from services.training.service import TrainingService

EXTENSION_KEY = "tunewright.training"


def init_app(app: Flask) -> None:
    """Register the service and mark sessions orphaned by a previous server as interrupted (a DB fix-up only)."""
    from services.datasets import register_usage_checker

    service = TrainingService(app)
    app.extensions[EXTENSION_KEY] = service
    register_usage_checker(datasets_in_use)
    if app.config.get("AUTO_MIGRATE"):
        service.recover_interrupted()
    from services.executors import is_worker

    if service.remote is not None and not is_worker(app) and app.config.get("SCALE_OUT_REPAIR", True):
        from extensions import socketio

        socketio.start_background_task(service.remote.loop, service, service.stopped)


def datasets_in_use(dataset_id: int) -> list[str]:
    """Queued or running sessions that read this dataset: it must not be deleted under them."""
    return get_training_service().sessions_using_dataset(dataset_id)


def get_training_service() -> TrainingService:
    return current_app.extensions[EXTENSION_KEY]
