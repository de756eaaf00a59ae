"""Run the CLI as a subprocess with every data folder, the database and the prompts folder in a temporary
directory (the TUNEWRIGHT_* variables), as a user's shell would."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CliEnv:
    folder: Path
    env: dict

    def run(self, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout, **kwargs)

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)

    @property
    def prompts(self) -> Path:
        return self.folder / "prompts"

    @property
    def outputs(self) -> Path:
        return self.folder / "outputs"


def cli_environment(folder: Path) -> dict:
    env = dict(os.environ, TUNEWRIGHT_ENV="testing", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONUNBUFFERED="1",
               TUNEWRIGHT_INSTANCE_DIR=str(folder / "instance"), TUNEWRIGHT_UPLOAD_DIR=str(folder / "uploads"),
               TUNEWRIGHT_OUTPUT_DIR=str(folder / "outputs"), TUNEWRIGHT_EXPORT_DIR=str(folder / "exports"),
               TUNEWRIGHT_CONFIG_DIR=str(folder / "configs"), TUNEWRIGHT_LOG_DIR=str(folder / "logs"),
               TUNEWRIGHT_MODEL_CACHE=str(folder / "models"), TUNEWRIGHT_PROMPTS_DIR=str(folder / "prompts"))
    env.pop("DATABASE_URL", None)
    env.pop("TUNEWRIGHT_TOKEN", None)  # a configured token is always enforced: tests that want one set it
    return env


@pytest.fixture
def cli(tmp_path) -> CliEnv:
    return CliEnv(tmp_path, cli_environment(tmp_path))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def qa_rows() -> list[dict]:
    from tests.training_helpers import arithmetic_rows

    return [{"prompt": r["instruction"], "response": r["response"]} for r in arithmetic_rows(4)]
