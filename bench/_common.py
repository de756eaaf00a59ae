"""Shared bench helpers: an app on temporary folders that reuses the prepared default model."""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


WORDS = ("the model reads each example and learns to answer questions about numbers words code and "
         "science with short clear reasoning before the final result is given").split()


def write_jsonl(path: Path, rows) -> None:
    """Generated rows as JSON Lines, written in blocks (one write per row is several times slower)."""
    with open(path, "w", encoding="utf-8") as f:
        block = []
        for row in rows:
            block.append(json.dumps(row))
            if len(block) == 10_000:
                f.write("\n".join(block) + "\n")
                block = []
        if block:
            f.write("\n".join(block) + "\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def model_cache() -> str:
    return os.environ.get("TUNEWRIGHT_MODEL_CACHE") or str(ROOT / "instance" / "models")


def prepared_default_model() -> str:
    from core.default_model import prepare_default_model

    return str(prepare_default_model(model_cache()))


def bench_app():
    from app_factory import create_app

    folder = Path(tempfile.mkdtemp(prefix="tunewright-bench-"))
    config = {"TESTING": True, "INSTANCE_PATH": str(folder / "instance"), "MODEL_CACHE": model_cache(),
              **{key: str(folder / key.lower()) for key in ("UPLOAD_FOLDER", "OUTPUT_FOLDER", "EXPORT_FOLDER",
                                                           "CONFIG_FOLDER", "LOG_DIR")},
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}"}
    return create_app(config), folder


def run_session(app, config: dict, poll: float = 0.5, timeout: float = 3600) -> dict:
    """Start a session through the HTTP API and wait for it to end; returns the detail JSON."""
    client = app.test_client()
    response = client.post("/api/training/start", json={"config": config})
    assert response.status_code == 201, response.json
    sid = response.json["session"]["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = client.get(f"/api/training/sessions/{sid}").json
        if detail["session"]["status"] in ("completed", "failed", "stopped"):
            return detail
        time.sleep(poll)
    raise TimeoutError(sid)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]
