"""core.datasets without Flask: readers, profiler, mapping detection, built-ins, load_examples for every kind."""
from __future__ import annotations

import dataclasses
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.datasets import (DatasetFormatError, DatasetSpec, DatasetUnavailableError, FieldMapping, RowReader,
                           detect_format, detect_mapping, load_examples, normalise_row, profile_file, seeded_sample)
from core.datasets import arithmetic, instructions
from core.datasets.hub import hub_status, load_hub_dataset
from tests.dataset_fixtures import QA_ROWS, jsonl_bytes


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# -- spec ---------------------------------------------------------------------------------------
def test_spec_round_trips_through_json():
    spec = DatasetSpec("file", "/data/x.csv", format="csv",
                       mapping=FieldMapping(instruction="q", response="a", input="ctx"))
    data = json.loads(json.dumps(dataclasses.asdict(spec)))
    assert DatasetSpec.from_dict(data) == spec
    assert DatasetSpec.from_dict({"kind": "builtin", "name": "arithmetic"}).split == "train"
    with pytest.raises(ValueError, match="format"):
        DatasetSpec("file", "/x", format="xlsx")
    with pytest.raises(ValueError, match="kind"):
        DatasetSpec("url", "http://x")


def test_core_does_not_import_flask():
    import subprocess

    code = "import core.datasets, sys; print('flask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- readers and profiles -------------------------------------------------------------------------
@pytest.mark.parametrize("name, data, fmt", [
    ("list.json", json.dumps(QA_ROWS), "json"),
    ("wrapped.json", json.dumps({"meta": {"v": 1}, "tags": ["x"], "data": QA_ROWS}, indent=2), "json"),
    ("rows.jsonl", jsonl_bytes(QA_ROWS), "jsonl"),
    ("comma.csv", "question,answer\n" + "".join(f'"{r["question"]}",{r["answer"]}\n' for r in QA_ROWS), "csv"),
    ("semi.csv", "question;answer\n" + "".join(f'{r["question"]};{r["answer"]}\n' for r in QA_ROWS), "csv"),
    ("tabs.tsv", "question\tanswer\n" + "".join(f'{r["question"]}\t{r["answer"]}\n' for r in QA_ROWS), "csv"),
    ("tab.csv", "question\tanswer\n" + "".join(f'{r["question"]}\t{r["answer"]}\n' for r in QA_ROWS), "csv"),
])
def test_each_text_format_profiles_the_same_rows(tmp_path, name, data, fmt):
    path = write(tmp_path, name, data)
    assert detect_format(path) == fmt
    profile = profile_file(path, fmt)
    assert profile.ok, profile.errors
    assert profile.row_count == len(QA_ROWS)
    assert [c["name"] for c in profile.columns] == ["question", "answer"]
    assert profile.mapping == FieldMapping(instruction="question", response="answer")
    rows = list(RowReader(path, fmt))
    assert [r["question"] for r in rows] == [r["question"] for r in QA_ROWS]


def test_csv_numbers_are_typed_and_json_types_kept(tmp_path):
    csv_path = write(tmp_path, "t.csv", "name,count,ratio\na,1,0.5\nb,2,1\nc,,2.5\n")
    columns = {c["name"]: c for c in profile_file(csv_path, "csv").columns}
    assert (columns["name"]["type"], columns["count"]["type"], columns["ratio"]["type"]) == ("string", "integer", "float")
    assert columns["count"]["empty"] == 1
    jsonl = write(tmp_path, "t.jsonl", jsonl_bytes([{"a": 1, "b": "x"}, {"a": "two", "b": None}, {"b": "  "}]))
    profile = profile_file(jsonl, "jsonl")
    columns = {c["name"]: c for c in profile.columns}
    assert columns["a"]["type"] == "mixed" and columns["a"]["empty"] == 1  # missing in row 3
    assert columns["b"]["empty"] == 2  # null and blank
    assert profile.empty_count == 2


def test_duplicates_and_sample(tmp_path):
    rows = QA_ROWS[:3] + [QA_ROWS[0], QA_ROWS[0]]
    profile = profile_file(write(tmp_path, "d.jsonl", jsonl_bytes(rows)), "jsonl")
    assert profile.duplicate_count == 2
    assert profile.sample_rows == [json.loads(json.dumps(r)) for r in rows[:5]]
    assert any("repeat" in w for w in profile.warnings)


