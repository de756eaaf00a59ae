"""Model catalogue: guidance figures and honest availability, never a network wait."""
from __future__ import annotations

import time

from core.default_model import DEFAULT_MODEL_ID
from core.model_registry import CATALOG, Availability, availability


def test_catalogue_covers_the_product_families():
    families = {entry.family for entry in CATALOG}
    assert {"Qwen3", "Llama", "Mistral", "Phi", "SmolLM2"} <= families
    ids = {entry.id for entry in CATALOG}
    assert {"Qwen/Qwen3-0.6B", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B",
            "meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-3B-Instruct"} <= ids


def test_vram_guidance_follows_the_product_tiers():
    by_id = {entry.id: entry for entry in CATALOG}
    assert by_id["Qwen/Qwen3-1.7B"].vram_lora_gb == 4
    assert by_id["meta-llama/Llama-3.2-3B-Instruct"].vram_lora_gb == 8
    assert by_id["mistralai/Mistral-7B-Instruct-v0.3"].vram_lora_gb == 16
    assert 16 <= by_id["meta-llama/Llama-3.2-3B-Instruct"].vram_full_gb <= 24
    assert 40 <= by_id["mistralai/Mistral-7B-Instruct-v0.3"].vram_full_gb <= 48


def test_bundled_model_is_available_offline(tmp_path):
    status, reason = availability(DEFAULT_MODEL_ID, tmp_path)
    assert status is Availability.BUNDLED
    assert "Bundled" in reason


def test_hub_model_offline_and_not_cached_says_why(tmp_path):
    status, reason = availability("Qwen/Qwen3-4B", tmp_path, hf_cache=tmp_path / "hf")
    assert status is Availability.UNAVAILABLE
    assert "HF_HUB_OFFLINE" in reason


def test_hub_model_in_the_hf_cache_is_found(tmp_path):
    hf_cache = tmp_path / "hf"
    snapshot = hf_cache / "models--Qwen--Qwen3-4B" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (hf_cache / "models--Qwen--Qwen3-4B" / "refs").mkdir()
    (hf_cache / "models--Qwen--Qwen3-4B" / "refs" / "main").write_text("abc123")
    assert availability("Qwen/Qwen3-4B", tmp_path, hf_cache=hf_cache)[0] is Availability.CACHED


def test_local_folders(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    assert availability(str(model), tmp_path)[0] is Availability.UNAVAILABLE
    (model / "config.json").write_text("{}")
    assert availability(str(model), tmp_path)[0] is Availability.LOCAL


def test_list_endpoint_is_fast_and_complete(client):
    started = time.monotonic()
    response = client.get("/api/models/list")
    assert time.monotonic() - started < 5
    models = response.json["models"]
    assert len(models) == len(CATALOG)
    for row in models:
        assert {"id", "name", "params_b", "vram_lora_gb", "vram_full_gb", "availability", "available", "reason"} <= set(row)
    assert next(m for m in models if m["id"] == DEFAULT_MODEL_ID)["available"] is True
