"""Issue 7, inputs that reached the wrong place: local paths as Hub ids, format strings, numbers, sizes."""
from __future__ import annotations

import io
import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from core.datasets import DatasetFormatError, RowReader
from core.datasets.prompts import Markers, render_system_prompt
from core.datasets.readers import MAX_RECORD_BYTES, sniff_delimiter
from core.training_config import ConfigValidationError, parse_config
from tests.dataset_fixtures import QA_ROWS, jsonl_bytes


def test_local_folder_is_not_a_hub_id_anywhere_in_the_api(client, tmp_path, monkeypatch):
    secret = tmp_path / "demo" / "secret"
    secret.mkdir(parents=True)
    (secret / "train.jsonl").write_bytes(jsonl_bytes(QA_ROWS))
    monkeypatch.chdir(tmp_path)  # the server's working directory holds demo/secret
    preview = client.post("/api/datasets/preview", json={"source": "demo/secret"})
    assert preview.status_code == 400 and "local path" in preview.json["error"]
    added = client.post("/api/datasets/catalog", json={"hub_id": "demo/secret"})
    assert added.status_code == 400 and "local path" in added.json["error"]
    start = client.post("/api/training/start", json={"config": {"dataset": {"source": "demo/secret"}}})
    assert start.status_code == 400
    assert client.get("/api/datasets/list").json["datasets"] == []


def test_format_specs_in_prompt_templates_are_plain_text_in_constant_memory(client):
    hostile = "Think {reasoning_start:>2000000000} and {reasoning_start.__class__.__mro__} then {solution_start}."
    tracemalloc.start()
    try:
        rendered = render_system_prompt(hostile, Markers())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert rendered == ("Think {reasoning_start:>2000000000} and {reasoning_start.__class__.__mro__} then "
                        "<SOLUTION>.")
    created = client.post("/api/prompt-templates", json={"name": "hostile", "system_prompt": hostile})
    assert created.status_code in (200, 201), created.json
    listed = client.get("/api/prompt-templates").json
    shown = [t for t in listed["templates"] if t["name"] == "hostile"][0]
    assert shown["rendered_system_prompt"] == rendered
    config = parse_config({"dataset": {"system_prompt": hostile}})
    assert config.dataset.resolved_system_prompt() == rendered


@pytest.mark.parametrize("body,path", [
    ('{"config": {"training": {"weight_decay": NaN}}}', None),
    ('{"config": {"reward": {"type": "components", "components": [{"name": "format", "weight": Infinity}]}}}', None),
    ('{"config": {"grpo": {"robust_clip": -Infinity}}}', None),
    ('{"config": {"model": {"lora_alpha": 1000000000000}}}', "model.lora_alpha"),
    ('{"config": {"training": {"seed": 123456789012345678901234567890}}}', "training.seed"),
    ('{"config": {"training": {"max_grad_norm": 1e308}}}', "training.max_grad_norm"),
    ('{"config": {"training": {"warmup_steps": 99999999999}}}', "training.warmup_steps"),
    ('{"config": {"reward": {"type": "components", "components": [{"name": "format", "weight": 1e9}]}}}',
     "reward.components.0.weight"),
    ('{"config": {}, "priority": []}', "priority"),
    ('{"config": {"model": {"name": "a/b/c"}}}', "model.name"),
    ('{"config": {"dataset": {"system_prompt": "x\\u0000y"}}}', None),
])
def test_bad_numbers_and_values_are_400_with_their_path(client, body, path):
    response = client.post("/api/training/start", data=body, content_type="application/json")
    assert response.status_code == 400, response.data
    if path:
        assert path in [d["path"] for d in response.json["details"]], response.json
    else:
        assert any(word in response.json["error"] for word in ("NaN", "Infinity", "NUL")), response.json


def test_schema_refuses_non_finite_numbers_directly():
    with pytest.raises(ConfigValidationError) as caught:
        parse_config({"training": {"weight_decay": float("nan"), "learning_rate": float("inf")}})
    assert {e["path"] for e in caught.value.errors} == {"training.weight_decay", "training.learning_rate"}


