"""Training methods on the tiny model, called directly (no server): each writes exactly its documented files,
which load and answer; Unsloth's detection, refusal and config mapping; the schema's method names."""
from __future__ import annotations

import logging
import typing
from pathlib import Path

import pytest

from core.methods import METHODS, get_method, list_methods
from core.methods import unsloth as unsloth_method
from core.training.runner import TrainingJob
from core.training_config import ConfigValidationError, Method, parse_config
from tests.training_helpers import arithmetic_rows, tiny_config

TOKENIZER_FILES = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"}
ADAPTER_FILES = {"adapter_config.json", "adapter_model.safetensors", "README.md", *TOKENIZER_FILES}


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def run_method(name: str, model_dir, out: Path, rows=None, stop=lambda: False, resume=False, **sections):
    config = parse_config({**tiny_config(model_dir, training={"batch_size": 4}, **sections), "method": name})
    events: list[dict] = []
    outcome = get_method(name).run(TrainingJob(config=config, model_path=str(model_dir),
                                               rows=rows or arithmetic_rows(8), output_dir=out,
                                               emit=events.append, should_stop=stop, resume=resume))
    return outcome, events


def answer(model, tokenizer, question: str = "What is 2 + 3?") -> str:
    import torch

    inputs = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    new_tokens = output[0, inputs["input_ids"].shape[1]:]
    assert len(new_tokens) > 0
    return tokenizer.decode(new_tokens)


def test_schema_method_names_equal_the_registry():
    assert set(typing.get_args(Method)) == set(METHODS)
    assert parse_config({}).method == "grpo"
    assert [m["name"] for m in list_methods()] == list(METHODS)
    assert all(m["description"] and m["outputs"] for m in list_methods())


def test_method_sections_are_validated_with_paths():
    with pytest.raises(ConfigValidationError) as info:
        parse_config({"method": "rag", "rag": {"chunk_size": 100, "chunk_overlap": 100}})
    assert [e["path"] for e in info.value.errors] == ["rag.chunk_overlap"]
    with pytest.raises(ConfigValidationError) as info:
        parse_config({"method": "lora"})
    assert info.value.errors[0]["path"] == "method" and "grpo" in info.value.errors[0]["hint"]
    with pytest.raises(ConfigValidationError):
        parse_config({"rag": {"chunk_size": 10}})  # below its bound


def test_unsloth_detection_and_refusal():
    assert unsloth_method.unavailable_reason(cuda=False, installed=True) == unsloth_method.NO_GPU
    assert unsloth_method.unavailable_reason(cuda=True, installed=False) == unsloth_method.NOT_INSTALLED
    assert unsloth_method.unavailable_reason(cuda=True, installed=True) is None
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal path is not taken")
    described = next(m for m in list_methods() if m["name"] == "unsloth")
    assert described["available"] is False and "GPU" in described["reason"]
    with pytest.raises(RuntimeError, match="GPU"):
        METHODS["unsloth"].run(None)  # refused before touching the job or importing unsloth


def test_unsloth_config_mapping():
    config = parse_config({"method": "unsloth", "model": {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.05},
                           "training": {"max_sequence_length": 1024, "seed": 7},
                           "unsloth": {"load_in_4bit": False, "use_gradient_checkpointing": False}})
    assert unsloth_method.from_pretrained_kwargs(config, "/m") == {
        "model_name": "/m", "max_seq_length": 1024, "dtype": None, "load_in_4bit": False}
    peft = unsloth_method.peft_kwargs(config)
    assert peft["r"] == 8 and peft["lora_alpha"] == 16 and peft["lora_dropout"] == 0.05
    assert peft["target_modules"][:4] == ["q_proj", "k_proj", "v_proj", "o_proj"]  # 'all-linear' made explicit
    assert peft["use_gradient_checkpointing"] is False and peft["random_state"] == 7
    config = parse_config({"method": "unsloth", "model": {"target_modules": ["q_proj", "v_proj"]}})
    assert unsloth_method.peft_kwargs(config)["target_modules"] == ["q_proj", "v_proj"]
    assert unsloth_method.peft_kwargs(config)["use_gradient_checkpointing"] == "unsloth"


@pytest.mark.slow
def test_standard_full_finetune_writes_a_plain_model_that_changed_and_answers(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    outcome, events = run_method("standard", tiny_model_dir, tmp_path)
    assert outcome == "completed"
    folder = tmp_path / "standard_model"
    assert files_in(folder) == {"model.safetensors", "config.json", "generation_config.json", *TOKENIZER_FILES}
    assert [e["step"] for e in events if e["type"] == "metrics" and "loss" in e["metrics"]] == [1, 2]
    trained = AutoModelForCausalLM.from_pretrained(folder)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    changed = [n for n, p in trained.named_parameters() if not p.equal(dict(base.named_parameters())[n])]
    assert any("mlp" in n for n in changed) and any("self_attn" in n for n in changed)  # every kind of weight
    answer(trained, AutoTokenizer.from_pretrained(folder))


@pytest.mark.slow
def test_standard_lora_is_merged_into_the_saved_model(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    outcome, _ = run_method("standard", tiny_model_dir, tmp_path, standard={"full_finetune": False})
    assert outcome == "completed"
    folder = tmp_path / "standard_model"
    assert "adapter_config.json" not in files_in(folder) and "model.safetensors" in files_in(folder)
    trained = AutoModelForCausalLM.from_pretrained(folder)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert not any("lora" in n for n, _ in trained.named_parameters())
    assert not trained.model.layers[0].self_attn.q_proj.weight.equal(base.model.layers[0].self_attn.q_proj.weight)


@pytest.mark.slow
def test_qlora_trains_on_a_4bit_base_and_its_adapter_loads_on_the_base(tiny_model_dir, tmp_path, caplog):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with caplog.at_level(logging.INFO, logger="core.methods.qlora"):
        outcome, events = run_method("qlora", tiny_model_dir, tmp_path)
    assert outcome == "completed"
    assert any("base loaded in 4-bit nf4" in r.getMessage() for r in caplog.records)
    folder = tmp_path / "qlora_model"
    assert files_in(folder) == ADAPTER_FILES
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(folder))
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # LoRA B starts at zero: training moved it
    answer(model, AutoTokenizer.from_pretrained(folder))


@pytest.mark.slow
def test_sft_methods_stop_with_a_checkpoint_and_resume_from_it(tiny_model_dir, tmp_path):
    outcome, events = run_method("qlora", tiny_model_dir, tmp_path, stop=lambda: True)
    assert outcome == "stopped"
    assert [e["step"] for e in events if e["type"] == "progress"] == [1]
    assert (tmp_path / "checkpoints" / "sft" / "checkpoint-1" / "trainer_state.json").is_file()
    assert (tmp_path / "qlora_model" / "adapter_model.safetensors").is_file()

    from core.training.paths import SessionPaths, resume_state

    assert resume_state(SessionPaths(tmp_path)) == ("sft", 1)  # what the service's resume reads
    outcome, events = run_method("qlora", tiny_model_dir, tmp_path, resume=True)
    assert outcome == "completed"
    assert [e["step"] for e in events if e["type"] == "progress"] == [2]  # step 1 is not trained again
