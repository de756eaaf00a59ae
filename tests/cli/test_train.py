"""`train` end to end on the tiny model: here (the studio's engine and database), with Ctrl-C, and on a server."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.cli.conftest import write_jsonl
from tests.training_helpers import tiny_config

pytestmark = pytest.mark.slow

SHORT_FORM = """\
model_name: {model}
output_dir: ./final-adapter
per_device_train_batch_size: 2
learning_rate: 0.001
num_train_epochs: 1
max_seq_length: 256
lora: {{enabled: true, r: 4, alpha: 8, dropout: 0.0}}
train_file: train.jsonl
training: {{num_generations: 2, max_new_tokens: 8, save_steps: 1}}
"""


def short_form(tmp_path, model_dir, rows) -> str:
    write_jsonl(tmp_path / "train.jsonl", rows)
    path = tmp_path / "run.yaml"
    path.write_text(SHORT_FORM.format(model=model_dir))
    return str(path)


def test_short_form_yaml_trains_and_the_run_is_a_studio_session(cli, tmp_path, tiny_model_dir, qa_rows):
    result = cli.run("train", "--config", short_form(tmp_path, tiny_model_dir, qa_rows))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "note: per_device_train_batch_size -> training.batch_size" in result.stderr
    assert "train_file: uploaded as dataset 1 (4 rows)" in result.stderr
    assert "sft: 100%" in result.stderr and "grpo: 100%" in result.stderr and "loss=" in result.stderr
    assert " completed " in result.stdout and "grpo final" in result.stdout
    assert (tmp_path / "final-adapter" / "adapter_model.safetensors").is_file()
    sid = next(line.split()[1] for line in result.stdout.splitlines() if line.strip().startswith("session "))

    sessions = json.loads(cli.run("sessions", "list", "--json").stdout)
    assert [(s["id"], s["status"], s["dataset_id"]) for s in sessions] == [(sid, "completed", 1)]
    shown = cli.run("sessions", "show", sid)
    assert shown.returncode == 0 and "last metrics" in shown.stdout and " grpo " in shown.stdout
    assert (cli.outputs / sid / "adapter" / "adapter_config.json").is_file()
    listed = cli.run("datasets", "list")
    assert "train" in listed.stdout and "Ready" in listed.stdout and "dataset:1" in listed.stdout

    # The same file again reuses its dataset; the default model of `learn evaluate` is now this session.
    evaluation = cli.run("learn", "evaluate", tmp_path / "train.jsonl", "--max-new-tokens", "4",
                         "--output", tmp_path / "eval.json")
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert f"evaluation of session {sid}" in evaluation.stdout
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["model"]["session_id"] == sid and report["model"]["adapter"].endswith("adapter")

    # `export` submits to the export service and follows it to the end.
    exported = cli.run("export", sid, "--format", "adapter")
    assert exported.returncode == 0, exported.stderr[-3000:] + exported.stdout[-2000:]
    assert "completed" in exported.stdout and "adapter_model.safetensors" in exported.stdout
    export_id = next(line.split()[-1] for line in exported.stdout.splitlines() if line.strip().startswith("id "))
    assert (cli.folder / "exports" / sid / export_id / "manifest.json").is_file()
    bad = cli.run("export", sid, "--format", "gguf", "--quant", "Q3_K")
    assert bad.returncode == 1 and "quantization" in (bad.stderr + bad.stdout)


def _session_row(database, sid):
    try:
        with sqlite3.connect(database) as connection:
            return connection.execute("SELECT status, step FROM training_sessions WHERE id = ?", (sid,)).fetchone()
    except sqlite3.OperationalError:  # the file exists before the migrations made the table
        return None


def test_ctrl_c_stops_after_the_step_with_a_checkpoint_and_exits_130(cli, tmp_path, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False},
                         training={"samples_per_epoch": 40, "save_steps": 1000})
    path = tmp_path / "long.json"
    path.write_text(json.dumps(config))
    # A new process group, like a terminal's foreground job: Ctrl-C reaches every process in it.
    process = cli.popen("train", "--config", path, "--session-id", "ctrlc", start_new_session=True)
    database = cli.folder / "instance" / "tunewright.db"
    deadline = time.monotonic() + 240
    while True:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "training never reached step 1"
        row = _session_row(database, "ctrlc") if database.exists() else None  # connect() would create it
        if row and row[1] >= 1:
            break
        time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 130, stderr[-3000:]
    assert "Stopping after the current step" in stderr
    status, step = _session_row(database, "ctrlc")
    assert status == "stopped" and 1 <= step < 20, (status, step, stderr[-3000:])
    checkpoints = sorted((cli.outputs / "ctrlc" / "checkpoints" / "grpo").glob("checkpoint-*"))
    # written by the stop (save_steps is 1000)
    assert [c.name for c in checkpoints] == [f"checkpoint-{step}"], (checkpoints, step, stderr[-3000:])
    assert (checkpoints[0] / "trainer_state.json").is_file()
    assert (cli.outputs / "ctrlc" / "adapter" / "adapter_model.safetensors").is_file()
    assert " stopped " in stdout


def test_server_option_submits_and_follows_the_live_events(cli, tmp_path, tiny_model_dir, qa_rows, live_server):
    result = cli.run("train", "--config", short_form(tmp_path, tiny_model_dir, qa_rows), "--server", live_server.url)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"started on {live_server.url}" in result.stderr
    # The bars are fed only by Socket.IO events here (the API is polled for the status alone).
    assert "grpo: 100%" in result.stderr and "loss=" in result.stderr
    assert "output_dir: the adapter stays on the server" in result.stderr
    sid = next(line.split()[1] for line in result.stdout.splitlines() if line.strip().startswith("session "))
    listed = json.loads(cli.run("sessions", "list", "--json", "--server", live_server.url).stdout)
    assert {s["id"]: s["status"] for s in listed}[sid] == "completed"
    assert not (cli.folder / "instance").exists()  # nothing local was touched


def test_run_training_from_python(cli, tmp_path, tiny_model_dir):
    good = tmp_path / "one-step.json"
    good.write_text(json.dumps(tiny_config(tiny_model_dir, pre_training={"enabled": False},
                                           training={"samples_per_epoch": 2})))
    (tmp_path / "bad.yaml").write_text("learning_rate: 0\nlora: {r: 0}\n")
    script = f"""
import json
from cli import run_training
from cli.config_file import ConfigFileError
try:
    run_training({str(tmp_path / "bad.yaml")!r})
except ConfigFileError as exc:
    print("BAD", json.dumps(sorted(e["path"] for e in exc.errors)))
result = run_training({str(good)!r}, progress=False)
print("RESULT", json.dumps([result.status, result.exit_code, result.adapter]))
"""
    import subprocess
    import sys

    from tests.cli.conftest import ROOT

    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=cli.env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("BAD", "RESULT")))
    assert json.loads(lines["BAD"]) == ["learning_rate (as training.learning_rate)", "lora.r (as model.lora_rank)"]
    status, code, adapter = json.loads(lines["RESULT"])
    assert (status, code) == ("completed", 0)
    assert Path(adapter).is_relative_to(cli.outputs) and (Path(adapter) / "adapter_config.json").is_file()
