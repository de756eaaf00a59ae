"""The trainer in-process with the tiny model: phases, algorithms, stop and resume, learning."""
from __future__ import annotations

import pytest
from safetensors.torch import load_file

from core.training.paths import SessionPaths, latest_checkpoint, resume_state
from core.training.runner import TrainingJob, run_training
from core.training_config import parse_config
from tests.training_helpers import arithmetic_rows, tiny_config

pytestmark = pytest.mark.slow


def run(tmp_path, model_dir, should_stop=lambda: False, resume=False, **sections):
    events: list[dict] = []
    job = TrainingJob(config=parse_config(tiny_config(model_dir, **sections)), model_path=str(model_dir),
                      rows=arithmetic_rows(), output_dir=tmp_path / "out", emit=events.append,
                      should_stop=should_stop, resume=resume)
    return run_training(job), events


def metrics(events, phase=None):
    return [e for e in events if e["type"] == "metrics" and (phase is None or e["phase"] == phase)
            and "train_runtime" not in e["metrics"]]


def test_sft_then_grpo_logs_trl_metrics_and_saves_adapters(tmp_path, tiny_model_dir):
    outcome, events = run(tmp_path, tiny_model_dir)
    assert outcome == "completed"
    sft, grpo = metrics(events, "sft"), metrics(events, "grpo")
    assert [e["step"] for e in sft] == [1, 2] and [e["step"] for e in grpo] == [1, 2]
    assert [e["global_step"] for e in grpo] == [3, 4]  # GRPO continues the step axis after SFT
    assert {"loss", "mean_token_accuracy"} <= set(sft[0]["metrics"])
    assert {"loss", "reward", "reward_std", "kl", "rewards/format/mean", "rewards/correctness/mean",
            "completions/mean_length", "clip_ratio/region_mean", "grad_norm", "learning_rate"} <= set(grpo[0]["metrics"])
    samples = [e for e in events if e["type"] == "samples"]
    assert samples and set(samples[0]["samples"][0]["scores"]) == {"format", "correctness"}
    paths = SessionPaths(tmp_path / "out")
    assert paths.sft_done and (paths.adapter / "adapter_model.safetensors").is_file()
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["step"] == progress[-1]["total_steps"] == 2


def test_sft_phase_changes_the_adapter(tmp_path, tiny_model_dir):
    run(tmp_path, tiny_model_dir)
    weights = load_file(SessionPaths(tmp_path / "out").sft_adapter / "adapter_model.safetensors")
    lora_b = [w for name, w in weights.items() if "lora_B" in name]
    assert lora_b and any(w.abs().sum() > 0 for w in lora_b)  # LoRA B starts at zero: training moved it


@pytest.mark.parametrize("algorithm, expected_key", [("gspo", "reward"), ("or_grpo", "or_grpo/clipped_frac")])
def test_gspo_and_or_grpo_runs_log_metrics(tmp_path, tiny_model_dir, algorithm, expected_key):
    outcome, events = run(tmp_path, tiny_model_dir, grpo={"algorithm": algorithm},
                          pre_training={"enabled": False})
    assert outcome == "completed"
    grpo = metrics(events, "grpo")
    assert len(grpo) == 2 and all(expected_key in e["metrics"] for e in grpo)


def test_grpo_with_a_varied_reward_changes_parameters(tmp_path, tiny_model_dir):
    """A reward with variance gives GRPO a gradient (a constant one would not: DESIGN §4)."""
    varied = {"name": "length", "params": {"unit": "characters", "min": 0, "max": 10, "falloff": 10}}
    outcome, events = run(tmp_path, tiny_model_dir, pre_training={"enabled": False},
                          reward={"type": "components", "components": [varied]},
                          training={"temperature": 1.5, "samples_per_epoch": 8})
    assert outcome == "completed"
    grpo = metrics(events, "grpo")
    assert any(e["metrics"]["reward_std"] > 0 for e in grpo)
    assert any(e["metrics"]["grad_norm"] > 0 for e in grpo)
    weights = load_file(SessionPaths(tmp_path / "out").adapter / "adapter_model.safetensors")
    assert any(w.abs().sum() > 0 for name, w in weights.items() if "lora_B" in name)


def test_stop_keeps_a_checkpoint_and_resume_continues_after_it(tmp_path, tiny_model_dir):
    calls = {"n": 0}

    def stop_in_grpo():
        calls["n"] += 1
        return calls["n"] == 3  # progress checks: sft 1, sft 2, grpo 1 -> stop after the first GRPO step

    outcome, events = run(tmp_path, tiny_model_dir, should_stop=stop_in_grpo)
    assert outcome == "stopped"
    paths = SessionPaths(tmp_path / "out")
    checkpoint = latest_checkpoint(paths.grpo_checkpoints)
    assert checkpoint is not None and checkpoint.name == "checkpoint-1"
    assert resume_state(paths) == ("grpo", 1)

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    PeftModel.from_pretrained(base, str(checkpoint))  # the checkpoint is a loadable adapter

    outcome, events = run(tmp_path, tiny_model_dir, resume=True)
    assert outcome == "completed"
    assert metrics(events, "sft") == []  # SFT is not repeated
    assert [e["step"] for e in metrics(events, "grpo")] == [2]
