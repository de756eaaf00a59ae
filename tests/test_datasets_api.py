"""The datasets JSON API end to end through the HTTP test client: real files, real background processing."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from core.datasets import DatasetSpec, FieldMapping, load_examples
from tests.dataset_fixtures import (QA_ROWS, jsonl_bytes, parquet_bytes, upload, upload_and_process,
                                    wait_processed, write_big_jsonl)

pytestmark = pytest.mark.db

CSV_TEXT = "question,answer\n" + "".join(f'"{r["question"]}",{r["answer"]}\n' for r in QA_ROWS)


def uploads_in(app) -> list[Path]:
    return sorted(p for p in Path(app.config["UPLOAD_FOLDER"]).iterdir() if p.name != ".gitkeep")


@pytest.mark.parametrize("filename, data, fmt", [
    ("qa.json", json.dumps(QA_ROWS).encode(), "json"),
    ("qa_wrapped.json", json.dumps({"data": QA_ROWS}).encode(), "json"),
    ("qa.jsonl", jsonl_bytes(QA_ROWS), "jsonl"),
    ("qa.csv", CSV_TEXT.encode(), "csv"),
    ("qa_semicolon.csv", CSV_TEXT.replace(",", ";").encode(), "csv"),
    ("qa.parquet", parquet_bytes(QA_ROWS), "parquet"),
])
def test_upload_each_format_becomes_ready(app, client, filename, data, fmt):
    response = upload(client, filename, data, tags="math, tiny", description="twelve sums")
    assert response.status_code == 202
    assert response.json["dataset"]["status"] == "Processing"
    dataset = wait_processed(client, response.json["dataset"]["id"])
    assert dataset["status"] == "Ready", dataset["error"]
    assert dataset["type"] == fmt and dataset["source"] == "upload"
    assert dataset["row_count"] == len(QA_ROWS)
    assert [c["name"] for c in dataset["columns"]] == ["question", "answer"]
    assert dataset["mapping"]["instruction"] == "question" and dataset["mapping"]["response"] == "answer"
    assert dataset["original_filename"] == filename and dataset["name"] == Path(filename).stem
    assert dataset["size_bytes"] == len(data) and dataset["sha256"] == hashlib.sha256(data).hexdigest()
    assert dataset["tags"] == ["math", "tiny"] and dataset["description"] == "twelve sums"
    assert dataset["sample_rows"][0]["question"] == QA_ROWS[0]["question"]
    assert dataset["progress"] == 1.0 and dataset["duplicate_count"] == 0
    assert [p.suffix for p in uploads_in(app)] == [f".{fmt}"]


def test_chat_jsonl_is_mapped_to_messages(client):
    rows = [{"messages": [{"role": "user", "content": f"hi {i}"}, {"role": "assistant", "content": "hello"}]}
            for i in range(3)]
    dataset = upload_and_process(client, "chat.jsonl", jsonl_bytes(rows))
    assert dataset["status"] == "Ready" and dataset["mapping"]["messages"] == "messages"
    preview = client.post("/api/datasets/preview", json={"id": dataset["id"], "samples": 2, "render": False}).json
    assert [r["instruction"] for r in preview["rows"]] == ["hi 0", "hi 1"]


@pytest.mark.parametrize("filename, data, status, fragment", [
    ("truncated.json", json.dumps(QA_ROWS)[:-25].encode(), "Failed", "truncated"),
    ("badline.jsonl", jsonl_bytes(QA_ROWS[:3]) + b'{"question": oops}\n', "Failed", "line 4: bad JSON"),
    ("noheader.csv", b"What is 2+2?,4\nWhat is 3+3?,6\n", "Failed", "no header row"),
    ("bom.csv", b"\xef\xbb\xbf" + CSV_TEXT.encode(), "Ready", None),
    ("latin1.csv", "question,answer\ncaf\xe9,1\n".encode("latin-1"), "Failed", "Latin-1"),
    ("empty.jsonl", b"\n\n", "Failed", "empty"),
    ("binary.csv", bytes(range(256)) * 8, "Failed", "binary file"),
    ("not_really.parquet", CSV_TEXT.encode(), "Failed", "not a readable Parquet"),
])
def test_malformed_uploads_end_with_a_clear_status_never_a_500(client, filename, data, status, fragment):
    dataset = upload_and_process(client, filename, data)
    assert dataset["status"] == status, dataset
    if fragment:
        assert fragment in dataset["error"], dataset["error"]
        assert dataset["error_details"], dataset
    else:
        assert dataset["row_count"] == len(QA_ROWS) and dataset["columns"][0]["name"] == "question"
    listing = client.get("/api/datasets/list")
    assert listing.status_code == 200 and listing.json["datasets"][0]["id"] == dataset["id"]


def test_nested_parquet_is_ready_and_reported(client):
    table = pa.Table.from_pylist([{"question": "q", "answer": "a", "meta": {"tags": ["x"], "level": 2}}] * 2)
    dataset = upload_and_process(client, "nested.parquet", parquet_bytes(table))
    assert dataset["status"] == "Ready"
    assert {c["name"]: c["type"] for c in dataset["columns"]}["meta"] == "object"
    assert any("'meta' is nested" in w for w in dataset["warnings"])
    assert dataset["duplicate_count"] == 1


def test_a_bad_file_never_breaks_the_list_or_other_datasets(client):
    good = upload_and_process(client, "good.jsonl", jsonl_bytes(QA_ROWS))
    bad = upload_and_process(client, "bad.json", b"[{")
    listing = client.get("/api/datasets/list").json["datasets"]
    assert {d["id"]: d["status"] for d in listing} == {good["id"]: "Ready", bad["id"]: "Failed"}
    assert client.get(f"/api/datasets/{good['id']}").json["dataset"]["status"] == "Ready"


@pytest.mark.parametrize("filename", [
    "../../../../etc/passwd.csv", "/etc/cron.d/evil.csv", "..\\..\\windows\\evil.csv", "naïve 数据 ☃.csv",
    "....csv", "\x00\x07bell.csv", "a/" + "x" * 400 + ".csv",
])
def test_odd_filenames_are_stored_safely_inside_uploads(app, client, filename):
    dataset = upload_and_process(client, filename, CSV_TEXT.encode())
    assert dataset["status"] == "Ready"
    stored = uploads_in(app)
    assert len(stored) == 1 and stored[0].parent == Path(app.config["UPLOAD_FOLDER"])
    assert stored[0].name.endswith(".csv") and len(stored[0].stem) == 32  # a generated name only
    shown = dataset["original_filename"]
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown and len(shown) <= 255
    download = client.get(f"/api/datasets/{dataset['id']}/download")
    assert download.status_code == 200 and download.data == CSV_TEXT.encode()
    assert "attachment" in download.headers["Content-Disposition"]


def test_unicode_name_is_kept_for_display_and_download(client):
    dataset = upload_and_process(client, "naïve 数据.jsonl", jsonl_bytes(QA_ROWS))
    assert dataset["original_filename"] == "naïve 数据.jsonl" and dataset["name"] == "naïve 数据"
    disposition = client.get(f"/api/datasets/{dataset['id']}/download").headers["Content-Disposition"]
    assert "filename*=UTF-8''na%C3%AFve%20%E6%95%B0%E6%8D%AE.jsonl" in disposition


def test_upload_over_the_limit_gets_413_json_and_leaves_nothing(app, client):
    app.config["MAX_UPLOAD_BYTES"] = 2048
    response = upload(client, "big.jsonl", b"x" * 10_000)
    assert response.status_code == 413
    assert response.is_json and "upload limit of 2 KB" in response.json["error"]
    assert uploads_in(app) == []
    assert client.get("/api/datasets/list").json["datasets"] == []
    small = upload(client, "small.jsonl", jsonl_bytes(QA_ROWS[:2]))
    assert small.status_code == 202


def test_limit_is_enforced_while_streaming_without_content_length(app):
    """A chunked body has no Content-Length: the limit applies to the bytes actually written."""
    from services.datasets.uploads import UploadTooLarge, _HashingFile

    part = _HashingFile(Path(app.config["UPLOAD_FOLDER"]) / "probe.part", limit=10)
    part.write(b"12345")
    with pytest.raises(UploadTooLarge, match="upload limit of 10 bytes"):
        part.write(b"678901")
    part.close()


@pytest.mark.parametrize("kwargs, status, fragment", [
    ({"data": {"nofile": "x"}, "content_type": "multipart/form-data"}, 400, "field 'file'"),
    ({"json": {"file": "x"}}, 400, "multipart/form-data"),
])
def test_upload_without_a_file_is_a_400(client, kwargs, status, fragment):
    response = client.post("/api/datasets/upload", **kwargs)
    assert response.status_code == status and fragment in response.json["error"]


def test_empty_upload_is_refused(app, client):
    response = upload(client, "nothing.csv", b"")
    assert response.status_code == 400 and "empty" in response.json["error"]
    assert uploads_in(app) == []


def test_patch_name_description_tags_and_mapping(client):
    rows = [{"prompt": f"p{i}", "completion": f"c{i}", "notes": "n"} for i in range(3)]
    dataset = upload_and_process(client, "pc.jsonl", jsonl_bytes(rows))
    assert dataset["mapping"]["instruction"] == "prompt"
    response = client.patch(f"/api/datasets/{dataset['id']}", json={
        "name": "Renamed", "description": "new", "tags": ["a", "b", "a"],
        "mapping": {"instruction": "notes", "response": "completion"}})
    assert response.status_code == 200
    changed = response.json["dataset"]
    assert (changed["name"], changed["description"], changed["tags"]) == ("Renamed", "new", ["a", "b"])
    assert changed["mapping"]["instruction"] == "notes"
    assert client.get("/api/datasets/list?tag=B").json["datasets"][0]["name"] == "Renamed"
    bad = client.patch(f"/api/datasets/{dataset['id']}", json={"mapping": {"instruction": "nope"}})
    assert bad.status_code == 400 and "no column named 'nope'" in bad.json["details"][0]
    assert client.patch(f"/api/datasets/{dataset['id']}", json={"status": "Ready"}).status_code == 400
    assert client.patch(f"/api/datasets/{dataset['id']}", json={"name": "  "}).status_code == 400
    assert client.patch("/api/datasets/999", json={"name": "x"}).status_code == 404


def test_list_filters_by_type_status_and_tag(client):
    upload_and_process(client, "a.jsonl", jsonl_bytes(QA_ROWS), tags="math")
    upload_and_process(client, "b.csv", CSV_TEXT.encode(), tags="general")
    upload_and_process(client, "c.csv", b"What is 2+2?,4\n")
    names = lambda query: sorted(d["name"] for d in client.get(f"/api/datasets/list{query}").json["datasets"])  # noqa: E731
    assert names("") == ["a", "b", "c"]
    assert names("?type=csv") == ["b", "c"]
    assert names("?status=failed") == ["c"]
    assert names("?status=Ready&type=csv") == ["b"]
    assert names("?tag=math") == ["a"]


def test_delete_removes_row_and_file(app, client):
    dataset = upload_and_process(client, "x.jsonl", jsonl_bytes(QA_ROWS))
    assert len(uploads_in(app)) == 1
    assert client.delete(f"/api/datasets/{dataset['id']}").json == {"deleted": dataset["id"]}
    assert uploads_in(app) == []
    assert client.get(f"/api/datasets/{dataset['id']}").status_code == 404
    assert client.delete(f"/api/datasets/{dataset['id']}").status_code == 404


def test_delete_of_an_in_use_dataset_is_refused_naming_the_session(app, client):
    from services.datasets import register_usage_checker, unregister_usage_checker

    dataset = upload_and_process(client, "used.jsonl", jsonl_bytes(QA_ROWS))
    in_use = {dataset["id"]}

    def checker(dataset_id: int) -> list[str]:
        return ["session 12 (running)"] if dataset_id in in_use else []

    register_usage_checker(checker)
    try:
        response = client.delete(f"/api/datasets/{dataset['id']}")
        assert response.status_code == 409
        assert "session 12 (running)" in response.json["error"] and response.json["details"] == [
            "session 12 (running)"]
        assert len(uploads_in(app)) == 1
        in_use.clear()  # the session finished
        assert client.delete(f"/api/datasets/{dataset['id']}").status_code == 200
    finally:
        unregister_usage_checker(checker)


def test_preview_by_id_path_and_source(app, client):
    dataset = upload_and_process(client, "alpaca.json", json.dumps(
        [{"instruction": f"Do {i}", "input": "now" if i else "", "output": f"done {i}"} for i in range(8)]).encode())
    by_id = client.post("/api/datasets/preview", json={"id": dataset["id"], "samples": 3, "render": False}).json
    assert by_id["total_rows"] == 8 and len(by_id["rows"]) == 3
    assert by_id["rows"][1]["instruction"] == "Do 1\n\nnow" and by_id["rows"][0]["response"] == "done 0"
    stored = uploads_in(app)[0].name
    by_path = client.post("/api/datasets/preview", json={"path": stored, "samples": 2, "render": False}).json
    assert [r["response"] for r in by_path["rows"]] == ["done 0", "done 1"]
    overridden = client.post("/api/datasets/preview", json={
        "id": dataset["id"], "samples": 1, "render": False, "instruction_field": "output"}).json
    assert overridden["rows"][0]["instruction"] == "done 0"
    builtin = client.post("/api/datasets/preview", json={"source": "builtin:arithmetic", "split": "test",
                                                         "samples": 2, "render": False}).json
    assert builtin["total_rows"] == 50 and builtin["columns"] == ["question", "answer", "reasoning"]
    via_ref = client.post("/api/datasets/preview", json={"source": f"dataset:{dataset['id']}", "render": False})
    assert via_ref.status_code == 200 and len(via_ref.json["rows"]) == 5


@pytest.mark.parametrize("payload, status, fragment", [
    ({"path": "../../etc/passwd"}, 400, "not allowed"),
    ({"path": "/etc/passwd"}, 400, "not allowed"),
    ({"path": "missing.jsonl"}, 404, "No uploaded file"),
    ({"id": 999}, 404, "No dataset"),
    ({"samples": 5}, 400, "Say what to preview"),
    ({"source": "builtin:arithmetic", "samples": 0}, 400, "between 1 and 100"),
    ({"source": "builtin:nope"}, 400, "no built-in"),
    ({"source": "openai/gsm8k"}, 503, "offline"),
])
def test_preview_errors_are_clear(client, payload, status, fragment):
    response = client.post("/api/datasets/preview", json=payload)
    assert response.status_code == status and fragment in response.json["error"], response.json


def test_preview_of_a_broken_file_says_where(client):
    dataset = upload_and_process(client, "broken.jsonl", b'{"question": "a", "answer": "b"}\n{bad\n')
    response = client.post("/api/datasets/preview", json={"id": dataset["id"], "samples": 5, "render": False})
    assert response.status_code == 400 and "line 2" in response.json["error"]


@pytest.mark.slow
def test_preview_of_a_large_file_reads_only_the_head(app, client, tmp_path):
    big = Path(app.config["UPLOAD_FOLDER"]) / "big.jsonl"
    rows = write_big_jsonl(big, 50 * 1024 * 1024)
    started = time.monotonic()
    response = client.post("/api/datasets/preview", json={"path": big.name, "samples": 10, "render": False})
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and len(response.json["rows"]) == 10
    assert response.json["rows"][9]["instruction"].startswith("Summarise #9 ")
    assert elapsed < 2.0, f"preview of a {rows}-row file took {elapsed:.2f} s"


@pytest.mark.slow
def test_preview_renders_the_chat_template_with_the_system_prompt(app, client, tiny_model_dir):
    import shutil

    from core.default_model import prepared_model_dir

    target = prepared_model_dir(app.config["MODEL_CACHE"])
    target.mkdir(parents=True)
    for item in tiny_model_dir.iterdir():
        if "token" in item.name or item.name.endswith(".jinja"):
            shutil.copy(item, target / item.name)
    result = client.post("/api/datasets/preview", json={"source": "builtin:arithmetic", "samples": 2}).json
    question = result["rows"][0]["instruction"]
    assert result["tokenizer"].endswith("(prepared default model)")
    assert result["prompts"][0] == (f"<|im_start|>system\n{result['system_prompt']}<|im_end|>\n"
                                    f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n")
    assert "<start_working_out>" in result["system_prompt"] and "<SOLUTION>" in result["system_prompt"]
    custom = client.post("/api/datasets/preview", json={"source": "builtin:arithmetic", "samples": 1,
                                                        "system_prompt": "Answer tersely."}).json
    assert "<|im_start|>system\nAnswer tersely.<|im_end|>" in custom["prompts"][0]


def test_catalog_offline_is_clear_and_immediate(client):
    started = time.monotonic()
    response = client.get("/api/datasets/catalog")
    assert time.monotonic() - started < 2
    data = response.json
    assert response.status_code == 200
    assert data["hub"]["online"] is False and "offline" in data["hub"]["message"]
    ids = {e["hub_id"] for e in data["entries"]}
    assert {"tatsu-lab/alpaca", "openai/gsm8k", "nvidia/OpenMathReasoning", "sahil2801/CodeAlpaca-20k",
            "databricks/databricks-dolly-15k", "microsoft/orca-math-word-problems-200k",
            "rajpurkar/squad_v2"} <= ids
    gsm8k = next(e for e in data["entries"] if e["hub_id"] == "openai/gsm8k")
    assert (gsm8k["config_name"], gsm8k["split"], gsm8k["category"]) == ("main", "train", "Math")
    assert gsm8k["mapping"]["instruction"] == "question" and gsm8k["approx_rows"] > 8000
    assert gsm8k["available"] is False and gsm8k["cached"] is False
    assert {b["source"] for b in data["builtin"]} == {"builtin:arithmetic", "builtin:instructions"}
    maths = client.get("/api/datasets/catalog?category=math").json["entries"]
    assert maths and {e["category"] for e in maths} == {"Math"}
    assert client.get("/api/datasets/catalog?category=Poetry").status_code == 400


def test_adding_a_hub_dataset_offline_is_refused_at_once(client):
    started = time.monotonic()
    response = client.post("/api/datasets/catalog", json={"hub_id": "someone/some-set", "split": "train"})
    assert time.monotonic() - started < 2
    assert response.status_code == 503 and "offline" in response.json["error"]
    assert client.get("/api/datasets/list").json["datasets"] == []
    assert client.post("/api/datasets/catalog", json={"hub_id": "../etc"}).status_code == 400
    assert client.post("/api/datasets/catalog", json={"hub_id": "a/b", "split": "../x"}).status_code == 400


def test_added_hub_dataset_is_processed_from_the_cache_offline(app, client, tmp_path):
    """Offline, a Hub dataset already in the ``datasets`` cache can be added, processed and trained on.

    The cache is primed without a network: ``datasets`` builds a local folder named like the repo, and its
    prepared Arrow files are copied to where a download of ``someone/local-set`` would have put them.
    """
    import shutil

    import datasets

    from services.datasets import resolve_for_training

    cache = tmp_path / "hf-cache"
    app.config["HF_DATASETS_CACHE"] = str(cache)
    folder = tmp_path / "local-set"
    folder.mkdir()
    (folder / "train.jsonl").write_bytes(jsonl_bytes(QA_ROWS))
    datasets.load_dataset(str(folder), split="train", cache_dir=str(cache))
    shutil.copytree(cache / "local-set", cache / "someone___local-set")

    catalog = client.get("/api/datasets/catalog").json
    assert catalog["hub"]["online"] is False
    response = client.post("/api/datasets/catalog", json={"hub_id": "someone/local-set", "tags": ["cached"]})
    assert response.status_code == 202
    dataset = wait_processed(client, response.json["dataset"]["id"])
    assert dataset["status"] == "Ready", dataset["error"]
    assert (dataset["source"], dataset["type"], dataset["hub_id"]) == ("hub", "hub", "someone/local-set")
    assert dataset["row_count"] == len(QA_ROWS) and dataset["mapping"]["instruction"] == "question"
    assert client.get(f"/api/datasets/{dataset['id']}/download").status_code == 400
    preview = client.post("/api/datasets/preview", json={"id": dataset["id"], "samples": 2, "render": False}).json
    assert preview["rows"][1]["instruction"] == QA_ROWS[1]["question"]
    with app.app_context():
        spec = resolve_for_training(f"dataset:{dataset['id']}")
    assert (spec.kind, spec.name, spec.cache_dir) == ("hub", "someone/local-set", str(cache))
    assert len(load_examples(spec, max_samples=5)) == 5


def test_reprocess_runs_again(client):
    dataset = upload_and_process(client, "r.jsonl", jsonl_bytes(QA_ROWS))
    response = client.post(f"/api/datasets/{dataset['id']}/reprocess")
    assert response.status_code == 202 and response.json["dataset"]["status"] == "Processing"
    assert wait_processed(client, dataset["id"])["status"] == "Ready"


def test_interrupted_processing_is_marked_failed(app, client):
    from extensions import db
    from services.models import DatasetRecord
    from services.models.base import utcnow
    from datetime import timedelta

    with app.app_context():
        record = DatasetRecord(name="ghost", source_kind="upload", format="jsonl", status="Processing",
                               stored_path="gone.jsonl", description="", tags=[], mapping={}, columns=[],
                               sample_rows=[], error_details=[], warnings=[], progress=0.3)
        db.session.add(record)
        db.session.commit()
        record.updated_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        ghost_id = record.id
    dataset = client.get(f"/api/datasets/{ghost_id}").json["dataset"]
    assert dataset["status"] == "Failed" and "interrupted" in dataset["error"]


# -- the training engine's contract -----------------------------------------------------------------
def test_resolve_for_training_sources(app, client):
    from services.datasets import resolve_for_training
    from services.errors import NotFoundError, ServiceError

    ready = upload_and_process(client, "t.jsonl", jsonl_bytes(
        [{"question": f"q{i}", "answer": str(i), "hint": f"h{i}"} for i in range(6)]))
    failed = upload_and_process(client, "f.csv", b"What is 2+2?,4\n")
    with app.app_context():
        spec = resolve_for_training(f"dataset:{ready['id']}")
        assert spec.kind == "file" and spec.format == "jsonl" and Path(spec.name).is_file()
        assert Path(spec.name).parent == Path(app.config["UPLOAD_FOLDER"])
        assert spec.mapping == FieldMapping(instruction="question", response="answer")
        round_trip = DatasetSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert load_examples(round_trip)[2] == {"instruction": "q2", "response": "2"}
        hinted = resolve_for_training(f"dataset:{ready['id']}", response_field="hint")
        assert hinted.mapping.response == "hint" and hinted.mapping.instruction == "question"
        assert resolve_for_training("builtin:arithmetic", split="test").split == "test"
        assert resolve_for_training("builtin:instructions").mapping.instruction == "instruction"
        for source, error, fragment in [
            (f"dataset:{failed['id']}", ServiceError, "is Failed"),
            ("dataset:999", NotFoundError, "No dataset"),
            ("builtin:nope", NotFoundError, "No built-in"),
            ("/etc/passwd", ServiceError, "Local paths are not accepted"),
            (str(Path(app.config["UPLOAD_FOLDER"]) / "x.jsonl"), ServiceError, "Unknown dataset source"),
            ("openai/gsm8k", ServiceError, "not available"),
            ("", ServiceError, "No dataset source"),
        ]:
            with pytest.raises(error, match=fragment):
                resolve_for_training(source)
        with pytest.raises(ServiceError, match="cannot be used") as excinfo:
            resolve_for_training(f"dataset:{ready['id']}", instruction_field="nope")
        assert "no column named 'nope'" in excinfo.value.details[0]
        with pytest.raises(ServiceError, match="no split"):
            resolve_for_training("builtin:arithmetic", split="validation")


def test_resolve_processing_dataset_is_refused(app, client):
    from services.datasets import resolve_for_training
    from services.errors import ServiceError

    response = upload(client, "slow.jsonl", jsonl_bytes(QA_ROWS))
    dataset_id = response.json["dataset"]["id"]
    with app.app_context():
        from extensions import db
        from services.models import DatasetRecord

        wait_processed(client, dataset_id)
        record = db.session.get(DatasetRecord, dataset_id)
        record.status = "Processing"  # as if a reprocess were running
        db.session.commit()
        from services.datasets import jobs

        jobs._active[dataset_id] = threading.Event()  # noqa: SLF001 - a job "running" in this process
        try:
            with pytest.raises(ServiceError, match="is Processing"):
                resolve_for_training(f"dataset:{dataset_id}")
        finally:
            jobs._active.pop(dataset_id, None)  # noqa: SLF001
