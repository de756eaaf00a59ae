"""One training session, phase by phase: SFT format pre-training, then GRPO on the same LoRA adapter.

Everything under ``output_dir`` (= outputs/<session_id>/):
    checkpoints/sft/checkpoint-N, checkpoints/grpo/checkpoint-N   full Trainer checkpoints
    sft_adapter/                                                  adapter after the SFT phase (+ marker)
    adapter/                                                      the final (or stopped) adapter + tokenizer
Resuming looks at these folders (``core.training.paths``, which loads no ML library): a finished SFT phase
is not repeated, and an interrupted phase continues from its latest checkpoint.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.training.callbacks import Emit, EventCallback, RewardRecorder
from core.training.paths import SFT_DONE, SessionPaths, latest_checkpoint
from core.training.plan import sft_steps
from core.training.prompts import grpo_examples, markers_from_config, sft_examples
from core.training.rewards import build_rewards
from core.training.rollout import prepare_rollout
from core.training.runtime import Runtime, resolve_runtime
from core.training.trait_eval import TraitRewardCallback, eval_args, eval_datasets, final_evaluate, trait_rewards
from core.tracking import TrackingPlan, tracking_plan
from core.training_config import TrainingConfig

log = logging.getLogger(__name__)


@dataclass
class TrainingJob:
    config: TrainingConfig
    model_path: str
    rows: list[dict]
    output_dir: Path
    emit: Emit
    should_stop: Callable[[], bool]
    eval_rows: list[dict] | None = None
    eval_sets: dict[str, list[dict]] | None = None  # held-out rows per trait (projects): eval_<trait>_loss
    resume: bool = False
    gguf_cache: str | None = None  # where the llama.cpp rollout engine caches converted base models


def _common_args(config: TrainingConfig, runtime: Runtime, output_dir: Path, tracking: TrackingPlan) -> dict:
    t = config.training
    return dict(output_dir=str(output_dir), logging_steps=t.logging_steps, save_strategy="steps",
                save_steps=t.save_steps, save_total_limit=2, seed=t.seed, use_cpu=not runtime.cuda,
                bf16=runtime.trainer_bf16, gradient_checkpointing=False, disable_tqdm=True, dataloader_num_workers=0,
                max_grad_norm=t.max_grad_norm, weight_decay=t.weight_decay, optim=runtime.optim, **tracking.args)


def _lora_config(config: TrainingConfig):
    from peft import LoraConfig

    m = config.model
    return LoraConfig(r=m.lora_rank, lora_alpha=m.lora_alpha, lora_dropout=m.lora_dropout,
                      target_modules=m.target_modules, task_type="CAUSAL_LM")


def _main_process() -> bool:
    """Rank 0 of a launched multi-process run (core/training/launch.py), or the only process: the one that writes
    the shared folders (every DDP rank holds the same weights)."""
    return int(os.environ.get("RANK", "0")) == 0


def _save_adapter(model, tokenizer, folder: Path, trainer=None) -> None:
    if trainer is not None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        trainer.save_model(str(folder))  # gathers ZeRO-3's sharded weights on every rank; rank 0 writes
        return
    if _main_process():
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)


def run_training(job: TrainingJob) -> str:
    """Run the session's phases; returns ``"completed"`` or ``"stopped"``."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.training.trl_compat import ensure_fused_head_fallback

    config, paths = job.config, SessionPaths(job.output_dir)
    if ensure_fused_head_fallback():
        log.info("TRL's Triton LM-head kernel is unavailable here: using the plain-torch equivalent")
    runtime = resolve_runtime(config.training.optim, config.training.bf16,
                              cpu_autocast=config.training.cpu_autocast)
    for warning in runtime.warnings:
        log.warning(warning)
    if runtime.cpu_amp:
        log.info("CPU mixed precision: bf16 autocast for the forward and backward passes (training.cpu_autocast)")
    torch.manual_seed(config.training.seed)

    tokenizer = AutoTokenizer.from_pretrained(job.model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(job.model_path, dtype=runtime.dtype)
    system_prompt = config.dataset.resolved_system_prompt()
    markers = markers_from_config(config.dataset)

    pre = config.pre_training
    run_sft = pre.enabled and not paths.sft_done
    offset = sft_steps(config, len(job.rows)) if pre.enabled else 0
    if run_sft:
        from trl import SFTConfig, SFTTrainer

        sft_rows = job.rows[: pre.max_samples] if pre.max_samples else job.rows
        log.info("phase sft: %d examples, %d epoch(s)", len(sft_rows), pre.epochs)
        # A project's held-out rows per trait (eval_<trait>_loss), else the config's eval split (eval_loss).
        eval_dataset = eval_datasets(job.eval_sets, lambda rows: sft_examples(rows, system_prompt, markers)) or (
            Dataset.from_list(sft_examples(job.eval_rows, system_prompt, markers)) if job.eval_rows else None)
        tracking = tracking_plan(config, job.output_dir, "sft")
        args = SFTConfig(**_common_args(config, runtime, paths.sft_checkpoints, tracking),
                         num_train_epochs=pre.epochs, per_device_train_batch_size=pre.batch_size,
                         learning_rate=pre.learning_rate, lr_scheduler_type=pre.lr_scheduler_type,
                         warmup_steps=0, max_length=config.training.max_sequence_length,
                         completion_only_loss=True,
                         **eval_args(eval_dataset is not None, config.training.save_steps, pre.batch_size))
        callback = EventCallback("sft", job.emit, job.should_stop)
        with tracking.environment():
            trainer = SFTTrainer(model=model, args=args,
                                 train_dataset=Dataset.from_list(sft_examples(sft_rows, system_prompt, markers)),
                                 eval_dataset=eval_dataset, processing_class=tokenizer,
                                 peft_config=_lora_config(config), callbacks=[callback])
            trainer.train(resume_from_checkpoint=_resume_point(job, paths.sft_checkpoints))
            if job.eval_sets:
                final_evaluate(trainer, eval_dataset, callback.stop_requested)
        model = trainer.model
        if callback.stop_requested:
            _save_adapter(model, tokenizer, paths.adapter, trainer)
            return "stopped"
        _save_adapter(model, tokenizer, paths.sft_adapter, trainer)
        if _main_process():
            (paths.sft_adapter / SFT_DONE).write_text(json.dumps({"steps": trainer.state.global_step}))
        offset = trainer.state.global_step
        del trainer
    elif pre.enabled:
        from peft import PeftModel

        log.info("phase sft already done: continuing its adapter")
        model = PeftModel.from_pretrained(model, str(paths.sft_adapter), is_trainable=True)
        offset = json.loads((paths.sft_adapter / SFT_DONE).read_text())["steps"]

    return _run_grpo(job, model, tokenizer, runtime, system_prompt, markers, offset)


def _resume_point(job: TrainingJob, folder: Path) -> str | None:
    checkpoint = latest_checkpoint(folder) if job.resume else None
    if checkpoint is not None:
        log.info("resuming from %s", checkpoint)
    return str(checkpoint) if checkpoint else None


def _fits(example: dict, tokenizer, limit: int) -> bool:
    ids = tokenizer.apply_chat_template(example["prompt"], tokenize=True, add_generation_prompt=True)
    if isinstance(ids, dict):
        ids = ids["input_ids"]
    return len(ids) <= limit


def _run_grpo(job: TrainingJob, model, tokenizer, runtime: Runtime, system_prompt: str, markers: Markers,
              offset: int) -> str:
    from datasets import Dataset
    from peft import PeftModel
    from trl import GRPOConfig, GRPOTrainer

    from core.training.or_grpo import RobustGRPOTrainer

    config, paths = job.config, SessionPaths(job.output_dir)
    t, g, r = config.training, config.grpo, config.reward
    rows = job.rows[: t.samples_per_epoch] if t.samples_per_epoch else job.rows
    examples = grpo_examples(rows, system_prompt)
    prompt_limit = t.max_sequence_length - t.max_new_tokens
    kept = [e for e in examples if _fits(e, tokenizer, prompt_limit)]
    if len(kept) < len(examples):
        log.warning("%d prompt(s) longer than %d tokens were left out (max_sequence_length - max_new_tokens)",
                    len(examples) - len(kept), prompt_limit)
    if not kept:
        raise ValueError("no prompt fits in max_sequence_length - max_new_tokens: raise max_sequence_length")

    rollout = prepare_rollout(config, model.config, tokenizer, job.model_path, paths.root / "rollout", job.gguf_cache)
    log.info("rollout engine: %s (%s)", rollout.engine, rollout.reason)
    recorder = RewardRecorder()
    funcs, weights = build_rewards(r.type, r.preset_name, r.components, markers,
                                   custom=[use.model_dump() for use in r.custom])
    tracking = tracking_plan(config, job.output_dir, "grpo")
    args = GRPOConfig(**_common_args(config, runtime, paths.grpo_checkpoints, tracking),
                      num_train_epochs=t.num_epochs, per_device_train_batch_size=t.batch_size * t.num_generations,
                      gradient_accumulation_steps=t.gradient_accumulation_steps, num_generations=t.num_generations,
                      learning_rate=t.learning_rate, lr_scheduler_type=t.lr_scheduler_type,
                      warmup_steps=t.warmup_steps, max_completion_length=t.max_new_tokens,
                      temperature=t.temperature, top_p=t.top_p, beta=g.kl_penalty, epsilon=g.clip_range,
                      importance_sampling_level=g.resolved_importance_sampling_level, loss_type=g.loss_type,
                      reward_weights=weights, shuffle_dataset=True, top_k=t.top_k, **rollout.config_kwargs)
    trainer_cls, extra = (RobustGRPOTrainer, {"robust_clip": g.robust_clip}) if g.algorithm == "or_grpo" \
        else (GRPOTrainer, {})
    trainer_cls, extra = rollout.trainer_class(trainer_cls), {**extra, **rollout.trainer_kwargs}
    callback = EventCallback("grpo", job.emit, job.should_stop, step_offset=offset, recorder=recorder)
    callbacks = [callback]
    if job.eval_sets:  # projects: each trait's reward on its held-out prompts, at checkpoints and at the end
        callbacks.append(TraitRewardCallback(
            lambda m: trait_rewards(m, tokenizer, job.eval_sets, system_prompt, funcs, weights, t.max_new_tokens),
            job.emit, "grpo", offset, job.should_stop))
    log.info("phase grpo (%s): %d prompts x %d generations, %s epoch(s)", g.algorithm, len(kept),
             t.num_generations, t.num_epochs)
    try:
        with tracking.environment():
            trainer = trainer_cls(model=model, reward_funcs=[recorder.wrap(f) for f in funcs], args=args,
                                  train_dataset=Dataset.from_list(kept), processing_class=tokenizer,
                                  peft_config=None if isinstance(model, PeftModel) else _lora_config(config),
                                  callbacks=callbacks, **extra)
            trainer.train(resume_from_checkpoint=_resume_point(job, paths.grpo_checkpoints))
    finally:
        rollout.close()
    _save_adapter(trainer.model, tokenizer, paths.adapter, trainer)
    return "stopped" if callback.stop_requested else "completed"
