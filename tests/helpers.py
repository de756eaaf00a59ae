"""Test helpers: config factories, database reset, the tiny model builder."""
from __future__ import annotations

import os
import time
from pathlib import Path

TEST_DATABASE_ENV = "TUNEWRIGHT_TEST_DATABASE_URL"


def database_url(tmp_path: Path) -> str:
    """PostgreSQL when CI provides one, else an SQLite file in the test's folder."""
    return os.environ.get(TEST_DATABASE_ENV) or f"sqlite:///{tmp_path / 'instance' / 'tunewright.db'}"


def make_test_config(tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "OUTPUT_FOLDER": str(tmp_path / "outputs"),
        "EXPORT_FOLDER": str(tmp_path / "exports"),
        "CONFIG_FOLDER": str(tmp_path / "configs"),
        "LOG_DIR": str(tmp_path / "logs"),
        "MODEL_CACHE": str(tmp_path / "models"),
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
    }


def reset_database(url: str) -> None:
    """Drop every table of a shared (PostgreSQL) test database; SQLite files are new per test."""
    if url.startswith("sqlite"):
        return
    from sqlalchemy import MetaData, create_engine

    from services.database import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


def build_tiny_model(folder: Path) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from core.default_model import load_bundled_tokenizer

    tokenizer = load_bundled_tokenizer()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def poll(client, url: str, key: str, timeout: float = 240) -> dict:
    """GET ``url`` until the object under ``key`` has left queued/running (a batch run, an evaluation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url).get_json()[key]
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"{url} still {body['status']}")
