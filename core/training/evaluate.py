"""Held-out evaluation: greedy answers to prompts, scored with the format and correctness rewards."""
from __future__ import annotations

from dataclasses import dataclass

from core.datasets.prompts import Markers, chat_messages
from core.training.prompts import split_reasoning
from core.training.rewards import answers_match, extract_solution, format_score


@dataclass
class EvalResult:
    format_reward: float      # mean format reward (partial credit), the training signal
    format_exact: float       # share of answers with all four markers in order
    correctness: float        # share of answers whose solution equals the reference
    examples: list[dict]

    def as_dict(self) -> dict:
        return {"format_reward": round(self.format_reward, 4), "format_exact": round(self.format_exact, 4),
                "correctness": round(self.correctness, 4), "n": len(self.examples)}


def evaluate(model, tokenizer, rows: list[dict], system_prompt: str, markers: Markers, max_new_tokens: int = 48,
             batch_size: int = 10) -> EvalResult:
    import torch

    tokenizer.padding_side = "left"  # batched generation needs the prompts flush right
    model.eval()
    examples = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        prompts = [tokenizer.apply_chat_template(chat_messages(r["instruction"], system_prompt), tokenize=False,
                                                 add_generation_prompt=True) for r in batch]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id)
        texts = tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        for row, text in zip(batch, texts):
            answer = split_reasoning(row)[1]
            examples.append({"prompt": row["instruction"], "completion": text, "answer": answer,
                             "format": format_score(text, markers),
                             "correct": answers_match(extract_solution(text, markers), answer)})
    n = max(1, len(examples))
    return EvalResult(format_reward=sum(e["format"] for e in examples) / n,
                      format_exact=sum(e["format"] == 1.0 for e in examples) / n,
                      correctness=sum(e["correct"] for e in examples) / n, examples=examples)
