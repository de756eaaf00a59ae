"""Hugging Face formats: the LoRA adapter as trained, and the base model with the adapter merged in."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core.export.sources import Source

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json", "README.md")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json")


def copy_adapter(source: Source, target: Path) -> list[Path]:
    """The PEFT adapter (safetensors + config) with the tokenizer it was trained with."""
    if source.kind != "adapter":
        raise ValueError("This session trained all weights (no LoRA adapter): export the merged model instead.")
    folder = Path(source.path)
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    tokenizer_home = folder if (folder / "tokenizer_config.json").is_file() else Path(source.base_model)
    for name in ADAPTER_FILES:
        if (folder / name).is_file():
            copied.append(Path(shutil.copy2(folder / name, target / name)))
    for name in TOKENIZER_FILES:
        if (tokenizer_home / name).is_file():
            copied.append(Path(shutil.copy2(tokenizer_home / name, target / name)))
    if not (target / "adapter_model.safetensors").is_file():
        raise FileNotFoundError(f"No adapter_model.safetensors in {folder}")
    return copied


def load_tokenizer(source: Source):
    from transformers import AutoTokenizer

    folder = Path(source.path)
    return AutoTokenizer.from_pretrained(folder if (folder / "tokenizer_config.json").is_file() else source.base_model)


def merge(source: Source, target: Path, stop_token_ids: list[int] | None = None) -> Path:
    """Base + adapter as one transformers model folder (safetensors, tokenizer with its chat template,
    generation config whose EOS list holds every end-of-turn token, so ``generate`` stops where chat ends)."""
    import torch
    from transformers import AutoModelForCausalLM

    target.mkdir(parents=True, exist_ok=True)
    if source.kind == "adapter":
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(source.base_model, dtype=torch.float32)
        model = PeftModel.from_pretrained(base, source.path).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(source.path, dtype=torch.float32)
    tokenizer = load_tokenizer(source)
    if stop_token_ids:
        existing = model.generation_config.eos_token_id
        existing = existing if isinstance(existing, list) else [existing] if existing is not None else []
        model.generation_config.eos_token_id = list(dict.fromkeys([*existing, *stop_token_ids]))
    model.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    return target


def model_info(folder: Path) -> dict[str, Any]:
    import json

    config = json.loads((folder / "config.json").read_text())
    return {k: config.get(k) for k in ("architectures", "hidden_size", "num_hidden_layers", "vocab_size",
                                        "max_position_embeddings")}
