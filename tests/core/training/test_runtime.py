"""CPU mixed precision: when it is switched on, and that it reaches the trainers as CPU autocast."""
from __future__ import annotations

import pytest

from core.training.runtime import cpu_has_native_bf16, resolve_runtime


@pytest.mark.parametrize("setting", ["auto", "bf16", "off"])
def test_cpu_autocast_follows_the_setting_and_the_cpu(setting):
    runtime = resolve_runtime("adamw_torch", False, cuda=False, cpu_autocast=setting)
    expected = {"auto": cpu_has_native_bf16(), "bf16": True, "off": False}[setting]
    assert runtime.cpu_amp is expected and runtime.trainer_bf16 is expected
    assert str(runtime.dtype) == "torch.float32"  # weights, LoRA and optimizer state stay float32
    if setting == "bf16" and not cpu_has_native_bf16():
        assert any("emulated" in w for w in runtime.warnings)


def test_a_gpu_never_gets_cpu_autocast_and_gpu_bf16_is_refused_on_a_cpu():
    assert not resolve_runtime("adamw_torch", False, cuda=True, cpu_autocast="bf16").cpu_amp
    cpu = resolve_runtime("adamw_torch", True, cuda=False, cpu_autocast="auto")
    assert not cpu.bf16 and any("bf16 needs a GPU" in w for w in cpu.warnings)


def test_the_trainer_arguments_carry_autocast(tmp_path):
    from transformers import TrainingArguments

    from core.tracking import tracking_plan
    from core.training.runner import _common_args
    from core.training_config import parse_config

    config = parse_config({"training": {"cpu_autocast": "bf16"}})
    runtime = resolve_runtime("adamw_torch", False, cuda=False, cpu_autocast="bf16")
    args = TrainingArguments(**_common_args(config, runtime, tmp_path, tracking_plan(config, tmp_path, "sft")))
    assert args.bf16 and args.use_cpu and args.mixed_precision == "bf16"


@pytest.mark.slow
def test_sft_then_grpo_train_under_cpu_autocast(tmp_path, tiny_model_dir, caplog):
    """The whole runner under bf16 autocast (tiny_config keeps float32 elsewhere: casts cost more than they
    save on a 64-wide model)."""
    import math

    from core.training.runner import TrainingJob, run_training
    from core.training_config import parse_config
    from tests.training_helpers import arithmetic_rows, tiny_config

    caplog.set_level("INFO", logger="core.training.runner")
    config = parse_config(tiny_config(tiny_model_dir, training={"cpu_autocast": "bf16"}))
    events: list[dict] = []
    job = TrainingJob(config=config, model_path=str(tiny_model_dir), rows=arithmetic_rows(),
                      output_dir=tmp_path / "out", emit=events.append, should_stop=lambda: False)
    assert run_training(job) == "completed"
    assert "bf16 autocast" in caplog.text
    losses = [e["metrics"]["loss"] for e in events if e["type"] == "metrics" and "loss" in e["metrics"]]
    assert len(losses) >= 3 and all(math.isfinite(v) for v in losses)
