"""Exports of trained sessions: the queue, the export child processes, downloads."""
from __future__ import annotations

from flask import Flask, current_app

from services.exports.service import ExportService, export_detail, export_summary  # noqa: F401

EXTENSION_KEY = "tunewright.exports"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = ExportService(app)


def get_export_service() -> ExportService:
    return current_app.extensions[EXTENSION_KEY]