@pytest.mark.parametrize("name, data, fmt, expected_line, fragment", [
    ("bad.jsonl", jsonl_bytes(QA_ROWS[:4]) + b'{"question": "x", oops}\n' + jsonl_bytes(QA_ROWS[4:]),
     "jsonl", 5, "bad JSON"),
    ("array.jsonl", b'{"a": 1}\n[1, 2]\n', "jsonl", 2, "expected a JSON object"),
    ("truncated.json", json.dumps(QA_ROWS, indent=1)[:-40].encode(), "json", None, "truncated"),
    ("noheader.csv", b"What is 2+2?,4\nWhat is 3+3?,6\n", "csv", 1, "no header row"),
    ("latin1.csv", "question,answer\nna\xefve,1\ncaf\xe9,2\n".encode("latin-1"), "csv", 2, "Latin-1"),
    ("latin1.jsonl", '{"q": "ok"}\n{"q": "caf\xe9"}\n'.encode("latin-1"), "jsonl", 2, "not UTF-8"),
    ("empty.csv", b"", "csv", None, "empty"),
    ("blank.jsonl", b"\n  \n", "jsonl", None, "empty"),
    ("binary.csv", bytes(range(256)) * 4, "csv", 1, "binary"),
    ("parquet.csv", b"PAR1" + b"\x00" * 64, "csv", None, "Parquet file"),
    ("fake.parquet", b"question,answer\nx,y\n", "parquet", None, "not a readable Parquet"),
    ("ragged.csv", b"question,answer\na,b\nc,d,e\n", "csv", 3, "3 fields"),
    ("scalar.json", b'"just text"', "json", 1, "list of objects"),
    ("nolist.json", b'{"a": 1, "b": {"c": 2}}', "json", None, "no list of records"),
    ("twodocs.json", b'[{"a": 1}]\n[{"a": 2}]', "json", 2, "extra data"),
])
def test_malformed_files_fail_with_a_located_message(tmp_path, name, data, fmt, expected_line, fragment):
    profile = profile_file(write(tmp_path, name, data), fmt)
    assert not profile.ok
    assert fragment.lower() in profile.summary().lower(), profile.summary()
    if expected_line is not None:
        assert profile.errors[0]["line"] == expected_line
        assert profile.summary().startswith(f"line {expected_line}:")


def test_bad_jsonl_line_deep_in_the_file_is_located_and_counted(tmp_path):
    rows = [{"question": f"q{i}", "answer": str(i)} for i in range(20_000)]
    lines = [json.dumps(r) for r in rows]
    lines[18_232] = '{"question": "q18232", "answer": '  # line 18 233
    lines[19_000] = "not json"
    profile = profile_file(write(tmp_path, "big.jsonl", "\n".join(lines) + "\n"), "jsonl")
    assert profile.row_count == 19_998 and profile.error_count == 2
    assert [e["line"] for e in profile.errors] == [18_233, 19_001]
    assert profile.summary().startswith("line 18233: bad JSON") and "1 more problem" in profile.summary()


def test_utf8_bom_is_skipped_in_every_text_format(tmp_path):
    bom = b"\xef\xbb\xbf"
    for name, body, fmt in (("b.csv", "question,answer\ncafé,1\n", "csv"),
                            ("b.jsonl", '{"question": "café", "answer": "1"}\n', "jsonl"),
                            ("b.json", '[{"question": "café", "answer": "1"}]', "json")):
        profile = profile_file(write(tmp_path, name, bom + body.encode()), fmt)
        assert profile.ok, profile.errors
        assert profile.columns[0]["name"] == "question" and profile.sample_rows[0]["question"] == "café"


def test_parquet_with_nested_columns_is_ready_with_chat_mapping(tmp_path):
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
            {"role": "assistant", "content": "Hello."}]
    table = pa.Table.from_pylist([{"messages": chat, "meta": {"source": "x", "score": 1.5}, "n": i}
                                  for i in range(4)])
    pq.write_table(table, tmp_path / "chat.parquet")
    profile = profile_file(tmp_path / "chat.parquet", "parquet")
    assert profile.ok and profile.row_count == 4
    types = {c["name"]: c["type"] for c in profile.columns}
    assert types == {"messages": "list", "meta": "object", "n": "integer"}
    assert profile.mapping.messages == "messages"
    assert any("'meta' is nested" in w for w in profile.warnings)
    examples = load_examples(DatasetSpec("file", str(tmp_path / "chat.parquet"), format="parquet",
                                         mapping=profile.mapping))
    assert examples[0] == {"instruction": "Hi?", "response": "Hello.", "system": "Be brief."}
    nested_as_text = normalise_row({"meta": {"source": "x"}, "q": "a"}, FieldMapping(instruction="q", response="meta"))
    assert nested_as_text["response"] == '{"source": "x"}'


