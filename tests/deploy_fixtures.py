"""Versions worth deploying in tests: the bundled SmolLM2 GGUF (a real model that ends its answers) registered
from a GGUF export, and the tiny transformers model with a chat template that raises."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path


def _place(source: Path, target: Path) -> None:
    """A hard link when the folders share a disk (98 MB copied per test otherwise)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy(source, target)


def gguf_version(app, owner_id: int | None, name: str = "smol") -> dict:
    """The bundled SmolLM2-135M-Instruct Q4_1 GGUF as a completed GGUF export of ``owner_id``, registered as
    ``name``; returns ``{"name", "version", "id"}``."""
    from core.default_model import bundled_gguf_path
    from extensions import db
    from services.auth.folders import owner_folder
    from services.models.exports import ExportJob
    from services.models.training import TrainingSession
    from services.registry import get_registry

    with app.app_context():
        session_id, export_id = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
        folder = owner_folder(app.config["EXPORT_FOLDER"], owner_id) / session_id / export_id
        _place(bundled_gguf_path(), folder / "SmolLM2-135M-Instruct-Q4_1.gguf")
        db.session.add(TrainingSession(id=session_id, name=name, config={}, status="completed", owner_id=owner_id,
                                       output_dir=str(owner_folder(app.config["OUTPUT_FOLDER"], owner_id) / session_id),
                                       last_logs=[]))
        db.session.flush()
        export = ExportJob(id=export_id, session_id=session_id, owner_id=owner_id, format="gguf", status="completed",
                           quantization="Q4_1", progress=1.0, export_dir=str(folder), manifest={})
        db.session.add(export)
        db.session.commit()
        row, _ = get_registry().register_export(export, name)
        return {"name": row.model.name, "version": str(row.version), "id": row.id}


def broken_template_version(app, owner_id: int | None, model_dir: Path, name: str = "broken") -> dict:
    """The tiny transformers model as a completed Standard run whose chat template raises when rendered."""
    from services.auth.folders import owner_folder

    broken = "{{ raise_exception('this chat template is broken on purpose') }}"
    with app.app_context():
        session_id = uuid.uuid4().hex[:12]
        folder = owner_folder(app.config["OUTPUT_FOLDER"], owner_id) / session_id
        target = folder / "standard_model"
        shutil.copytree(model_dir, target)
        if (target / "chat_template.jinja").exists():
            (target / "chat_template.jinja").write_text(broken, encoding="utf-8")
        config_path = target / "tokenizer_config.json"
        tokenizer_config = json.loads(config_path.read_text(encoding="utf-8"))
        if "chat_template" in tokenizer_config or not (target / "chat_template.jinja").exists():
            tokenizer_config["chat_template"] = broken
            config_path.write_text(json.dumps(tokenizer_config), encoding="utf-8")
        return _register_standard_run(session_id, owner_id, folder, name)


def _register_standard_run(session_id: str, owner_id: int | None, folder: Path, name: str) -> dict:
    """A completed Standard session over ``folder`` (its ``standard_model/`` already written), registered."""
    from core.training_config import default_config
    from extensions import db
    from services.models.training import TrainingSession
    from services.registry import get_registry

    config = default_config()
    config["method"] = "standard"
    session = TrainingSession(id=session_id, name=name, config=config, status="completed", owner_id=owner_id,
                              output_dir=str(folder), last_logs=[])
    db.session.add(session)
    db.session.commit()
    row, _ = get_registry().register_session(session, name)
    return {"name": row.model.name, "version": str(row.version), "id": row.id}


def prepared_smollm2() -> Path | None:
    """The bundled model's transformers weights as ``make model`` prepares them (``make test`` always does
    first), or None when this checkout has not prepared them."""
    from config import PROJECT_ROOT
    from core.default_model import is_prepared, prepared_model_dir

    cache = PROJECT_ROOT / "instance" / "models"
    return prepared_model_dir(cache) if is_prepared(cache) else None


def transformers_version(app, owner_id: int | None, model_dir: Path, name: str = "smolhf") -> dict:
    """A completed Standard run whose ``standard_model/`` holds ``model_dir``'s files (hard links), registered as
    ``name``: a full transformers model, served by the inference worker."""
    from services.auth.folders import owner_folder

    with app.app_context():
        session_id = uuid.uuid4().hex[:12]
        folder = owner_folder(app.config["OUTPUT_FOLDER"], owner_id) / session_id
        for source in model_dir.iterdir():
            if source.is_file():
                _place(source, folder / "standard_model" / source.name)
        return _register_standard_run(session_id, owner_id, folder, name)

