"""Helpers for the dataset tests: upload through the HTTP client, wait for processing, build odd files."""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

QA_ROWS = [{"question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(1, 13)]


def upload(client, filename: str, data: bytes, **form):
    """POST the bytes as multipart ``file`` with the given file name (any string, sent as is)."""
    return client.post("/api/datasets/upload", data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def wait_processed(client, dataset_id: int, timeout: float = 30.0) -> dict:
    """Poll the API until the dataset leaves Processing; returns its detail."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/datasets/{dataset_id}")
        assert response.status_code == 200, response.json
        dataset = response.json["dataset"]
        if dataset["status"] != "Processing":
            return dataset
        if time.monotonic() > deadline:
            raise AssertionError(f"dataset {dataset_id} still processing after {timeout} s: {dataset}")
        time.sleep(0.05)


def upload_and_process(client, filename: str, data: bytes, **form) -> dict:
    response = upload(client, filename, data, **form)
    assert response.status_code == 202, response.json
    return wait_processed(client, response.json["dataset"]["id"])


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def parquet_bytes(rows: list[dict] | pa.Table) -> bytes:
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_big_jsonl(path: Path, target_bytes: int) -> int:
    """A JSONL file of about ``target_bytes`` (written in blocks); returns its row count."""
    line = json.dumps({"instruction": "Summarise the following paragraph in one sentence. " + "lorem ipsum " * 12,
                       "output": "A summary. " * 6})
    block_rows = 2000
    rows = 0
    with open(path, "w", encoding="utf-8") as f:
        while f.tell() < target_bytes:
            f.write("".join(line.replace("Summarise", f"Summarise #{rows + i}") + "\n" for i in range(block_rows)))
            rows += block_rows
    return rows
