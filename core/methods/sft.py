"""Supervised fine-tuning shared by the Standard, QLoRA and Unsloth methods: one TRL SFTTrainer run on the
dataset's instruction/response pairs in the model's chat template, with live events, stop and resume.

Checkpoints go to ``checkpoints/sft/`` and events carry phase ``sft``, so the service's resume logic (latest
checkpoint of the phase in progress) and the Train page's loss charts work for these methods unchanged.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.datasets.prompts import chat_messages
from core.tracking import TrackingPlan, tracking_plan

if TYPE_CHECKING:  # both import torch/transformers: the server lists methods without loading them
    from core.training.runner import TrainingJob
    from core.training.runtime import Runtime

log = logging.getLogger(__name__)

# Unsloth and PEFT want explicit names for "all-linear" on the common decoder families.
LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def sft_examples(rows: list[dict], system_prompt: str | None = None) -> list[dict]:
    """Conversational prompt/completion pairs: the row's own system message wins over the config's."""
    return [{"prompt": chat_messages(row["instruction"], row.get("system") or system_prompt),
             "completion": [{"role": "assistant", "content": str(row.get("response", ""))}]}
            for row in rows if str(row.get("response", "")).strip()]


def lora_config(job: "TrainingJob", target_modules: Any = None):
    from peft import LoraConfig

    m = job.config.model
    return LoraConfig(r=m.lora_rank, lora_alpha=m.lora_alpha, lora_dropout=m.lora_dropout,
                      target_modules=target_modules or m.target_modules, task_type="CAUSAL_LM")


def sft_args(job: "TrainingJob", runtime: Runtime, epochs: float, completion_only_loss: bool = True,
             optim: str | None = None, tracking: TrackingPlan | None = None) -> dict:
    """SFTConfig keyword arguments from the one schema (TRL's CPU-hostile defaults always overridden)."""
    t = job.config.training
    tracking = tracking or tracking_plan(job.config, job.output_dir, "sft")
    return dict(output_dir=str(job.output_dir / "checkpoints" / "sft"), num_train_epochs=epochs,
                per_device_train_batch_size=t.batch_size, gradient_accumulation_steps=t.gradient_accumulation_steps,
                learning_rate=t.learning_rate, lr_scheduler_type=t.lr_scheduler_type, warmup_steps=t.warmup_steps,
                weight_decay=t.weight_decay, max_grad_norm=t.max_grad_norm, optim=optim or runtime.optim,
                logging_steps=t.logging_steps, save_strategy="steps", save_steps=t.save_steps, save_total_limit=2,
                seed=t.seed, use_cpu=not runtime.cuda, bf16=runtime.bf16,
                gradient_checkpointing=False, disable_tqdm=True, dataloader_num_workers=0,
                max_length=t.max_sequence_length, completion_only_loss=completion_only_loss, **tracking.args)


@dataclass
class SFTResult:
    model: Any
    stopped: bool
    steps: int


def planned_steps(rows: int, batch_size: int, accumulation: int, epochs: float) -> int:
    return max(1, math.ceil(math.ceil(rows / batch_size) / accumulation * epochs))


def run_sft(job: "TrainingJob", model, tokenizer, runtime: Runtime, *, epochs: float, max_samples: int | None,
            peft_config=None, completion_only_loss: bool = True, system_prompt: str | None = None,
            optim: str | None = None, trainer_kwargs: dict | None = None) -> SFTResult:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from core.training.callbacks import EventCallback
    from core.training.paths import latest_checkpoint
    from core.training.trait_eval import eval_args, eval_datasets, final_evaluate
    from core.training.trl_compat import ensure_fused_head_fallback

    ensure_fused_head_fallback()  # TRL's Triton LM-head kernel is missing on CPU builds
    rows = job.rows[:max_samples] if max_samples else job.rows
    examples = sft_examples(rows, system_prompt)
    if not examples:
        raise ValueError("no row has a response to learn from: check the dataset's response field")
    log.info("phase sft: %d examples, %s epoch(s)", len(examples), epochs)
    tracking = tracking_plan(job.config, job.output_dir, "sft")
    t = job.config.training
    eval_dataset = eval_datasets(job.eval_sets, lambda rows: sft_examples(rows, system_prompt))
    args = SFTConfig(**sft_args(job, runtime, epochs, completion_only_loss, optim, tracking),
                     **eval_args(eval_dataset is not None, t.save_steps, t.batch_size))
    callback = EventCallback("sft", job.emit, job.should_stop)
    checkpoint = latest_checkpoint(job.output_dir / "checkpoints" / "sft") if job.resume else None
    if checkpoint is not None:
        log.info("resuming from %s", checkpoint)
    with tracking.environment():
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(examples),
                             eval_dataset=eval_dataset, processing_class=tokenizer, peft_config=peft_config,
                             callbacks=[callback], **(trainer_kwargs or {}))
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        final_evaluate(trainer, eval_dataset, callback.stop_requested)
    return SFTResult(model=trainer.model, stopped=callback.stop_requested, steps=trainer.state.global_step)


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
