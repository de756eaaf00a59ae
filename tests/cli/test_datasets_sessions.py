"""`datasets upload|list|preview` and `sessions` on this machine's database."""
from __future__ import annotations

import json

import pytest

from tests.cli.conftest import write_jsonl

pytestmark = pytest.mark.slow


def test_upload_list_and_preview_a_dataset(cli, tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"question": f"What is {i} + {i}?", "answer": str(2 * i)}
                                               for i in range(7)])
    uploaded = cli.run("datasets", "upload", path, "--name", "doubling", "--tags", "math")
    assert uploaded.returncode == 0, uploaded.stderr[-3000:]
    assert "doubling" in uploaded.stdout and "Ready" in uploaded.stdout and "dataset:1" in uploaded.stdout

    records = json.loads(cli.run("datasets", "list", "--json").stdout)
    assert [(r["id"], r["name"], r["status"], r["row_count"], r["tags"]) for r in records] == \
        [(1, "doubling", "Ready", 7, ["math"])]

    preview = cli.run("datasets", "preview", "1", "-n", "2")
    assert preview.returncode == 0, preview.stderr[-3000:]
    assert "What is 0 + 0?" in preview.stdout and "What is 1 + 1?" in preview.stdout
    assert "What is 2 + 2?" not in preview.stdout


def test_stopping_a_missing_session_says_so(cli):
    result = cli.run("sessions", "stop", "nope")
    assert result.returncode == 1 and "No training session 'nope'" in result.stderr
