"""Registry versions for tests: a small weights folder in A's outputs, registered through the registry service."""
from __future__ import annotations

import json
import uuid


def make_version(app, owner_id: int | None, name: str = "demo", content: bytes | None = None,
                 alias: str | None = None) -> dict:
    """A completed session's adapter folder (fake weights: the registry hashes bytes, it does not load them)
    registered as ``name``; returns the URL keyword arguments of that version."""
    from core.training_config import default_config
    from extensions import db
    from services.auth.folders import owner_folder
    from services.models.training import TrainingSession
    from services.registry import get_registry

    with app.app_context():
        session_id = uuid.uuid4().hex[:12]
        folder = owner_folder(app.config["OUTPUT_FOLDER"], owner_id) / session_id
        adapter = folder / "adapter"
        adapter.mkdir(parents=True)
        (adapter / "adapter_config.json").write_text(json.dumps({"r": 8}), encoding="utf-8")
        (adapter / "adapter_model.safetensors").write_bytes(content or uuid.uuid4().bytes * 64)
        config = default_config()
        config["model"]["name"] = "example-org/tiny-model"
        session = TrainingSession(id=session_id, name=name, config=config, status="completed", priority=1,
                                  owner_id=owner_id, output_dir=str(folder), last_logs=[])
        db.session.add(session)
        db.session.commit()
        row, _ = get_registry().register_session(session, name)
        if alias:
            row.model.aliases  # noqa: B018 (load before adding)
            from services.models.registry import ModelAlias

            db.session.add(ModelAlias(model_id=row.model_id, alias=alias, version_id=row.id))
            db.session.commit()
        return {"name": row.model.name, "version": str(row.version), "session_id": session_id}
