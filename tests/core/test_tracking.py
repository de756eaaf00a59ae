"""Experiment tracking: the config field, its validation against what is installed, and a real tiny session
that fans its metrics out to TensorBoard, read back from the event files."""
from __future__ import annotations

import os
import typing
from pathlib import Path

import pytest

from core.tracking import TRACKERS, installed_trackers, tracking_plan
from core.training_config import ConfigValidationError, TrainingConfig, Tracker, parse_config
from tests.training_helpers import arithmetic_rows, tiny_config


def _errors(data: dict) -> list[dict]:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(data)
    return caught.value.errors


def test_the_schema_and_the_tracker_table_name_the_same_trackers():
    assert set(typing.get_args(Tracker)) == set(TRACKERS)


def test_default_reports_nowhere_and_a_tracker_is_kept_once():
    assert parse_config({}).training.report_to == []
    assert tracking_plan(parse_config({}), "/tmp/run", "sft").args == {"report_to": "none"}
    config = parse_config({"training": {"report_to": ["tensorboard", "tensorboard"]}})
    assert config.training.report_to == ["tensorboard"]


def test_an_unknown_tracker_is_refused_with_the_known_ones():
    errors = _errors({"training": {"report_to": ["comet"]}})
    assert errors[0]["path"] == "training.report_to.0" and "tensorboard" in errors[0]["hint"]


def test_an_uninstalled_tracker_is_refused_by_name():
    missing = [name for name, ok in installed_trackers().items() if not ok]
    if not missing:
        pytest.skip("every tracker is installed here")
    errors = _errors({"training": {"report_to": ["tensorboard", missing[0]]}})
    assert errors == [{"path": "training.report_to", "message": f"{missing[0]} is not installed on this server",
                       "hint": f"Untick {missing[0]}, or install it on the server (pip install {missing[0]}) and "
                               "restart."}]


@pytest.mark.parametrize("uri", ["https://user:pw@mlflow.example.org", "http://mlflow.example.org/?token=x",
                                 "/etc/mlruns", "file:///tmp/mlruns", "ftp://mlflow.example.org"])
def test_mlflow_uri_is_a_server_url_without_credentials(uri):
    assert _errors({"training": {"mlflow_tracking_uri": uri}})[0]["path"] == "training.mlflow_tracking_uri"


def test_local_stores_go_inside_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    # Built directly: the plan is about folders, whatever is installed on this machine.
    config = TrainingConfig.model_construct(**TrainingConfig().__dict__)
    config.training.__dict__["report_to"] = ["tensorboard", "mlflow", "trackio", "wandb"]
    plan = tracking_plan(config, tmp_path / "s1", "grpo")
    root = (tmp_path / "s1").resolve()
    assert plan.env["TENSORBOARD_LOGGING_DIR"] == str(root / "tensorboard" / "grpo")
    assert plan.env["MLFLOW_TRACKING_URI"] == (root / "mlruns").as_uri()
    assert plan.env["TRACKIO_DIR"] == str(root / "trackio") and plan.env["WANDB_DIR"] == str(root)
    assert plan.env["WANDB_MODE"] == "offline"  # no key: no login prompt, a local run to sync later
    assert plan.args["report_to"] == ["tensorboard", "mlflow", "trackio", "wandb"]
    assert plan.args["project"] == "tunewright"


def test_the_environment_is_restored_after_the_block(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", "/elsewhere")
    plan = tracking_plan(parse_config({"training": {"report_to": ["tensorboard"]}}), tmp_path, "sft")
    with plan.environment():
        assert os.environ["TENSORBOARD_LOGGING_DIR"] == str(tmp_path.resolve() / "tensorboard" / "sft")
    assert os.environ["TENSORBOARD_LOGGING_DIR"] == "/elsewhere"


@pytest.mark.slow
def test_a_tiny_session_writes_tensorboard_event_files_that_read_back(tmp_path, tiny_model_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from core.training.runner import TrainingJob, run_training

    events: list[dict] = []
    config = parse_config(tiny_config(tiny_model_dir, training={"report_to": ["tensorboard"]}))
    out = tmp_path / "out"
    job = TrainingJob(config=config, model_path=str(tiny_model_dir), rows=arithmetic_rows(), output_dir=out,
                      emit=events.append, should_stop=lambda: False)
    assert run_training(job) == "completed"
    assert "TENSORBOARD_LOGGING_DIR" not in os.environ
    ours = {phase: [e["metrics"] for e in events if e["type"] == "metrics" and e["phase"] == phase
                    and "loss" in e["metrics"]] for phase in ("sft", "grpo")}
    for phase in ("sft", "grpo"):
        folder = out / "tensorboard" / phase
        assert list(Path(folder).glob("events.out.tfevents.*")), f"no event file in {folder}"
        accumulator = EventAccumulator(str(folder))
        accumulator.Reload()
        assert "train/loss" in accumulator.Tags()["scalars"]
        losses = accumulator.Scalars("train/loss")
        assert [s.step for s in losses] == [1, 2]
        # The same numbers our own database gets from the live events.
        assert [s.value for s in losses] == pytest.approx([m["loss"] for m in ours[phase]], rel=1e-5)
    assert "train/reward" in EventAccumulator(str(out / "tensorboard" / "grpo")).Reload().Tags()["scalars"]


def test_the_api_lists_trackers_and_refuses_an_uninstalled_one_with_its_name(client):
    listed = {t["name"]: t for t in client.get("/api/training/trackers").json["trackers"]}
    assert set(listed) == set(TRACKERS)
    assert listed["tensorboard"]["installed"] is True  # a requirement (requirements.txt)
    assert listed["wandb"]["secrets"] == ["WANDB_API_KEY"]
    missing = [name for name, t in listed.items() if not t["installed"]]
    if not missing:
        pytest.skip("every tracker is installed here")
    answer = client.post("/api/training/start", json={"config": {"training": {"report_to": [missing[0]]}}})
    assert answer.status_code == 400
    assert {"path": "training.report_to", "message": f"{missing[0]} is not installed on this server"}.items() <= \
        answer.json["details"][0].items()
