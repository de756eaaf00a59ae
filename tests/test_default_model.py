"""The embedded default model: GGUF in, a trainable safetensors folder out."""
from __future__ import annotations

import time

import pytest

from core import default_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def prepared_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("model-cache")
    steps: list[tuple[int, str]] = []
    default_model.prepare_default_model(cache, progress=lambda step, total, msg: steps.append((step, msg)))
    assert [s for s, _ in steps] == [1, 2, 3, 4]
    return cache


def test_prepared_folder_loads_and_generates_with_the_chat_template(prepared_cache):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = default_model.prepared_model_dir(prepared_cache)
    assert (folder / "model.safetensors").is_file()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the capital of France?"}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "<|im_start|>assistant" in prompt
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer  # the real pretrained weights survived the conversion


def test_preparation_is_idempotent(prepared_cache):
    marker = default_model.prepared_model_dir(prepared_cache) / default_model.MARKER
    before = marker.stat().st_mtime_ns
    started = time.monotonic()
    default_model.prepare_default_model(prepared_cache)
    assert time.monotonic() - started < 2
    assert marker.stat().st_mtime_ns == before
    assert default_model.prepared_info(prepared_cache)["source"].endswith(".gguf")


def test_cli_reports_and_records_the_prepared_model(prepared_cache, test_config):
    from app_factory import create_app
    from services.settings_store import get_setting

    app = create_app(test_config | {"MODEL_CACHE": str(prepared_cache)})
    result = app.test_cli_runner().invoke(args=["prepare-model"])
    assert result.exit_code == 0, result.output
    assert str(default_model.prepared_model_dir(prepared_cache)) in result.output
    with app.app_context():
        assert get_setting("default_model")["path"] == str(default_model.prepared_model_dir(prepared_cache))
    listing = app.test_client().get("/api/models/list").json["models"]
    assert listing[0]["id"] == default_model.DEFAULT_MODEL_ID and listing[0]["availability"] == "ready"


def test_a_leftover_partial_folder_is_not_taken_for_a_model(tmp_path):
    partial = tmp_path / f".{default_model.FOLDER_NAME}.partial"
    partial.mkdir()
    (partial / "config.json").write_text("{}")
    assert not default_model.is_prepared(tmp_path)
