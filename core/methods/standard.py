"""Standard fine-tuning: SFT of every weight, or LoRA SFT merged into the base, saved as a plain model.

``outputs/<id>/standard_model/`` holds ``model.safetensors`` (sharded above ``MAX_SHARD_SIZE``), ``config.json``,
``generation_config.json`` and the tokenizer with its chat template: any transformers loader (and the GGUF
converter) reads it without PEFT.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.methods.sft import lora_config, load_tokenizer, run_sft

if TYPE_CHECKING:
    from core.training.runner import TrainingJob

log = logging.getLogger(__name__)

OUTPUT = "standard_model"
MAX_SHARD_SIZE = "5GB"
# Full fine-tuning with AdamW in mixed precision (weights, gradients, two moments, activations): about 6.5 GB
# per billion parameters, inside the product's guidance (3 B -> 16-24 GB, 7 B -> 40-48 GB); the catalogue
# uses the same figure.
GB_PER_BILLION_PARAMS = 6.5


def full_finetune_memory_gb(params_b: float) -> float:
    """Rough memory for full fine-tuning a model of ``params_b`` billion parameters (shown before starting)."""
    return round(params_b * GB_PER_BILLION_PARAMS, 1)


class StandardMethod:
    name = "standard"
    label = "Standard fine-tuning"
    description = "Supervised fine-tuning of all weights (or LoRA, merged) on instruction/response pairs."
    requires_gpu = False
    outputs = (OUTPUT,)

    def unavailable_reason(self) -> str | None:
        return None

    def run(self, job: "TrainingJob") -> str:
        import torch
        from transformers import AutoModelForCausalLM

        from core.training.runtime import resolve_runtime

        config = job.config
        s = config.standard
        runtime = resolve_runtime(config.training.optim, config.training.bf16)
        for warning in runtime.warnings:
            log.warning(warning)
        torch.manual_seed(config.training.seed)
        tokenizer = load_tokenizer(job.model_path)
        model = AutoModelForCausalLM.from_pretrained(job.model_path, dtype=runtime.dtype)
        if s.full_finetune:
            log.info("full fine-tuning: %.1f M trainable parameters", model.num_parameters() / 1e6)
        system_prompt = config.dataset.resolved_system_prompt() if s.use_system_prompt else None
        result = run_sft(job, model, tokenizer, runtime, epochs=s.epochs, max_samples=s.max_samples,
                         peft_config=None if s.full_finetune else lora_config(job),
                         completion_only_loss=s.completion_only_loss, system_prompt=system_prompt)
        model = result.model
        if not s.full_finetune:
            model = model.merge_and_unload()  # a standard model: no PEFT needed to load it
        save_full_model(model, tokenizer, job.output_dir / OUTPUT)
        return "stopped" if result.stopped else "completed"


def save_full_model(model, tokenizer, folder) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, max_shard_size=MAX_SHARD_SIZE)
    tokenizer.save_pretrained(folder)
    if getattr(model, "generation_config", None) is not None and not (folder / "generation_config.json").exists():
        model.generation_config.save_pretrained(folder)
