"""Serving registry versions through the OpenAI-compatible ``/v1`` (service.py holds the design notes)."""
from __future__ import annotations

from flask import Flask, current_app

from services.deploy.service import DeployService, mark_stale_deployments

EXTENSION_KEY = "tunewright.deploy"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = DeployService(app)
    if app.config.get("AUTO_MIGRATE"):
        mark_stale_deployments(app)


def get_deployer() -> DeployService:
    return current_app.extensions[EXTENSION_KEY]
