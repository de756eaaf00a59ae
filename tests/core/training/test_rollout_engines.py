"""Which rollout engine a session gets, and the refusal of one the machine cannot run."""
from __future__ import annotations

import pytest

from core.training.rollout.engines import engine_errors, resolve_engine
from core.training_config import parse_config


@pytest.mark.parametrize("cuda, vllm, llama_cpp, expected", [
    (True, True, True, "vllm"),             # a GPU and vLLM: vLLM colocated
    (True, False, True, "transformers"),    # a GPU without vLLM
    (False, True, True, "llama_cpp"),       # a CPU: llama.cpp
    (False, False, False, "transformers"),  # a CPU without llama-cpp-python
])
def test_auto_picks_the_fastest_engine_the_hardware_has(cuda, vllm, llama_cpp, expected):
    choice = resolve_engine("auto", cuda=cuda, vllm=vllm, llama_cpp=llama_cpp)
    assert choice.engine == expected and choice.reason.startswith("auto:")


def test_an_explicit_engine_is_kept_or_refused_with_its_reason():
    assert resolve_engine("transformers", cuda=False, vllm=False, llama_cpp=True).engine == "transformers"
    assert resolve_engine("llama_cpp", cuda=False, vllm=False, llama_cpp=True).engine == "llama_cpp"
    with pytest.raises(ValueError, match="needs an NVIDIA GPU"):
        resolve_engine("vllm", cuda=False, vllm=True, llama_cpp=True)
    with pytest.raises(ValueError, match="not installed"):
        resolve_engine("vllm", cuda=True, vllm=False, llama_cpp=True)
    with pytest.raises(ValueError, match="for CPU training"):
        resolve_engine("llama_cpp", cuda=True, vllm=True, llama_cpp=True)


def test_the_schema_offers_the_engines_with_auto_as_default():
    config = parse_config({})
    assert config.training.rollout_engine == "auto"
    assert engine_errors(config) == []
    with pytest.raises(ValueError, match="rollout_engine"):
        parse_config({"training": {"rollout_engine": "tensorrt"}})


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the CPU refusal")
def test_vllm_on_a_cpu_is_a_clear_400(client, tiny_model_dir):
    response = client.post("/api/training/start", json={"config": {
        "model": {"name": str(tiny_model_dir)}, "training": {"rollout_engine": "vllm"}}})
    assert response.status_code == 400
    body = response.get_json()
    assert "needs an NVIDIA GPU" in body["error"]
    assert body["details"][0]["path"] == "training.rollout_engine"
    assert client.get("/api/training/sessions").get_json()["sessions"] == []  # nothing was queued
