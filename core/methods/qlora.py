"""QLoRA: the base loaded in 4-bit (bitsandbytes nf4, double quantisation), LoRA adapters trained on top.

bitsandbytes 4-bit works on a CPU too (measured: DESIGN.md §4), so this method is not GPU-only; on a GPU the
optimizer becomes a paged one (the product's recipe) unless the config names another paged/8-bit optimizer.
Output: ``outputs/<id>/qlora_model/`` with the adapter, its config and the tokenizer.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.methods.base import package_installed
from core.methods.sft import lora_config, load_tokenizer, run_sft

if TYPE_CHECKING:
    from core.training.runner import TrainingJob

log = logging.getLogger(__name__)

OUTPUT = "qlora_model"


def bnb_config(config):
    """The BitsAndBytesConfig for a training config's ``qlora`` section."""
    import torch
    from transformers import BitsAndBytesConfig

    q = config.qlora
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=q.quant_type,
                              bnb_4bit_use_double_quant=q.double_quant,
                              bnb_4bit_compute_dtype=getattr(torch, q.compute_dtype))


def qlora_optim(configured: str, cuda: bool) -> str:
    if cuda and configured in ("adamw_torch", "adamw_torch_fused"):
        return "paged_adamw_32bit"
    return configured


class QLoRAMethod:
    name = "qlora"
    label = "QLoRA"
    description = "LoRA on a 4-bit (nf4) base: the smallest memory footprint, a small adapter as output."
    requires_gpu = False
    outputs = (OUTPUT,)

    def unavailable_reason(self) -> str | None:
        if not package_installed("bitsandbytes"):
            return "bitsandbytes is not installed: pip install -r requirements.txt"
        return None

    def run(self, job: "TrainingJob") -> str:
        import torch
        from peft import prepare_model_for_kbit_training
        from transformers import AutoModelForCausalLM

        from core.training.runtime import resolve_runtime

        config = job.config
        q = config.qlora
        runtime = resolve_runtime(qlora_optim(config.training.optim, torch.cuda.is_available()), config.training.bf16)
        for warning in runtime.warnings:
            log.warning(warning)
        torch.manual_seed(config.training.seed)
        tokenizer = load_tokenizer(job.model_path)
        model = AutoModelForCausalLM.from_pretrained(
            job.model_path, quantization_config=bnb_config(config), dtype=getattr(torch, q.compute_dtype),
            device_map={"": 0} if runtime.cuda else {"": "cpu"})
        log.info("base loaded in 4-bit %s: %.1f MB", q.quant_type, model.get_memory_footprint() / 2**20)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        result = run_sft(job, model, tokenizer, runtime, epochs=q.epochs, max_samples=q.max_samples,
                         peft_config=lora_config(job), optim=runtime.optim)
        folder = job.output_dir / OUTPUT
        result.model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return "stopped" if result.stopped else "completed"
