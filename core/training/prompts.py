"""Turn normalised dataset rows into TRL's conversational prompt / prompt-completion examples."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.training_config import DatasetSection


@dataclass(frozen=True)
class Markers:
    reasoning_start: str
    reasoning_end: str
    solution_start: str
    solution_end: str

    @classmethod
    def from_config(cls, dataset: DatasetSection) -> "Markers":
        return cls(dataset.reasoning_start, dataset.reasoning_end, dataset.solution_start, dataset.solution_end)

    def format(self, reasoning: str, answer: str) -> str:
        return f"{self.reasoning_start}{reasoning}{self.reasoning_end}{self.solution_start}{answer}{self.solution_end}"


_GSM8K_ANSWER = re.compile(r"####\s*(.+)\s*$", re.S)


def split_reasoning(row: dict) -> tuple[str, str]:
    """(reasoning, final answer) of a row: explicit fields, GSM8K's '#### 42' tail, or the whole response."""
    response = str(row.get("response", "")).strip()
    answer = str(row.get("answer", "")).strip()
    reasoning = str(row.get("reasoning", "")).strip()
    match = _GSM8K_ANSWER.search(response)
    if match:
        reasoning = reasoning or response[: match.start()].strip()
        answer = answer or match.group(1).strip()
    return reasoning, answer or response


def conversation(system_prompt: str, instruction: str) -> list[dict]:
    # Always pass our system message: SmolLM2's template inserts its own otherwise.
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": instruction}]


def grpo_examples(rows: list[dict], system_prompt: str) -> list[dict]:
    """Prompts for GRPO; the reference answer travels as a column the rewards receive."""
    return [{"prompt": conversation(system_prompt, row["instruction"]), "answer": split_reasoning(row)[1]}
            for row in rows]


def sft_examples(rows: list[dict], system_prompt: str, markers: Markers) -> list[dict]:
    """Prompt-completion pairs in the marker format, for the SFT pre-training phase."""
    examples = []
    for row in rows:
        reasoning, answer = split_reasoning(row)
        examples.append({"prompt": conversation(system_prompt, row["instruction"]),
                         "completion": [{"role": "assistant", "content": markers.format(reasoning, answer)}]})
    return examples


def completion_text(completion) -> str:
    """TRL passes conversational completions as message lists and plain ones as strings."""
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion)
