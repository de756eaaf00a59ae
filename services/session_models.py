"""Where a session's base model and trained weights are on disk (shared by export and the Test step)."""
from __future__ import annotations

from core.default_model import DEFAULT_MODEL_ID
from core.export.sources import Source, SourceNotFound, find_source
from core.model_tags import ollama_tag
from core.training.prompts import markers_from_config
from core.training_config import parse_config
from services.errors import ConflictError, ServiceError
from services.models.training import TrainingSession


def base_model_path(model_name: str, model_cache: str) -> str:
    """The folder (or Hub id) a model name loads from; the bundled model maps to its prepared copy."""
    if model_name == DEFAULT_MODEL_ID:
        from core.default_model import is_prepared, prepared_model_dir

        if not is_prepared(model_cache):
            raise ServiceError("The bundled default model is not prepared yet: run `make run` or "
                               "`flask --app flask_app prepare-model` once.")
        return str(prepared_model_dir(model_cache))
    return model_name


def session_source(session: TrainingSession, model_cache: str, checkpoint: str | None = None) -> Source:
    try:
        return find_source(session.output_dir, base_model_path(session.config["model"]["name"], model_cache),
                           checkpoint)
    except SourceNotFound as exc:
        raise ConflictError(f"Session {session.id}: {exc}",
                            details=[{"path": "checkpoint" if checkpoint else "session_id", "message": str(exc),
                                      "hint": "Train the session (or pick one of its checkpoints) first."}]) from None


def session_settings(session: TrainingSession) -> dict:
    """System prompt and sampling settings the session trained with (for Modelfiles and the playground)."""
    config = parse_config(session.config)
    return {"system_prompt": config.dataset.resolved_system_prompt(), "temperature": config.training.temperature,
            "top_p": config.training.top_p, "num_ctx": config.training.max_sequence_length,
            "markers": markers_from_config(config.dataset), "config": config}


def ollama_base(model_name: str, setting: str | None) -> str | None:
    """The Ollama model ``model_name`` is: the ``TUNEWRIGHT_OLLAMA_TAGS`` setting (``model=tag,…``: your own
    bases) first, then the library tags Tunewright knows."""
    for pair in (setting or "").split(","):
        model, _, tag = pair.strip().rpartition("=")
        if model and tag and model.strip() == model_name:
            return tag.strip()
    return ollama_tag(model_name)
