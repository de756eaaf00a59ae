"""Each export format from a session trained on the tiny model, loaded back by the tool that will run it."""
from __future__ import annotations

import pytest

from core import gguf_tools
from core.export import run_export
from core.export.modelfile import chat_shape
from core.inference.llama_loader import load_llama

pytestmark = pytest.mark.slow
SYSTEM = "Answer briefly."


def export(tmp_path, trained_session_dir, tiny_model_dir, fmt, quantization=None, **extra):
    job = {"export_id": f"{fmt}{quantization or ''}", "session_id": "s1", "format": fmt,
           "quantization": quantization, "output_dir": str(trained_session_dir), "base_model": str(tiny_model_dir),
           "export_dir": str(tmp_path / f"{fmt}{quantization or ''}"), "system_prompt": SYSTEM,
           "verify_max_tokens": 16, **extra}
    events = []
    return run_export(job, events.append), events


def test_adapter_export_loads_with_peft(tmp_path, trained_session_dir, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    manifest, events = export(tmp_path, trained_session_dir, tiny_model_dir, "adapter")
    folder = tmp_path / "adapter" / "adapter"
    names = {f["name"] for f in manifest["files"]}
    assert {"adapter/adapter_model.safetensors", "adapter/adapter_config.json", "adapter/tokenizer.json"} <= names
    assert manifest["source_checkpoint"] == "adapter" and all(len(f["sha256"]) == 64 for f in manifest["files"])
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(folder))
    assert any("lora_" in name for name, _ in model.named_parameters())
    assert events[0]["type"] == "progress"


