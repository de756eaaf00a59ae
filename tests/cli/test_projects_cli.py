"""`projects create|list|check|preview|show|delete` on this machine's database: a project scripted from the
terminal, its body read from JSON and YAML files, with the server's own errors and exit codes."""
from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.slow


def body(base_model: str, **extra) -> dict:
    return {"name": "cli-maths", "base_model": base_model, "training_type": "standard", "max_rows": 16,
            "traits": [{"trait_type": "reasoning", "datasets": [{"source": "builtin:arithmetic", "percentage": 100}]}],
            "config": {"standard": {"full_finetune": False}, "training": {"batch_size": 4, "cpu_autocast": "off"}},
            **extra}


def test_create_list_preview_show_and_delete(cli, tiny_model_dir):
    path = cli.folder / "maths.json"
    path.write_text(json.dumps(body(str(tiny_model_dir))))
    created = cli.run("projects", "create", path)
    assert created.returncode == 0, created.stderr[-3000:]
    assert created.stdout.startswith("project 1 created: cli-maths")

    listed = cli.run("projects", "list")
    assert listed.returncode == 0 and "cli-maths" in listed.stdout and "draft" in listed.stdout
    assert [p["id"] for p in json.loads(cli.run("projects", "list", "--json").stdout)] == [1]

    planned = cli.run("projects", "preview", path, "--json")
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert {s["key"]: s["rows"] for s in json.loads(planned.stdout)["sources"]} == {"builtin:arithmetic": 16}
    by_id = cli.run("projects", "preview", "1")
    assert by_id.returncode == 0 and "builtin:arithmetic" in by_id.stdout and "16 training rows" in by_id.stdout

    shown = cli.run("projects", "show", "1")
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert "reasoning: builtin:arithmetic 100 %" in shown.stdout and "mix preview: 16 training rows" in shown.stdout
    detail = json.loads(cli.run("projects", "show", "1", "--json").stdout)
    assert detail["project"]["status"] == "draft" and detail["preview"]["total_rows"] == 16

    not_started = cli.run("projects", "validate", "1")
    assert not_started.returncode == 1 and "validation needs a completed run" in not_started.stderr
    deleted = cli.run("projects", "delete", "1")
    assert deleted.returncode == 0 and "project 1 deleted" in deleted.stdout
    missing = cli.run("projects", "show", "1")
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_a_bad_body_lists_every_problem_and_exits_2(cli, tiny_model_dir):
    bad = body(str(tiny_model_dir), max_rows=0, traits=[{"trait_type": "reasoning", "datasets": []}])
    path = cli.folder / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    checked = cli.run("projects", "check", path)
    assert checked.returncode == 2
    assert f"error: {path} is not a valid project" in checked.stderr
    assert "  max_rows: Input should be greater than or equal to 1" in checked.stderr

    refused = cli.run("projects", "create", path)  # schema errors come first; the rules need a good shape
    assert refused.returncode == 2 and "max_rows" in refused.stderr
    path.write_text(yaml.safe_dump({**bad, "max_rows": 16}))
    rules = cli.run("projects", "create", path)
    assert rules.returncode == 2
    assert "  traits.0.datasets: reasoning needs at least one dataset (Pick a dataset or remove the trait.)" \
        in rules.stderr
    assert json.loads(cli.run("projects", "list", "--json").stdout) == []

    unreadable = cli.folder / "broken.json"
    unreadable.write_text("{not json")
    broken = cli.run("projects", "check", unreadable)
    assert broken.returncode == 2 and "not valid JSON" in broken.stderr


def test_start_wait_follows_the_run_then_reports_its_validation(cli, tiny_model_dir):
    """The tiny random model trains in seconds; it answers nothing, so validation's generation check fails and
    the command exits 1 after printing every check (the embedded model passes: tests/clients)."""
    path = cli.folder / "maths.yaml"
    path.write_text(yaml.safe_dump(body(str(tiny_model_dir))))
    assert cli.run("projects", "create", path).returncode == 0
    started = cli.run("projects", "start", "1", "--wait", "--no-progress")
    assert started.returncode == 1, started.stderr[-3000:]
    assert "project 1: run " in started.stderr and "completed" in started.stdout
    assert "validation FAILED" in started.stdout and "generated no text" in started.stdout
    assert "error: the run completed but its output failed validation" in started.stderr

    shown = json.loads(cli.run("projects", "show", "1", "--json").stdout)
    assert shown["manifest"]["totals"]["train_rows"] == 16
    assert shown["project"]["validation"]["checks"][-1]["name"] == "generate"
    deleted = cli.run("projects", "delete", "1")
    assert deleted.returncode == 0, deleted.stderr
