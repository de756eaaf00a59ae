"""A session trained once per test run on the tiny model, and a way to register it in a test's database."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.training_helpers import arithmetic_rows, tiny_config


@pytest.fixture(scope="session")
def trained_session_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """outputs/<id>/ of a real (tiny) SFT + GRPO run: adapter/, sft_adapter/, checkpoints/."""
    from core.training.runner import TrainingJob, run_training
    from core.training_config import parse_config

    out = tmp_path_factory.mktemp("trained") / "session"
    outcome = run_training(TrainingJob(config=parse_config(tiny_config(tiny_model_dir)), model_path=str(tiny_model_dir),
                                       rows=arithmetic_rows(), output_dir=out, emit=lambda e: None,
                                       should_stop=lambda: False))
    assert outcome == "completed"
    return out


def register_session(app, trained_dir: Path, model_dir: Path, session_id: str = "trained1") -> str:
    """A completed session row whose outputs are a copy of ``trained_dir`` inside the app's output folder."""
    from core.training_config import parse_config
    from extensions import db
    from services.models.training import TrainingSession

    target = Path(app.config["OUTPUT_FOLDER"]) / session_id
    shutil.copytree(trained_dir, target, ignore=shutil.ignore_patterns("optimizer.pt", "*.pt"))
    config = parse_config(tiny_config(model_dir)).model_dump(mode="json")
    with app.app_context():
        db.session.add(TrainingSession(id=session_id, name=f"tiny {session_id}", config=config, status="completed",
                                       output_dir=str(target), last_logs=[]))
        db.session.commit()
    return session_id


def register_live_session(server, trained_dir: Path, model_dir: Path, session_id: str) -> str:
    """The same, for a live server process: its outputs folder and its SQLite file (both under its folder)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from core.training_config import parse_config
    from services.models.training import TrainingSession

    folder = server.log_path.parent
    target = folder / "outputs" / session_id
    shutil.copytree(trained_dir, target, ignore=shutil.ignore_patterns("*.pt"))
    engine = create_engine(f"sqlite:///{folder / 'instance' / 'tunewright.db'}")
    with Session(engine) as db_session:
        db_session.add(TrainingSession(id=session_id, name=f"demo {session_id}", status="completed",
                                       config=parse_config(tiny_config(model_dir)).model_dump(mode="json"),
                                       output_dir=str(target), last_logs=[]))
        db_session.commit()
    engine.dispose()
    return session_id
