"""Prepare the embedded default model for the app and remember where it is."""
from __future__ import annotations

from flask import current_app

from core import default_model
from services.settings_store import set_setting

SETTING_KEY = "default_model"


def prepare(progress: default_model.Progress | None = None, force: bool = False) -> dict:
    """Prepare (or find) the default model in the app's model cache; record it in settings."""
    path = default_model.prepare_default_model(current_app.config["MODEL_CACHE"], progress=progress, force=force)
    info = dict(default_model.prepared_info(current_app.config["MODEL_CACHE"]) or {}, path=str(path))
    set_setting(SETTING_KEY, info)
    return info
