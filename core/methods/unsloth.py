"""Unsloth: LoRA through Unsloth's fused kernels, SFT or GRPO through TRL with Unsloth's patches (GPU only).

Unsloth is installed from ``requirements-gpu.txt`` on GPU machines only (on a CPU it raises at import:
"Unsloth cannot find any torch accelerator", and installing it moves core pins), so everything here is found
at run time: :func:`unavailable_reason` says why the method cannot run, the service refuses it with that
sentence (400), and the worker never imports ``unsloth`` unless a GPU is there. Output: ``lora_model/``
(adapter, its config and the tokenizer).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from core.methods.base import cuda_available, package_installed
from core.methods.sft import LLAMA_LINEAR, run_sft

if TYPE_CHECKING:
    from core.training.runner import TrainingJob
    from core.training_config import TrainingConfig

log = logging.getLogger(__name__)

OUTPUT = "lora_model"
NO_GPU = "Unsloth needs an NVIDIA GPU (CUDA) and this server has none; choose QLoRA or Standard instead."
NOT_INSTALLED = "Unsloth is not installed on this server: pip install -r requirements-gpu.txt -c constraints.txt."


def unavailable_reason(cuda: bool | None = None, installed: bool | None = None) -> str | None:
    """Why Unsloth cannot run here (no GPU first: that is what a user can act on), or None."""
    cuda = cuda_available() if cuda is None else cuda
    installed = package_installed("unsloth") if installed is None else installed
    if not cuda:
        return NO_GPU
    if not installed:
        return NOT_INSTALLED
    return None


def from_pretrained_kwargs(config: "TrainingConfig", model_path: str) -> dict[str, Any]:
    """Arguments of ``FastLanguageModel.from_pretrained`` for a config (tested on CPU)."""
    return {"model_name": model_path, "max_seq_length": config.training.max_sequence_length,
            "dtype": None,  # Unsloth picks bfloat16 where the GPU supports it, float16 otherwise
            "load_in_4bit": config.unsloth.load_in_4bit}


def peft_kwargs(config: "TrainingConfig") -> dict[str, Any]:
    """Arguments of ``FastLanguageModel.get_peft_model``: Unsloth wants module names, not 'all-linear'."""
    m = config.model
    targets = LLAMA_LINEAR if m.target_modules == "all-linear" else list(m.target_modules)
    return {"r": m.lora_rank, "lora_alpha": m.lora_alpha, "lora_dropout": m.lora_dropout,
            "target_modules": targets, "bias": "none",
            "use_gradient_checkpointing": "unsloth" if config.unsloth.use_gradient_checkpointing else False,
            "random_state": config.training.seed}


class UnslothMethod:
    name = "unsloth"
    label = "Unsloth"
    description = "LoRA with Unsloth's fast kernels: about 2x faster and less memory on an NVIDIA GPU."
    requires_gpu = True
    outputs = (OUTPUT,)

    def unavailable_reason(self) -> str | None:
        return unavailable_reason()

    def run(self, job: "TrainingJob") -> str:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        import unsloth  # noqa: F401  (first: it patches transformers, PEFT and TRL)
        from unsloth import FastLanguageModel

        from core.training.runtime import resolve_runtime

        config = job.config
        runtime = resolve_runtime(config.training.optim, config.training.bf16, cuda=True)
        model, tokenizer = FastLanguageModel.from_pretrained(**from_pretrained_kwargs(config, job.model_path))
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = FastLanguageModel.get_peft_model(model, **peft_kwargs(config))
        u = config.unsloth
        if u.objective == "sft":
            result = run_sft(job, model, tokenizer, runtime, epochs=u.epochs, max_samples=u.max_samples)
            model, stopped = result.model, result.stopped
        else:
            model, stopped = _run_grpo(job, model, tokenizer, runtime)
        folder = job.output_dir / OUTPUT
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return "stopped" if stopped else "completed"


def _run_grpo(job: "TrainingJob", model, tokenizer, runtime) -> tuple[Any, bool]:
    """GRPO on the Unsloth LoRA model with the config's rewards (TRL's GRPOTrainer, Unsloth-patched)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from core.tracking import tracking_plan
    from core.training.callbacks import EventCallback, RewardRecorder
    from core.training.prompts import grpo_examples, markers_from_config
    from core.training.rewards import build_rewards

    config = job.config
    t, g, r = config.training, config.grpo, config.reward
    rows = job.rows[: t.samples_per_epoch] if t.samples_per_epoch else job.rows
    recorder = RewardRecorder()
    funcs, weights = build_rewards(r.type, r.preset_name, r.components, markers_from_config(config.dataset),
                                   custom=[use.model_dump() for use in r.custom])
    tracking = tracking_plan(config, job.output_dir, "grpo")
    args = GRPOConfig(output_dir=str(job.output_dir / "checkpoints" / "grpo"), num_train_epochs=t.num_epochs,
                      per_device_train_batch_size=t.batch_size * t.num_generations,
                      gradient_accumulation_steps=t.gradient_accumulation_steps, num_generations=t.num_generations,
                      learning_rate=t.learning_rate, lr_scheduler_type=t.lr_scheduler_type,
                      warmup_steps=t.warmup_steps, max_completion_length=t.max_new_tokens,
                      temperature=t.temperature, top_p=t.top_p, beta=g.kl_penalty, epsilon=g.clip_range,
                      importance_sampling_level=g.resolved_importance_sampling_level, loss_type=g.loss_type,
                      reward_weights=weights, logging_steps=t.logging_steps, save_steps=t.save_steps,
                      save_total_limit=2, seed=t.seed, bf16=runtime.bf16, optim=runtime.optim,
                      max_grad_norm=t.max_grad_norm, weight_decay=t.weight_decay, disable_tqdm=True, **tracking.args)
    callback = EventCallback("grpo", job.emit, job.should_stop, recorder=recorder)
    examples = grpo_examples(rows, config.dataset.resolved_system_prompt())
    with tracking.environment():
        trainer = GRPOTrainer(model=model, reward_funcs=[recorder.wrap(f) for f in funcs], args=args,
                              train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
                              callbacks=[callback])
        trainer.train()
    return trainer.model, callback.stop_requested


__all__ = ["UnslothMethod", "unavailable_reason", "from_pretrained_kwargs", "peft_kwargs"]
