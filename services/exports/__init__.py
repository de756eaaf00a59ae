"""Exports of trained sessions: the queue, the export child processes, downloads."""
from __future__ import annotations

from flask import Flask, current_app

from services.exports.service import ExportService, export_detail, export_summary  # noqa: F401

EXTENSION_KEY = "tunewright.exports"


def init_app(app: Flask) -> None:
    """Register the service and mark exports orphaned by a previous server as interrupted (a DB fix-up only:
    queued exports start when the server runs, from the same hooks as the training queue)."""
    service = ExportService(app)
    app.extensions[EXTENSION_KEY] = service
    if app.config.get("AUTO_MIGRATE"):
        service.recover_interrupted()


def get_export_service() -> ExportService:
    return current_app.extensions[EXTENSION_KEY]
