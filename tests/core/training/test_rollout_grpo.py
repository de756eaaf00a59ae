"""GRPO through the runner with each CPU rollout engine: the same training signal from either sampler."""
from __future__ import annotations

import pytest
from safetensors.torch import load_file

from core.training.paths import SessionPaths
from core.training.runner import TrainingJob, run_training
from core.training_config import parse_config
from tests.training_helpers import arithmetic_rows, tiny_config

pytestmark = pytest.mark.slow


# A reward with variance on a near-uniform random model (completion length in characters), so every step has a
# gradient: a real component of the reward library, nothing patched in.
VARIED = {"name": "length", "params": {"unit": "characters", "min": 0, "max": 10, "falloff": 10}}


@pytest.mark.parametrize("engine", ["llama_cpp", "transformers"])
def test_grpo_trains_from_either_cpu_engine(tmp_path, tiny_model_dir, caplog, engine):
    caplog.set_level("INFO", logger="core.training.runner")
    events: list[dict] = []
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, grpo={"kl_penalty": 0.0},
                         training={"rollout_engine": engine, "samples_per_epoch": 6, "num_generations": 4,
                                   "learning_rate": 0.05, "max_new_tokens": 6, "temperature": 1.2,
                                   "cpu_autocast": "off"},  # float32 trainer: the gap below is F16 rounding only
                         reward={"type": "components", "components": [VARIED]})
    job = TrainingJob(config=parse_config(config), model_path=str(tiny_model_dir), rows=arithmetic_rows(),
                      output_dir=tmp_path / "out", emit=events.append, should_stop=lambda: False)
    assert run_training(job) == "completed"
    assert f"rollout engine: {engine} (chosen in the config" in caplog.text  # the choice and its reason
    steps = [e["metrics"] for e in events if e["type"] == "metrics" and "reward" in e["metrics"]]
    assert len(steps) == 3
    assert all(m["reward_std"] > 0 and m["grad_norm"] > 0 for m in steps)
    weights = load_file(SessionPaths(tmp_path / "out").adapter / "adapter_model.safetensors")
    assert any(w.abs().sum() > 0 for name, w in weights.items() if "lora_B" in name)
    if engine == "llama_cpp":
        assert all(m["rollout/adapter_seconds"] > 0 for m in steps)  # the live adapter is rewritten every step
        # The trainer scores what llama.cpp sampled with the same probabilities (F16 rounding only): the
        # importance-sampling weights stay near 1 and the reported gap is small, even after the adapter moved.
        assert max(m["sampling/sampling_logp_difference/mean"] for m in steps) < 0.01
        assert all(0.9 < m["sampling/importance_sampling_ratio/mean"] < 1.1 for m in steps)
        assert all(m["completions/mean_length"] > 0 for m in steps)
    else:
        assert not any(key.startswith("sampling/") for key in steps[0])