def test_dataset_source_is_normalised(client):
    config = parse_config({"dataset": {"source": "  builtin:arithmetic \n"}})
    assert config.dataset.source == "builtin:arithmetic"


def test_deeply_nested_json_is_a_clear_400(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/training/start", data=body, content_type="application/json")
    assert response.status_code == 400 and "nested" in response.json["error"]


# -- sizes ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_2gb_single_line_jsonl_fails_with_its_line_number_at_bounded_memory(tmp_path):
    path = tmp_path / "huge.jsonl"
    good = b'{"instruction": "ok", "response": "fine"}\n'
    with open(path, "wb") as f:
        f.write(good * 2000 + b'{"instruction": "')  # past the 64 KB head that the format check reads
        f.truncate(2 * 1024**3)  # sparse: 2 GiB of one line without costing the disk
    errors: list[DatasetFormatError] = []
    tracemalloc.start()
    try:
        rows = list(RowReader(path, "jsonl", on_error=errors.append))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 2000 and rows[0] == {"instruction": "ok", "response": "fine"}
    assert len(errors) == 1 and errors[0].line == 2001 and "longer than" in str(errors[0])
    assert peak < 3 * MAX_RECORD_BYTES  # a few buffers of one record, never the 2 GiB line
    with pytest.raises(DatasetFormatError, match="line 2001"):
        list(RowReader(path, "jsonl"))  # without a handler (training, preview) the error is raised


def test_a_huge_csv_field_is_reported_with_its_line(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b'instruction,response\nq,a\nq2,"' + b"x" * (MAX_RECORD_BYTES + 10) + b'"\nq3,a3\n')
    errors: list[DatasetFormatError] = []
    rows = list(RowReader(path, "csv", on_error=errors.append))
    assert {"instruction": "q", "response": "a"} in rows and errors and errors[0].line == 3


def test_a_hostile_64kb_csv_head_is_sniffed_quickly():
    """The standard library's Sniffer takes tens of seconds on this 64 KB head (measured: 33-52 s); ours reads
    only its first lines. Generous bound: the point is "not quadratic", not a benchmark."""
    for hostile in ('a,"' * 22_000, '",' * 33_000, "' " * 32_000):
        started = time.perf_counter()
        sniff_delimiter(hostile)
        assert time.perf_counter() - started < 1.0


def test_preview_cells_are_truncated_and_say_so(client, tmp_path):
    long_answer = "z" * 50_000
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"instruction": "q", "response": long_answer}) + "\n")
    upload = client.post("/api/datasets/upload", data={"file": (io.BytesIO(path.read_bytes()), "long.jsonl")},
                         content_type="multipart/form-data")
    assert upload.status_code == 202
    dataset_id = upload.json["dataset"]["id"]
    from services.datasets import jobs

    assert jobs.wait_all(60)
    preview = client.post("/api/datasets/preview", json={"id": dataset_id, "samples": 1, "render": False}).json
    row = preview["rows"][0]
    assert row["truncated"] is True and len(row["response"]) <= preview["cell_limit"] + 1
    assert row["response"].endswith("…")


def test_stale_incoming_parts_are_removed_at_start(test_config):
    from app_factory import create_app

    uploads = Path(test_config["UPLOAD_FOLDER"])
    uploads.mkdir(parents=True)
    stale, fresh = uploads / ".incoming-old.part", uploads / ".incoming-new.part"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    create_app(test_config)
    assert not stale.exists() and fresh.exists()  # a fresh part may belong to another live server process


def test_uploads_and_sessions_refuse_a_full_disk(test_config):
    from app_factory import create_app

    app = create_app({**test_config, "MIN_FREE_DISK_BYTES": 1 << 60})  # an exabyte: never free
    client = app.test_client()
    upload = client.post("/api/datasets/upload", data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 507 and "free" in upload.json["error"]
    assert list(Path(test_config["UPLOAD_FOLDER"]).iterdir()) == []
    start = client.post("/api/training/start", json={"config": {}})
    assert start.status_code == 507
