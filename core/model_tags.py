"""Model names a script may send: catalogue ids, Hub ids, local folders, or Ollama-style tags.

Ollama tags (``llama3.2:3b``, ``qwen3:1.7b``, ``mistral``) are mapped to the catalogue's Hub checkpoints: the
trainers need the Hugging Face weights, not the GGUF an Ollama tag names. A bare family means Ollama's default
size for it. Unknown names get close matches (difflib) so a typo is one retry away.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from core.model_registry import CATALOG

# Ollama tag -> catalogue id. Ollama's defaults: llama3.2 -> 3b, qwen3 -> 8b, smollm2 -> 1.7b, mistral -> 7b.
OLLAMA_TAGS: dict[str, str] = {
    "smollm2:135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "smollm2:360m": "HuggingFaceTB/SmolLM2-360M-Instruct",
    "smollm2:1.7b": "HuggingFaceTB/SmolLM2-1.7B-Instruct",
    "smollm2": "HuggingFaceTB/SmolLM2-1.7B-Instruct",
    "qwen3:0.6b": "Qwen/Qwen3-0.6B",
    "qwen3:1.7b": "Qwen/Qwen3-1.7B",
    "qwen3:4b": "Qwen/Qwen3-4B",
    "qwen3:8b": "Qwen/Qwen3-8B",
    "qwen3": "Qwen/Qwen3-8B",
    "llama3.2:1b": "meta-llama/Llama-3.2-1B-Instruct",
    "llama3.2:3b": "meta-llama/Llama-3.2-3B-Instruct",
    "llama3.2": "meta-llama/Llama-3.2-3B-Instruct",
    "mistral:7b": "mistralai/Mistral-7B-Instruct-v0.3",
    "mistral": "mistralai/Mistral-7B-Instruct-v0.3",
    "phi4-mini:3.8b": "microsoft/Phi-4-mini-instruct",
    "phi4-mini": "microsoft/Phi-4-mini-instruct",
}
_BY_LOWER_ID = {entry.id.lower(): entry.id for entry in CATALOG}


class UnknownModelName(ValueError):
    def __init__(self, name: str, suggestions: list[str]):
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown model {name!r}.{hint}")
        self.name = name
        self.suggestions = suggestions


@dataclass(frozen=True)
class ResolvedModel:
    requested: str
    model: str   # what model.name in the config gets
    via: str     # "catalogue", "ollama", "hub" or "path"


def ollama_tag(model_name: str) -> str | None:
    """The Ollama library tag that holds ``model_name``'s base weights (for ``FROM`` under a LoRA ``ADAPTER``),
    the sized tag rather than a bare family, or None when the library has no such model."""
    wanted = _BY_LOWER_ID.get((model_name or "").lower(), model_name)
    sized = [tag for tag, model in OLLAMA_TAGS.items() if model == wanted and ":" in tag]
    return sized[0] if sized else None


def known_names() -> list[str]:
    return [entry.id for entry in CATALOG] + list(OLLAMA_TAGS)


def resolve_model_name(name: str) -> ResolvedModel:
    raw = (name or "").strip()
    if not raw:
        raise UnknownModelName(raw, [])
    lowered = raw.lower()
    if lowered in _BY_LOWER_ID:
        return ResolvedModel(raw, _BY_LOWER_ID[lowered], "catalogue")
    tag = lowered.removesuffix(":latest")
    if tag in OLLAMA_TAGS:
        return ResolvedModel(raw, OLLAMA_TAGS[tag], "ollama")
    if raw.startswith(("/", "./", "../", "~")):
        return ResolvedModel(raw, raw, "path")
    if raw.count("/") == 1 and ":" not in raw and " " not in raw:
        return ResolvedModel(raw, raw, "hub")  # any Hub id: the service checks it can be loaded
    candidates = known_names()
    lowered_candidates = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(tag, list(lowered_candidates), n=5, cutoff=0.5)
    raise UnknownModelName(raw, [lowered_candidates[c] for c in close])
