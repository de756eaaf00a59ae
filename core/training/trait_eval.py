"""Per-trait evaluation for projects: which capability a run improved.

SFT phases hand the Trainer a dict of held-out sets (transformers evaluates each under ``eval_<trait>_``, so the
logs carry ``eval_reasoning_loss``, ``eval_general_loss``...). GRPO has no held-out loss worth showing, so its
phase scores greedy answers to each trait's held-out prompts with the run's own reward functions
(``eval_<trait>_reward``) at every checkpoint and at the end.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from core.training.callbacks import Emit
from core.training.prompts import grpo_examples

log = logging.getLogger(__name__)
REWARD_EVAL_ROWS = 16  # prompts per trait for the reward check: a few seconds on a CPU for a small model


def eval_datasets(eval_sets: dict[str, list[dict]] | None, to_examples: Callable[[list[dict]], list[dict]]):
    """``{trait: Dataset}`` for the Trainer, or None (no held-out rows, or none with a response)."""
    if not eval_sets:
        return None
    from datasets import Dataset

    sets = {trait: to_examples(rows) for trait, rows in sorted(eval_sets.items())}
    sets = {trait: Dataset.from_list(examples) for trait, examples in sets.items() if examples}
    return sets or None


def eval_args(has_eval: bool, every: int, batch_size: int) -> dict[str, Any]:
    """Trainer arguments that evaluate every ``every`` steps (the checkpoint interval) when there is a set."""
    if not has_eval:
        return {"eval_strategy": "no"}
    return {"eval_strategy": "steps", "eval_steps": every, "per_device_eval_batch_size": batch_size}


def final_evaluate(trainer, eval_dataset, stopped: bool) -> None:
    """One evaluation after the last step (the interval may not have reached it), logged like the others."""
    if eval_dataset is not None and not stopped:
        trainer.evaluate()


def trait_rewards(model, tokenizer, eval_sets: dict[str, list[dict]], system_prompt: str, funcs: list,
                  weights: list[float], max_new_tokens: int) -> dict[str, float]:
    """Mean weighted reward of greedy answers per trait (a reward that fails or abstains counts 0)."""
    import torch

    was_training = model.training
    model.eval()
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # batched generation needs the prompts flush right
    metrics = {}
    try:
        for trait, rows in sorted(eval_sets.items()):
            examples = grpo_examples(rows[:REWARD_EVAL_ROWS], system_prompt)
            if not examples:
                continue
            texts = [tokenizer.apply_chat_template(e["prompt"], tokenize=False, add_generation_prompt=True)
                     for e in examples]
            inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            with torch.no_grad():
                output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                        pad_token_id=tokenizer.pad_token_id)
            answers = tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            completions = [[{"role": "assistant", "content": text}] for text in answers]
            columns = {key: [e[key] for e in examples] for key in ("answer", "response")}
            totals = [0.0] * len(completions)
            for func, weight in zip(funcs, weights):
                try:
                    scores = func([e["prompt"] for e in examples], completions, **columns)
                except Exception as exc:  # one broken reward must not end a finished run
                    log.warning("reward %s failed on the %s held-out set: %s", getattr(func, "__name__", func),
                                trait, exc)
                    continue
                totals = [t + weight * (s or 0.0) for t, s in zip(totals, scores)]
            metrics[f"eval_{trait}_reward"] = round(sum(totals) / len(totals), 4)
    finally:
        tokenizer.padding_side = side
        if was_training:
            model.train()
    return metrics


class TraitRewardCallback(TrainerCallback):
    """Scores each trait's held-out prompts at every checkpoint and at the end of the GRPO phase."""

    def __init__(self, score: Callable[[Any], dict[str, float]], emit: Emit, phase: str, step_offset: int,
                 should_stop: Callable[[], bool]):
        self.score = score
        self.emit = emit
        self.phase = phase
        self.step_offset = step_offset
        self.should_stop = should_stop
        self._last_step = -1

    def _report(self, state, model) -> None:
        if model is None or state.global_step == self._last_step or self.should_stop():
            return  # a stop checkpoints at once; scoring would delay it
        self._last_step = state.global_step
        self.emit({"type": "metrics", "phase": self.phase, "step": state.global_step,
                   "global_step": self.step_offset + state.global_step, "metrics": self.score(model)})

    def on_save(self, args, state, control, model=None, **kwargs):
        self._report(state, model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._report(state, model)