def test_json_records_are_streamed_in_small_chunks(tmp_path, monkeypatch):
    import core.datasets.jsonstream as jsonstream

    monkeypatch.setattr(jsonstream, "CHUNK", 64)  # records straddle every buffer boundary
    rows = [{"question": f"q{i} " + "x" * (i % 50), "answer": i * 1.5, "ok": i % 2 == 0} for i in range(300)]
    path = write(tmp_path, "chunks.json", json.dumps({"version": 2, "data": rows}, indent=2))
    assert list(RowReader(path, "json")) == rows


# -- mapping ------------------------------------------------------------------------------------
@pytest.mark.parametrize("columns, expected", [
    (["question", "answer"], FieldMapping(instruction="question", response="answer")),
    (["prompt", "completion"], FieldMapping(instruction="prompt", response="completion")),
    (["instruction", "input", "output"], FieldMapping(instruction="instruction", response="output", input="input")),
    (["instruction", "context", "response", "category"],
     FieldMapping(instruction="instruction", response="response", input="context")),
    (["problem", "solution"], FieldMapping(instruction="problem", response="solution")),
    (["query", "response"], FieldMapping(instruction="query", response="response")),
    (["id", "title", "context", "question", "answers"],
     FieldMapping(instruction="question", response="answers", input="context")),
    (["Question", "Answer", "system"], FieldMapping(instruction="Question", response="Answer", system="system")),
    (["foo", "bar"], FieldMapping()),
])
def test_detect_mapping_from_common_names(columns, expected):
    assert detect_mapping(columns) == expected


def test_chat_messages_detected_and_normalised():
    row = {"conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"},
                             {"from": "human", "value": "and 3+3?"}, {"from": "gpt", "value": "6"}]}
    mapping = detect_mapping(["conversations"], [row])
    assert mapping == FieldMapping(messages="conversations")
    assert normalise_row(row, mapping) == {"instruction": "and 3+3?", "response": "6"}


def test_input_is_folded_into_the_instruction_and_squad_answers_unwrapped():
    mapping = FieldMapping(instruction="question", response="answers", input="context")
    row = {"question": "Who?", "context": "Ada wrote it.", "answers": {"text": ["Ada", "Ada L."], "answer_start": [0]}}
    assert normalise_row(row, mapping) == {"instruction": "Who?\n\nAda wrote it.", "response": "Ada"}
    assert normalise_row({"question": "Q", "context": "", "answers": 3}, mapping) == {"instruction": "Q",
                                                                                      "response": "3"}


# -- built-ins and load_examples --------------------------------------------------------------------
def test_builtin_sets_are_deterministic_and_disjoint():
    for module in (arithmetic, instructions):
        train, test = module.generate("train"), module.generate("test")
        assert train == module.generate("train")
        key = "question" if module is arithmetic else "instruction"
        assert not {r[key] for r in train} & {r[key] for r in test}
    assert len(instructions.generate()) == 500


def test_load_examples_builtin_keeps_answer_and_reasoning():
    rows = load_examples(DatasetSpec("builtin", "arithmetic"))
    first = arithmetic.generate("train")[0]
    assert len(rows) == 400
    assert rows[0] == {"instruction": first["question"], "response": first["answer"], "answer": first["answer"],
                       "reasoning": first["reasoning"]}
    assert len(load_examples(DatasetSpec("builtin", "arithmetic", split="test"))) == 50
    assert set(load_examples(DatasetSpec("builtin", "instructions"), max_samples=3)[0]) == {
        "instruction", "response", "task"}
    with pytest.raises(DatasetUnavailableError, match="no split"):
        load_examples(DatasetSpec("builtin", "arithmetic", split="validation"))
    with pytest.raises(DatasetUnavailableError, match="no built-in"):
        load_examples(DatasetSpec("builtin", "nope"))


