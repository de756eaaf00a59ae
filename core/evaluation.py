"""Evaluate a model on ``{prompt, response}`` rows: greedy answers scored by exact and normalised match and by
the reward preset (the training rewards themselves, from ``core.training.rewards.build_rewards``), plus the
loss and perplexity of the reference responses. No Flask: the CLI and, later, services use it.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.datasets.prompts import Markers, chat_messages
from core.training.prompts import split_reasoning
from core.training.rewards import answers_match, build_rewards, extract_solution

MAX_LOSS_TOKENS = 4096


@dataclass
class RewardSpec:
    """The ``reward`` section of a config, as ``build_rewards`` takes it."""

    type: str = "preset"
    preset_name: str | None = "math"
    components: list[tuple[str, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"preset {self.preset_name}" if self.type == "preset" else \
            "components " + ", ".join(f"{n}x{w:g}" for n, w in self.components)


def read_rows(path: str | Path) -> list[dict]:
    """Normalised ``{"instruction", "response"}`` rows of a JSONL/JSON/CSV/Parquet file (prompt/response,
    question/answer, chat messages... are all recognised, as for uploads)."""
    from core.datasets import DatasetSpec, detect_format, load_examples

    path = Path(path)
    return load_examples(DatasetSpec("file", str(path.resolve()), format=detect_format(path)))


def load_model(model_path: str, adapter: str | None = None):
    """``(model, tokenizer)`` in evaluation mode: a full model folder or Hub id, with a LoRA adapter on top."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(adapter if adapter and (Path(adapter) / "tokenizer_config.json")
                                              .is_file() else model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    return model, tokenizer


_SPACES = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def normalise(text: str) -> str:
    """Case, Unicode form, spacing, thousands separators and end punctuation do not count."""
    text = unicodedata.normalize("NFKC", text or "").lower().strip()
    text = _THOUSANDS.sub("", _SPACES.sub(" ", text))
    return text.strip(" \t.!?;:'\"`")


def final_answer(completion: str, markers: Markers) -> str:
    """The part of a completion that is compared: between the solution markers when present, else all of it."""
    if markers.solution_start in completion:
        return extract_solution(completion, markers) or ""
    return completion.strip()


def generate(model, tokenizer, prompts: list[str], system_prompt: str | None, max_new_tokens: int,
             batch_size: int = 8) -> list[str]:
    """Greedy completions, batched (prompts padded on the left, as batched generation needs)."""
    import torch

    tokenizer.padding_side = "left"
    texts: list[str] = []
    for start in range(0, len(prompts), batch_size):
        batch = [tokenizer.apply_chat_template(chat_messages(p, system_prompt), tokenize=False,
                                               add_generation_prompt=True) for p in prompts[start:start + batch_size]]
        inputs = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id)
        texts += tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    return texts


def _pair_ids(tokenizer, prompt: str, response: str, system_prompt: str | None) -> tuple[list[int], list[int]]:
    """Token ids of the prompt (with the generation prompt) and of the response as the chat template writes an
    assistant turn, so the loss is measured on what the model would have to produce."""
    messages = chat_messages(prompt, system_prompt)
    prefix = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": response}], tokenize=False)
    completion = full[len(prefix):] if full.startswith(prefix) else response + (tokenizer.eos_token or "")
    prefix_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return prefix_ids, completion_ids


def response_loss(model, tokenizer, rows: list[dict], system_prompt: str | None,
                  batch_size: int = 8) -> tuple[float | None, int]:
    """Mean cross-entropy per response token (the prompt is context only) and the token count."""
    import torch

    total, count = 0.0, 0
    for start in range(0, len(rows), batch_size):
        pairs = [_pair_ids(tokenizer, r["instruction"], r["response"], system_prompt)
                 for r in rows[start:start + batch_size]]
        sequences = [(p + c)[-MAX_LOSS_TOKENS:] for p, c in pairs]
        labels = [([-100] * len(p) + c)[-MAX_LOSS_TOKENS:] for p, c in pairs]
        width = max(len(s) for s in sequences)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in sequences], device=model.device)
        attention = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in sequences], device=model.device)
        target = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels], device=model.device)
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=attention).logits.float()
        losses = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                   target[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
        total += float(losses)
        count += int((target[:, 1:] != -100).sum())
    return (total / count if count else None), count


def reward_scores(rows: list[dict], completions: list[str], system_prompt: str | None, markers: Markers,
                  reward: RewardSpec) -> tuple[list[float | None], list[dict[str, float | None]]]:
    """Per row: the weighted reward (TRL's sum, components that do not apply left out) and each component."""
    functions, weights = build_rewards(reward.type, reward.preset_name, list(reward.components), markers)
    prompts = [chat_messages(r["instruction"], system_prompt) for r in rows]
    answers = [split_reasoning(r)[1] for r in rows]
    per_function = {fn.__name__: list(fn(prompts, completions, answer=answers)) for fn in functions}
    totals, parts = [], []
    for i in range(len(rows)):
        scores = {name: values[i] for name, values in per_function.items()}
        given = [(w, scores[fn.__name__]) for fn, w in zip(functions, weights) if scores[fn.__name__] is not None]
        totals.append(sum(w * s for w, s in given) if given else None)
        parts.append(scores)
    return totals, parts


def _mean(values: list) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def evaluate(model, tokenizer, rows: list[dict], system_prompt: str | None, markers: Markers, reward: RewardSpec,
             max_new_tokens: int = 64, batch_size: int = 8, with_loss: bool = True) -> dict[str, Any]:
    """Scores of ``model`` on ``rows``: ``{"metrics": {...}, "examples": [...]}``."""
    completions = generate(model, tokenizer, [r["instruction"] for r in rows], system_prompt, max_new_tokens,
                           batch_size)
    totals, parts = reward_scores(rows, completions, system_prompt, markers, reward)
    examples = []
    for row, completion, total, scores in zip(rows, completions, totals, parts):
        reference = split_reasoning(row)[1]
        answer = final_answer(completion, markers)
        examples.append({
            "prompt": row["instruction"], "reference": reference, "completion": completion, "answer": answer,
            "exact_match": answer.strip() == reference.strip(),
            "normalised_match": normalise(answer) == normalise(reference) or answers_match(answer, reference),
            "reward": total, "rewards": scores,
        })
    metrics: dict[str, Any] = {
        "n": len(rows),
        "exact_match": _mean([e["exact_match"] for e in examples]),
        "normalised_match": _mean([e["normalised_match"] for e in examples]),
        "reward": _mean(totals),
        "rewards": {name: _mean([p[name] for p in parts]) for name in (parts[0] if parts else {})},
    }
    if with_loss:
        tokenizer.padding_side = "right"
        loss, tokens = response_loss(model, tokenizer, rows, system_prompt, batch_size)
        metrics.update(loss=loss, perplexity=math.exp(min(loss, 50.0)) if loss is not None else None,
                       response_tokens=tokens)
    return {"metrics": metrics, "examples": examples}
