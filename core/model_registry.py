"""Catalogue of base models the studio offers, and where each one can be loaded from right now.

Availability is decided from local facts only (the bundled package, the Hugging
Face cache, a local folder, ``HF_HUB_OFFLINE``), so listing models never waits
on the network.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from core import default_model


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    family: str
    params_b: float = field(metadata={"help": "parameters, in billions"})
    description: str = ""
    bundled: bool = False

    @property
    def vram_lora_gb(self) -> int:
        """Product guidance for LoRA: 0.6-1.7 B -> 4 GB+, 3-4 B -> 8 GB+, 7-8 B -> 16 GB+."""
        if self.params_b <= 2:
            return 4
        if self.params_b <= 4.5:
            return 8
        return 16

    @property
    def vram_full_gb(self) -> int:
        """Full fine-tuning with AdamW in mixed precision: about 6.5 GB per billion parameters
        (3 B -> ~20 GB, 7 B -> ~46 GB, within the product's 16-24 / 40-48 GB guidance)."""
        return max(2, math.ceil(self.params_b * 6.5))


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(default_model.DEFAULT_MODEL_ID, "SmolLM2 135M Instruct", "SmolLM2", 0.135,
                 "Tiny chat model shipped with Tunewright; trains on a CPU.", bundled=True),
    CatalogEntry("HuggingFaceTB/SmolLM2-360M-Instruct", "SmolLM2 360M Instruct", "SmolLM2", 0.36),
    CatalogEntry("HuggingFaceTB/SmolLM2-1.7B-Instruct", "SmolLM2 1.7B Instruct", "SmolLM2", 1.7),
    CatalogEntry("Qwen/Qwen3-0.6B", "Qwen3 0.6B", "Qwen3", 0.6, "Small reasoning model with thinking mode."),
    CatalogEntry("Qwen/Qwen3-1.7B", "Qwen3 1.7B", "Qwen3", 1.7, "Good first GRPO target on one GPU."),
    CatalogEntry("Qwen/Qwen3-4B", "Qwen3 4B", "Qwen3", 4.0),
    CatalogEntry("Qwen/Qwen3-8B", "Qwen3 8B", "Qwen3", 8.2),
    CatalogEntry("meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2 1B Instruct", "Llama", 1.24,
                 "Gated on the Hub: accept the licence and log in first."),
    CatalogEntry("meta-llama/Llama-3.2-3B-Instruct", "Llama 3.2 3B Instruct", "Llama", 3.21,
                 "Gated on the Hub: accept the licence and log in first."),
    CatalogEntry("mistralai/Mistral-7B-Instruct-v0.3", "Mistral 7B Instruct v0.3", "Mistral", 7.25),
    CatalogEntry("microsoft/Phi-4-mini-instruct", "Phi-4 mini instruct", "Phi", 3.84),
)


class Availability(str, Enum):
    READY = "ready"              # bundled and already prepared as safetensors
    BUNDLED = "bundled"          # bundled; prepared on first use, offline
    LOCAL = "local"              # a folder on disk
    CACHED = "cached"            # in the Hugging Face cache
    DOWNLOADABLE = "downloadable"  # not here; the Hub will be asked at first use
    UNAVAILABLE = "unavailable"  # not here and cannot be fetched (offline)


def hub_offline() -> bool:
    """True when huggingface_hub was told not to use the network."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _in_hf_cache(repo_id: str, hf_cache: str | os.PathLike | None = None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json", cache_dir=hf_cache), str)


def _is_repo_id(model: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(model)
    except HFValidationError:
        return False
    return True


def availability(model: str, cache_dir: str | os.PathLike,
                 hf_cache: str | os.PathLike | None = None) -> tuple[Availability, str]:
    """Where ``model`` (catalogue id, Hub id or local folder) can be loaded from, and a sentence saying so.

    ``cache_dir`` is Tunewright's model cache; ``hf_cache`` the Hugging Face hub
    cache (default: huggingface_hub's own setting).
    """
    if model == default_model.DEFAULT_MODEL_ID:
        if default_model.is_prepared(cache_dir):
            return Availability.READY, "Bundled with Tunewright and prepared."
        if default_model.bundled_gguf_path(required=False) is not None:
            return Availability.BUNDLED, "Bundled with Tunewright; converted once on first use (about a minute)."
    path = Path(model).expanduser()
    if path.is_absolute() or model.startswith("."):
        if (path / "config.json").is_file():
            return Availability.LOCAL, f"Local folder {path}."
        return Availability.UNAVAILABLE, f"No model folder with a config.json at {path}."
    if not _is_repo_id(model):
        return Availability.UNAVAILABLE, (f"{model!r} is neither a Hub model id (owner/name) nor a local folder "
                                          "(an absolute path or one starting with '.').")
    if _in_hf_cache(model, hf_cache):
        return Availability.CACHED, "In the local Hugging Face cache."
    if hub_offline():
        return Availability.UNAVAILABLE, ("Not downloaded, and the Hugging Face Hub is switched off "
                                          "(HF_HUB_OFFLINE=1): download it on a machine with network first.")
    return Availability.DOWNLOADABLE, "Not downloaded yet: fetched from the Hugging Face Hub at first use (needs network)."


def catalog_with_availability(cache_dir: str | os.PathLike) -> list[dict]:
    """The catalogue as JSON-ready dicts with availability and VRAM guidance."""
    rows = []
    for entry in CATALOG:
        status, reason = availability(entry.id, cache_dir)
        row = asdict(entry)
        row.update(vram_lora_gb=entry.vram_lora_gb, vram_full_gb=entry.vram_full_gb,
                   availability=status.value, available=status is not Availability.UNAVAILABLE,
                   reason=reason)
        rows.append(row)
    return rows