def test_max_samples_is_a_stable_seeded_shuffle():
    spec = DatasetSpec("builtin", "arithmetic")
    ten = load_examples(spec, max_samples=10, seed=1)
    assert ten == load_examples(spec, max_samples=10, seed=1)
    assert ten != load_examples(spec, max_samples=10, seed=2)
    assert load_examples(spec, max_samples=25, seed=1)[:10] == ten  # a prefix of a longer sample
    assert ten != load_examples(spec)[:10]  # shuffled, not the head
    assert sorted(r["instruction"] for r in load_examples(spec, max_samples=10_000, seed=1)) == \
        sorted(r["instruction"] for r in load_examples(spec))
    assert seeded_sample(range(5), 0) == [] and load_examples(spec, max_samples=0) == []


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_load_examples_from_each_file_format(tmp_path, fmt):
    rows = [{"instruction": f"Say {i}", "input": "loudly" if i % 2 else "", "output": f"{i}!"} for i in range(30)]
    path = tmp_path / f"data.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "jsonl":
        path.write_bytes(jsonl_bytes(rows))
    elif fmt == "csv":
        path.write_text("instruction,input,output\n" + "".join(f"{r['instruction']},{r['input']},{r['output']}\n"
                                                                for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    examples = load_examples(DatasetSpec("file", str(path), format=fmt))  # mapping detected
    assert len(examples) == 30
    assert examples[1] == {"instruction": "Say 1\n\nloudly", "response": "1!"}
    assert examples[2] == {"instruction": "Say 2", "response": "2!"}
    explicit = load_examples(DatasetSpec("file", str(path), format=fmt,
                                         mapping=FieldMapping(instruction="output", response="instruction")),
                             max_samples=5, seed=7)
    assert len(explicit) == 5 and all(e["instruction"].endswith("!") for e in explicit)


def test_load_examples_reports_unusable_files(tmp_path):
    path = write(tmp_path, "x.jsonl", jsonl_bytes([{"foo": 1, "bar": 2}]))
    with pytest.raises(DatasetUnavailableError, match="instruction"):
        load_examples(DatasetSpec("file", str(path), format="jsonl"))
    with pytest.raises(DatasetUnavailableError, match="no column named 'nope'"):
        load_examples(DatasetSpec("file", str(path), format="jsonl", mapping=FieldMapping(instruction="nope")))
    with pytest.raises(DatasetUnavailableError, match="missing"):
        load_examples(DatasetSpec("file", str(tmp_path / "gone.jsonl"), format="jsonl"))
    bad = write(tmp_path, "bad.jsonl", b'{"question": "a", "answer": "b"}\n{oops\n')
    with pytest.raises(DatasetFormatError, match="line 2"):
        load_examples(DatasetSpec("file", str(bad), format="jsonl"))


def test_max_samples_on_a_large_file_keeps_memory_small(tmp_path):
    import tracemalloc

    path = tmp_path / "many.jsonl"
    with open(path, "w") as f:
        for i in range(40_000):
            f.write(json.dumps({"question": f"question number {i} " + "pad " * 20, "answer": str(i)}) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    rows = load_examples(DatasetSpec("file", str(path), format="jsonl"), max_samples=20, seed=5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(rows) == 20 and len({r["instruction"] for r in rows}) == 20
    assert peak < size / 5, f"peak {peak} bytes for a {size}-byte file"


def test_hub_ids_are_never_read_as_local_paths(tmp_path, monkeypatch):
    """``datasets.load_dataset`` reads a folder that exists under the given name: a Hub id must never reach it
    as a path, neither absolute nor relative to the server's working directory."""
    folder = tmp_path / "demo" / "secret"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_bytes(jsonl_bytes(QA_ROWS))
    monkeypatch.chdir(tmp_path)
    for name in ("demo/secret", str(folder), "../demo", "demo/../demo"):
        with pytest.raises(DatasetUnavailableError, match="local|not a Hub dataset id"):
            load_hub_dataset(DatasetSpec("hub", name, split="train", cache_dir=str(tmp_path / "cache")))


def test_hub_offline_fails_fast_and_clearly(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    online, reason = hub_status()
    assert not online and "offline" in reason.lower()
    with pytest.raises(DatasetUnavailableError, match="not cached"):
        load_examples(DatasetSpec("hub", "openai/gsm8k", config_name="main", cache_dir=str(tmp_path)))
    assert time.monotonic() - started < 2


def test_unreachable_hub_is_detected_within_the_timeout(monkeypatch):
    import socket
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    online, reason = hub_status(timeout=1.0, refresh=True)
    assert not online and "Cannot reach 127.0.0.1" in reason
    assert time.monotonic() - started < 2


def test_arithmetic_worked_steps_are_true_and_end_on_the_answer():
    """SFT teaches these steps verbatim: a wrong intermediate would teach wrong sums."""
    import operator
    import re

    ops = {"+": operator.add, "-": operator.sub, "*": operator.mul}
    through_tens = 0
    for row in arithmetic.generate("train") + arithmetic.generate("test"):
        for clause in row["reasoning"].split(", "):
            *steps, result = clause.split(" = ")
            for step in steps:
                a, op, b = re.fullmatch(r"(-?\d+) ([-+*]) (\d+)", step).groups()
                assert ops[op](int(a), int(b)) == int(result), row
            through_tens += len(steps) == 2
        assert row["reasoning"].rsplit(" = ", 1)[1] == row["answer"], row
    assert through_tens > 100  # most sums and differences go through the tens
