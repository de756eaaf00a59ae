"""Turn normalised dataset rows into TRL's conversational prompt / prompt-completion examples."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from core.datasets.prompts import Markers, chat_messages

if TYPE_CHECKING:
    from core.training_config import DatasetSection


def markers_from_config(dataset: "DatasetSection") -> Markers:
    return Markers(dataset.reasoning_start, dataset.reasoning_end, dataset.solution_start, dataset.solution_end)


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


def grpo_examples(rows: list[dict], system_prompt: str) -> list[dict]:
    """Prompts for GRPO; the reference answer travels as a column the rewards receive."""
    # Always pass our system message: SmolLM2's template inserts its own otherwise.
    return [{"prompt": chat_messages(row["instruction"], system_prompt), "answer": split_reasoning(row)[1],
             "response": str(row.get("response", ""))} for row in rows]


def sft_examples(rows: list[dict], system_prompt: str, markers: Markers) -> list[dict]:
    """Prompt-completion pairs in the marker format, for the SFT pre-training phase."""
    examples = []
    for row in rows:
        reasoning, answer = split_reasoning(row)
        examples.append({"prompt": chat_messages(row["instruction"], system_prompt),
                         "completion": [{"role": "assistant", "content": markers.wrap(reasoning, answer)}]})
    return examples


def completion_text(completion) -> str:
    """TRL passes conversational completions as message lists and plain ones as strings."""
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion)
