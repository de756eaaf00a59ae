"""System prompt templates with reasoning/solution markers, and the prompt the model finally sees."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_TEMPLATE_NAME = "GRPO default"


@dataclass(frozen=True)
class Markers:
    """The tags around the reasoning and the final answer; the format rewards look for exactly these."""

    reasoning_start: str = "<start_working_out>"
    reasoning_end: str = "<end_working_out>"
    solution_start: str = "<SOLUTION>"
    solution_end: str = "</SOLUTION>"

    def wrap(self, reasoning: str, answer: str) -> str:
        """An answer in the marker format: what SFT pre-training teaches and the format reward checks."""
        return f"{self.reasoning_start}{reasoning}{self.reasoning_end}{self.solution_start}{answer}{self.solution_end}"

    def problems(self) -> list[str]:
        values = asdict(self)
        found = [f"{name.replace('_', ' ')} marker is empty" for name, v in values.items() if not v.strip()]
        if len(set(values.values())) < len(values):
            found.append("the four markers must all differ")
        found += [f"{name.replace('_', ' ')} marker is longer than 64 characters"
                  for name, v in values.items() if len(v) > 64]
        return found


DEFAULT_MARKERS = Markers()


def grpo_system_prompt(markers: Markers = DEFAULT_MARKERS) -> str:
    """The default GRPO instruction: reason between the reasoning markers, answer between the solution ones."""
    return (f"Work the problem out step by step. Write your reasoning between {markers.reasoning_start} and "
            f"{markers.reasoning_end}, then give only the final answer between {markers.solution_start} and "
            f"{markers.solution_end}.")


PROMPTS_DIR_ENV = "TUNEWRIGHT_PROMPTS_DIR"
SYSTEM_PROMPT_FILE = "system_prompt.txt"


def system_prompt_file() -> Path:
    """Where ``learn optimize-prompt`` writes the winning prompt: ``prompts/system_prompt.txt`` in the project
    (or under ``$TUNEWRIGHT_PROMPTS_DIR``, so tests and installs can keep it elsewhere)."""
    folder = os.environ.get(PROMPTS_DIR_ENV) or Path(__file__).resolve().parents[2] / "prompts"
    return Path(folder).expanduser() / SYSTEM_PROMPT_FILE


def default_system_prompt(markers: Markers = DEFAULT_MARKERS) -> str:
    """The system prompt a config without one gets: the optimised prompt when one was saved, else the GRPO
    default. The saved text may use ``{reasoning_start}``-style placeholders; they are filled here."""
    try:
        saved = system_prompt_file().read_text(encoding="utf-8").strip()
    except OSError:
        saved = ""
    return render_system_prompt(saved, markers) if saved else grpo_system_prompt(markers)


def render_system_prompt(text: str, markers: Markers) -> str:
    """Fill the four ``{reasoning_start}``-style placeholders in a user's template text with its markers.

    Literal replacement, never ``str.format``: format specs and attribute lookups in user text
    (``{reasoning_start:>2000000000}``, ``{reasoning_start.__class__}``) would allocate or walk objects.
    Every other brace is plain text."""
    for name, value in asdict(markers).items():
        text = text.replace("{" + name + "}", value)
    return text


def chat_messages(instruction: str, system_prompt: str | None = None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": instruction})
    return messages


def render_prompt(tokenizer: Any, instruction: str, system_prompt: str | None = None) -> str:
    """The text the model is given: the tokenizer's chat template with our system prompt and the
    generation prompt, or a plain layout when the tokenizer has no chat template."""
    messages = chat_messages(instruction, system_prompt)
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    parts = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(parts) + "\n\nAssistant:"
