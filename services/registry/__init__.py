"""The model registry: versions of trained models (versions.py), their lineage (lineage.py) and digests."""
from __future__ import annotations

from flask import Flask, current_app

from services.registry.versions import RegistryService

EXTENSION_KEY = "tunewright.registry"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = RegistryService(app)


def get_registry() -> RegistryService:
    return current_app.extensions[EXTENSION_KEY]
