"""What the wizard tells a user before a run: the model's availability and memory needs against this machine's
GPUs, and the run's step count, time per step (measured on earlier sessions of the same model) and duration."""
from __future__ import annotations

import math
from statistics import median
from typing import Any

from flask import current_app
from sqlalchemy import select

from core.model_registry import CATALOG, Availability, availability
from core.training.plan import sft_steps
from core.training_config import TrainingConfig, parse_config
from extensions import db
from services.models.training import TrainingMetric, TrainingSession

BYTES_PER_PARAM_GPU = 2  # bf16 weights
BYTES_PER_PARAM_CPU = 4  # fp32 on a CPU (the bundled GGUF is dequantised to fp32)


def _gpus() -> list[dict]:
    from services.system_monitor import read_gpus

    try:
        return read_gpus()
    except Exception:
        return []


def _catalog_entry(name: str):
    return next((entry for entry in CATALOG if entry.id == name), None)


def model_info(name: str) -> dict[str, Any]:
    """Availability (one of the registry's six states), VRAM guidance and whether it fits this machine."""
    name = (name or "").strip()
    status, reason = availability(name, current_app.config["MODEL_CACHE"]) if name else \
        (Availability.UNAVAILABLE, "Type a Hub id or a local folder.")
    entry = _catalog_entry(name)
    gpus = _gpus()
    info: dict[str, Any] = {"name": name, "availability": status.value, "available": status is not
                            Availability.UNAVAILABLE, "reason": reason, "catalogued": entry is not None,
                            "params_b": entry.params_b if entry else None,
                            "vram_lora_gb": entry.vram_lora_gb if entry else None,
                            "vram_full_gb": entry.vram_full_gb if entry else None,
                            "gpus": [{"index": g["index"], "name": g["name"], "memory_total_mb": g["memory_total"]}
                                     for g in gpus]}
    if not gpus:
        info["fits"] = None
        info["hardware"] = ("No GPU detected: training runs on the CPU in fp32. Fine for the bundled 135 M model "
                            "(seconds per step); models of 1 B parameters and more take minutes per step, and "
                            "bf16, paged/8-bit optimisers and Unsloth are switched off.")
    else:
        largest = max(g["memory_total"] for g in gpus) / 1024
        need = entry.vram_lora_gb if entry else None
        info["fits"] = None if need is None else largest >= need
        info["hardware"] = (f"Largest GPU: {largest:.0f} GB." + (
            "" if need is None else f" LoRA on this model needs {need} GB or more: "
            + ("it fits." if largest >= need else "it will probably not fit; pick a smaller model or QLoRA.")))
    return info


def _prompts(config: TrainingConfig) -> int | None:
    """Prompts per epoch when the config or the dataset record says; None when only loading would tell."""
    t, d = config.training, config.dataset
    known = [n for n in (t.samples_per_epoch, d.max_samples) if n]
    if d.source.startswith("builtin:"):
        from core.datasets.builtin import BUILTINS

        builtin = BUILTINS.get(d.source.split(":", 1)[1])
        if builtin is not None and d.split in builtin.splits:
            known.append(builtin.splits[d.split])
    elif d.source.startswith("dataset:"):
        from services.datasets import get_record
        from services.errors import NotFoundError

        try:
            record = get_record(d.source.split(":", 1)[1])  # the caller's own datasets only
        except NotFoundError:
            record = None
        if record is not None and record.row_count:
            known.append(record.row_count)
    return min(known) if known else None


def _seconds_per_step(model: str) -> tuple[float | None, int]:
    """Median logged ``step_time`` of GRPO steps in earlier sessions of this model (and how many steps)."""
    ids = [sid for sid, config in db.session.execute(select(TrainingSession.id, TrainingSession.config))
           if isinstance(config, dict) and (config.get("model") or {}).get("name") == model]
    if not ids:
        return None, 0
    rows = db.session.execute(select(TrainingMetric.values).where(
        TrainingMetric.session_id.in_(ids), TrainingMetric.phase == "grpo").limit(2000)).scalars()
    times = [v["step_time"] for v in rows if isinstance(v.get("step_time"), (int, float)) and v["step_time"] > 0]
    return (median(times), len(times)) if times else (None, 0)


def estimate(raw_config: dict[str, Any]) -> dict[str, Any]:
    config = parse_config(raw_config)
    t, pt = config.training, config.pre_training
    prompts = _prompts(config)
    grpo = math.ceil(math.ceil(prompts / t.batch_size) / t.gradient_accumulation_steps * t.num_epochs) \
        if prompts else None
    sft_rows = pt.max_samples or prompts
    sft = sft_steps(config, sft_rows) if pt.enabled and sft_rows else (0 if not pt.enabled else None)
    per_step, measured = _seconds_per_step(config.model.name)
    info = model_info(config.model.name)
    params = info["params_b"]
    on_gpu = bool(info["gpus"])
    weights_gb = params * (BYTES_PER_PARAM_GPU if on_gpu else BYTES_PER_PARAM_CPU) if params else None
    return {
        "effective_batch": t.batch_size * t.gradient_accumulation_steps * t.num_generations,
        "completions_per_step": t.batch_size * t.gradient_accumulation_steps * t.num_generations,
        "prompts_per_epoch": prompts, "grpo_steps": grpo, "sft_steps": sft,
        "seconds_per_step": per_step, "measured_steps": measured,
        "estimated_seconds": round(per_step * grpo) if per_step and grpo else None,
        "memory": {"device": "gpu" if on_gpu else "cpu", "weights_gb": round(weights_gb, 2) if weights_gb else None,
                   "vram_lora_gb": info["vram_lora_gb"], "fits": info["fits"], "message": info["hardware"]},
    }