def test_adapter_export_for_ollama_answers_like_peft_in_llama_cpp(tmp_path, trained_session_dir, tiny_model_dir):
    """The GGUF adapter the Modelfile names, applied by llama.cpp to the base, greedily says what PEFT says."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    manifest, _ = export(tmp_path, trained_session_dir, tiny_model_dir, "adapter", ollama_base="tiny:test",
                         name="My run")
    folder = tmp_path / "adapter"
    modelfile = (folder / "Modelfile").read_text()
    assert modelfile.startswith("FROM tiny:test\nADAPTER ./My-run-lora-F16.gguf\n")
    assert manifest["ollama"]["create"] == "ollama create my-run -f Modelfile"
    assert {"My-run-lora-F16.gguf", "Modelfile"} <= {f["name"] for f in manifest["files"]}
    assert f'SYSTEM """{SYSTEM}"""' in modelfile and "lms" not in modelfile
    assert "adapters" in manifest["lmstudio"]["note"]

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = tokenizer("What is 2 + 2?")["input_ids"]
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                                     str(trained_session_dir / "adapter")).eval()
    with torch.no_grad():
        expected = peft.generate(torch.tensor([prompt]), max_new_tokens=8, do_sample=False)[0, len(prompt):].tolist()
    base = gguf_tools.convert_hf_to_gguf(tiny_model_dir, tmp_path / "base.gguf", "f32")
    llm = load_llama(base, lora_path=str(folder / "My-run-lora-F16.gguf"), n_ctx=128)
    llm.eval(prompt)
    got = []
    for _ in range(8):
        token = int(llm.sample(temp=0.0))
        got.append(token)
        llm.eval([token])
    assert got == expected


def test_adapter_export_without_a_known_ollama_base_says_so(tmp_path, trained_session_dir, tiny_model_dir):
    manifest, _ = export(tmp_path, trained_session_dir, tiny_model_dir, "adapter")
    assert "no model known" in manifest["ollama"]["note"] and not (tmp_path / "adapter" / "Modelfile").exists()


def test_merged_export_loads_with_transformers_and_equals_base_plus_adapter(tmp_path, trained_session_dir,
                                                                           tiny_model_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    manifest, _ = export(tmp_path, trained_session_dir, tiny_model_dir, "merged")
    folder = tmp_path / "merged" / "model"
    merged = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.chat_template and "<|im_end|>" in manifest["stop_tokens"]
    reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                                          str(trained_session_dir / "adapter"))
    ids = torch.tensor([tokenizer("What is 2 + 2?")["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, reference(ids).logits, atol=1e-4)
    eos = merged.generation_config.eos_token_id
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in (eos if isinstance(eos, list) else [eos])


def test_f16_gguf_matches_the_hf_model_token_for_token(tmp_path, trained_session_dir, tiny_model_dir):
    manifest, events = export(tmp_path, trained_session_dir, tiny_model_dir, "gguf", "F16")
    assert manifest["gguf"].endswith("-F16.gguf") and manifest["quantization_applied"] == "F16"
    verification = manifest["verification"]
    prompts = verification["prompts"]
    assert prompts and all(p["first_16_equal"] and len(p["gguf_tokens"]) > 0 for p in prompts)
    # The tiny random model rambles: the file is faithful to it, and the model (HF and GGUF alike) does not stop.
    # Two results, not one "differs" that would read as a broken file.
    assert verification["fidelity"]["status"] == "faithful" and verification["fidelity"]["tokens_compared"] > 0
    assert verification["behaviour"]["status"] == "does-not-stop"
    assert verification["behaviour"]["summary"] == "did not stop within 16 tokens"
    assert verification["status"] == "does-not-stop" and "differ" not in " ".join(verification["problems"])
    assert not any(p["hf_stopped"] for p in prompts)  # the HF model does not stop either: the model's trait
    llm = load_llama(tmp_path / "ggufF16" / manifest["gguf"], n_ctx=256)
    assert llm.n_vocab() > 40000
    assert [e["stage"] for e in events if e["type"] == "progress"][:3] == ["start", "merge", "convert"]


def test_q4_k_m_reports_the_real_tensor_mix_and_a_truthful_name(tmp_path, trained_session_dir, tiny_model_dir):
    from transformers import AutoTokenizer

    manifest, _ = export(tmp_path, trained_session_dir, tiny_model_dir, "gguf", "Q4_K_M", verify=False)
    path = tmp_path / "ggufQ4_K_M" / manifest["gguf"]
    assert gguf_tools.tensor_types(path) == manifest["tensor_types"]
    # hidden size 64 is no multiple of 256: llama.cpp falls back for every k-quant tensor, and says so
    assert manifest["fallback"] and "Q4_K" not in manifest["tensor_types"]
    assert manifest["quantization"] == "Q4_K_M" and manifest["quantization_applied"] != "Q4_K_M"
    assert "Q4_K_M" not in manifest["gguf"] and manifest["quantization_applied"] in manifest["gguf"]
    assert manifest["verification"]["status"] == "skipped"  # (the F16 test and the browser test verify)

    modelfile = (tmp_path / "ggufQ4_K_M" / "Modelfile").read_text()
    shape = chat_shape(AutoTokenizer.from_pretrained(tiny_model_dir))
    assert f"FROM ./{manifest['gguf']}" in modelfile
    assert f'TEMPLATE """{shape.go_template()}"""' in modelfile and "<|im_start|>assistant\n" in modelfile
    for stop in manifest["stop_tokens"]:
        assert f'PARAMETER stop "{stop}"' in modelfile
    assert {"<|im_end|>", "<|im_start|>"} <= set(manifest["stop_tokens"])
    assert f'SYSTEM """{SYSTEM}"""' in modelfile and "PARAMETER num_ctx" in modelfile
    assert "lms import" in (tmp_path / "ggufQ4_K_M" / "LMSTUDIO.md").read_text()


def test_export_of_a_checkpoint_and_of_a_missing_one(tmp_path, trained_session_dir, tiny_model_dir):
    from core.export import SourceNotFound

    manifest, _ = export(tmp_path, trained_session_dir, tiny_model_dir, "adapter",
                         checkpoint="checkpoints/grpo/checkpoint-1")
    assert manifest["source_checkpoint"] == "checkpoints/grpo/checkpoint-1"
    with pytest.raises(SourceNotFound):
        export(tmp_path / "x", trained_session_dir, tiny_model_dir, "adapter", checkpoint="../../etc")
