"""Config files onto the one schema: saved-config JSON, YAML sections, the short form, and bad files."""
from __future__ import annotations

import json

import pytest

from cli.config_file import PENDING_SOURCE, ConfigFileError, load_config
from core.training_config import default_config


def test_short_form_maps_every_key_with_a_note(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"prompt": "1+1?", "response": "2"}\n')
    path = tmp_path / "run.yaml"
    path.write_text("model_name: some/model\noutput_dir: out\nper_device_train_batch_size: 4\n"
                    "learning_rate: 0.0001\nnum_train_epochs: 2\nmax_seq_length: 1024\n"
                    "lora: {enabled: true, r: 8, alpha: 16, dropout: 0.05}\ntrain_file: data/train.jsonl\n"
                    "grpo: {kl_penalty: 0.02}\n")
    loaded = load_config(path)
    c = loaded.config
    assert c["name"] == "run"
    assert c["model"] == {**c["model"], "name": "some/model", "lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.05}
    assert (c["training"]["batch_size"], c["pre_training"]["batch_size"]) == (4, 4)
    assert (c["training"]["learning_rate"], c["pre_training"]["learning_rate"]) == (1e-4, 1e-4)
    assert (c["training"]["num_epochs"], c["pre_training"]["epochs"]) == (2, 2)
    assert c["training"]["max_sequence_length"] == 1024
    assert c["training"]["samples_per_epoch"] is None and c["pre_training"]["max_samples"] is None
    assert c["grpo"]["kl_penalty"] == 0.02  # full sections mix with the short keys
    assert c["dataset"]["source"] == PENDING_SOURCE
    assert loaded.train_file == (tmp_path / "data" / "train.jsonl").resolve()
    assert loaded.output_dir == (tmp_path / "out").resolve()
    mapped = {note.split(" -> ")[0] for note in loaded.notes}
    assert mapped == {"model_name", "per_device_train_batch_size", "learning_rate", "num_train_epochs",
                      "max_seq_length", "lora.r", "lora.alpha", "lora.dropout", "train_file", "output_dir"}


def test_saved_config_json_yaml_sections_and_the_wrapper_read_the_same(tmp_path):
    config = default_config()
    config["training"]["learning_rate"] = 3e-5
    config["name"] = "same"
    (tmp_path / "a.json").write_text(json.dumps(config))
    (tmp_path / "b.yaml").write_text("name: same\ntraining:\n  learning_rate: 3.0e-5\n")
    (tmp_path / "c.json").write_text(json.dumps({"name": "same", "config": {"training": {"learning_rate": 3e-5}}}))
    loaded = [load_config(tmp_path / name).config for name in ("a.json", "b.yaml", "c.json")]
    assert loaded[0] == loaded[1] == loaded[2] == config


def test_every_problem_is_reported_at_the_key_the_user_wrote(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("learning_rate: -1\nlora: {enabled: false, r: 0, rank: 3}\ntrain_file: nowhere.jsonl\n"
                    "training: {batch_size: 0, learning_rate: 0.5}\nbogus: 1\n")
    with pytest.raises(ConfigFileError) as caught:
        load_config(path)
    paths = {e["path"].split(" (as ")[0] for e in caught.value.errors}
    assert paths == {"learning_rate", "lora.enabled", "lora.r", "lora.rank", "train_file", "training.batch_size",
                     "bogus"}
    conflict = [e for e in caught.value.errors if e["path"] == "learning_rate"]
    assert "conflicts with training.learning_rate" in conflict[0]["message"]


@pytest.mark.parametrize("text, message", [("model: [1, 2\n", "not valid YAML"), ("- a\n- b\n", "mapping")])
def test_unreadable_files_say_why(tmp_path, text, message):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=message):
        load_config(path)


def test_train_with_a_bad_config_exits_2_listing_every_error(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("num_train_epochs: 0\nlora: {r: 0}\ntraining: {batch_size: 0, optim: sgdx}\nextra_key: 1\n")
    result = cli.run("train", "--config", path, timeout=120)
    assert result.returncode == 2, result.stderr
    for expected in ("num_train_epochs (as training.num_epochs)", "lora.r (as model.lora_rank)",
                     "training.batch_size", "training.optim", "extra_key"):
        assert f"  {expected}: " in result.stderr, result.stderr
    assert "5 problem(s)" in result.stderr
    assert not (cli.folder / "instance").exists()  # refused before anything was built


@pytest.mark.slow
def test_the_console_script_installs_from_pyproject_and_runs(tmp_path):
    """What scripts/setup_python.sh does, into a fresh virtual environment that borrows our packages."""
    import subprocess
    import sys
    import sysconfig
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"] == \
        {"tunewright": "cli.__main__:main"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                              "--quiet", "--no-deps", "--no-build-isolation", "-e", str(root)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    result = subprocess.run([str(venv / "bin" / "tunewright"), "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for command in ("train", "learn", "datasets", "sessions"):
        assert command in result.stdout
