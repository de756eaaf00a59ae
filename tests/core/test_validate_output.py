"""Validating a finished run's output on real files: the embedded SmolLM2 saved as a Standard model and as a
LoRA adapter, and a RAG index built by the RAG method itself; then each broken in the way real outputs break
(a lost file, a cut header, a wrong base, vectors out of step with their chunks)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.methods import METHODS
from core.projects.validate_output import KINDS, validate_output
from tests.core.test_methods import run_method
from tests.deploy_fixtures import prepared_smollm2
from tests.rag_fixtures import FACT_ROWS

CHECKS = ["files", "formats", "load", "generate"]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    path = prepared_smollm2()
    assert path is not None, "the embedded model is not prepared: `make test` prepares it first (`make model`)"
    return path


def load_smollm2(path: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(str(path))


@pytest.fixture(scope="module")
def standard_outputs(tmp_path_factory, smollm2) -> Path:
    """Two Standard runs' folders: ``whole/`` as the method saves it, ``sharded/`` split in 300 MB shards."""
    from core.methods.standard import save_full_model

    model, tokenizer = load_smollm2(smollm2)
    root = tmp_path_factory.mktemp("standard")
    save_full_model(model, tokenizer, root / "whole" / "standard_model")
    model.save_pretrained(root / "sharded" / "standard_model", max_shard_size="300MB")
    tokenizer.save_pretrained(root / "sharded" / "standard_model")
    return root


@pytest.fixture(scope="module")
def adapter_run(tmp_path_factory, smollm2) -> Path:
    """A GRPO-shaped run folder: an untrained r=2 LoRA adapter on SmolLM2 and the tokenizer in ``adapter/``."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load_smollm2(smollm2)
    model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"],
                                             task_type="CAUSAL_LM"))
    run_dir = tmp_path_factory.mktemp("grpo")
    model.save_pretrained(run_dir / "adapter")
    tokenizer.save_pretrained(run_dir / "adapter")
    return run_dir


@pytest.fixture(scope="module")
def rag_run(tmp_path_factory, smollm2) -> Path:
    """A RAG run's folder written by the RAG method itself (index only: no generator fine-tuning)."""
    run_dir = tmp_path_factory.mktemp("rag")
    outcome, _events = run_method("rag", smollm2, run_dir, rows=FACT_ROWS)
    assert outcome == "completed"
    return run_dir


def linked_copy(source: Path, target: Path) -> Path:
    """A copy made of hard links (instant, even for 540 MB of weights): deleting a file is safe, but a file to
    corrupt must be replaced (see :func:`truncate`), never written in place."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


def truncate(path: Path, size: int) -> None:
    """Keep only the first ``size`` bytes, as an interrupted copy would (a new file: the original stays)."""
    with open(path, "rb") as handle:
        head = handle.read(size)
    path.unlink()
    path.write_bytes(head)


def by_name(result: dict) -> dict[str, dict]:
    return {check["name"]: check for check in result["checks"]}


def assert_failed_at(result: dict, name: str) -> str:
    """``name`` failed, the checks before it passed, those after it say they were skipped; its detail."""
    names = [check["name"] for check in result["checks"]]
    failed_at = names.index(name)
    assert result["passed"] is False
    assert all(check["passed"] for check in result["checks"][:failed_at])
    assert result["checks"][failed_at]["passed"] is False
    for check in result["checks"][failed_at + 1:]:
        assert check == {"name": check["name"], "passed": False, "detail": f"skipped: {name} failed"}
    return result["checks"][failed_at]["detail"]


def test_every_method_has_an_output_kind_and_an_unknown_one_is_refused(tmp_path):
    assert set(KINDS) == set(METHODS)
    with pytest.raises(ValueError, match="unknown training method"):
        validate_output("lora", tmp_path, None)


def test_a_run_without_its_output_folder_fails_files(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    result = validate_output("qlora", tmp_path, None)
    assert assert_failed_at(result, "files") == "missing: qlora_model/"
    assert [check["name"] for check in result["checks"]] == CHECKS


@pytest.mark.slow
def test_a_standard_model_passes_every_check(standard_outputs, tmp_path):
    result = validate_output("standard", linked_copy(standard_outputs / "whole", tmp_path / "run"), None)
    assert result["passed"], result
    assert [check["name"] for check in result["checks"]] == CHECKS
    checks = by_name(result)
    assert "134.5 M parameters" in checks["load"]["detail"]
    assert checks["generate"]["detail"].startswith("standard_model/ answered '")


@pytest.mark.slow
def test_lost_weights_fail_files_by_name_and_skip_the_rest(standard_outputs, tmp_path):
    run_dir = linked_copy(standard_outputs / "whole", tmp_path / "run")
    (run_dir / "standard_model" / "model.safetensors").unlink()
    result = validate_output("standard", run_dir, None)
    assert assert_failed_at(result, "files") == "missing: standard_model/model.safetensors"
    assert len(result["checks"]) == 4


@pytest.mark.slow
def test_a_cut_safetensors_header_fails_formats(standard_outputs, tmp_path):
    run_dir = linked_copy(standard_outputs / "whole", tmp_path / "run")
    truncate(run_dir / "standard_model" / "model.safetensors", 1024)
    detail = assert_failed_at(validate_output("standard", run_dir, None), "formats")
    assert detail.startswith("standard_model/model.safetensors: invalid safetensors header (")
    assert (standard_outputs / "whole" / "standard_model" / "model.safetensors").stat().st_size > 500e6


@pytest.mark.slow
def test_sharded_weights_need_every_shard_their_index_names(standard_outputs, tmp_path):
    run_dir = linked_copy(standard_outputs / "sharded", tmp_path / "run")
    index = json.loads((run_dir / "standard_model" / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) >= 2
    result = validate_output("standard", run_dir, None, generate=False)
    assert result["passed"], result
    assert [check["name"] for check in result["checks"]] == ["files", "formats", "load"]
    assert f"safetensors headers valid: {len(shards)}" in by_name(result)["formats"]["detail"]

    (run_dir / "standard_model" / shards[-1]).unlink()
    detail = assert_failed_at(validate_output("standard", run_dir, None), "files")
    assert detail == f"missing: standard_model/{shards[-1]}"


@pytest.mark.slow
def test_an_adapter_passes_on_its_base(adapter_run, smollm2, tmp_path):
    result = validate_output("grpo", linked_copy(adapter_run, tmp_path / "run"), str(smollm2))
    assert result["passed"], result
    checks = by_name(result)
    assert checks["load"]["detail"] == f"adapter adapter/ loaded on base {smollm2}"
    assert checks["generate"]["detail"].startswith("adapter/ answered '")


@pytest.mark.slow
def test_an_adapter_without_a_base_path_uses_the_base_it_records(adapter_run, smollm2, tmp_path):
    result = validate_output("grpo", linked_copy(adapter_run, tmp_path / "run"), None, generate=False)
    assert result["passed"], result
    assert by_name(result)["load"]["detail"].endswith(f"on base {smollm2}")


@pytest.mark.slow
def test_an_adapter_on_a_missing_base_fails_load_naming_the_base(adapter_run, tmp_path):
    run_dir = linked_copy(adapter_run, tmp_path / "run")
    wrong = tmp_path / "no-such-model"
    detail = assert_failed_at(validate_output("grpo", run_dir, str(wrong)), "load")
    assert detail == f"base model {wrong} does not exist"
    detail = assert_failed_at(validate_output("grpo", run_dir, str(tmp_path)), "load")  # a folder, but no model
    assert detail.startswith(f"base model {tmp_path} did not load: ")


@pytest.mark.slow
def test_an_adapter_on_a_base_of_another_shape_fails_load_naming_a_stray_tensor(adapter_run, smollm2, tmp_path):
    """SmolLM2 cut to 2 layers: PEFT only warns about the 28 layers' tensors it cannot place; the check fails."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(smollm2))
    config.num_hidden_layers = 2
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / "two-layers")
    run_dir = linked_copy(adapter_run, tmp_path / "run")
    detail = assert_failed_at(validate_output("grpo", run_dir, str(tmp_path / "two-layers")), "load")
    assert detail.startswith(f"adapter adapter/ has 112 tensors no module of base {tmp_path / 'two-layers'} takes, "
                             "e.g. base_model.model.model.layers.")


@pytest.mark.slow
def test_an_adapter_in_another_methods_folder_is_not_found(adapter_run, tmp_path):
    run_dir = linked_copy(adapter_run, tmp_path / "run")
    assert assert_failed_at(validate_output("unsloth", run_dir, None), "files") == "missing: lora_model/"
    (run_dir / "adapter").rename(run_dir / "qlora_model")
    (run_dir / "qlora_model" / "tokenizer.json").unlink()
    detail = assert_failed_at(validate_output("qlora", run_dir, None), "files")
    assert detail == "missing: qlora_model/tokenizer.json or tokenizer.model or vocab.json"


@pytest.mark.slow
def test_an_overwritten_adapter_header_fails_formats(adapter_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(adapter_run, run_dir)  # a real copy: its bytes are overwritten in place
    with open(run_dir / "adapter" / "adapter_model.safetensors", "r+b") as handle:
        handle.seek(8)
        handle.write(b"\xff" * 16)
    detail = assert_failed_at(validate_output("grpo", run_dir, None), "formats")
    assert detail.startswith("adapter/adapter_model.safetensors: invalid safetensors header (")


@pytest.mark.slow
def test_a_rag_index_passes_and_retrieves(rag_run, tmp_path):
    result = validate_output("rag", linked_copy(rag_run, tmp_path / "run"), None)
    assert result["passed"], result
    checks = by_name(result)
    assert f"{len(FACT_ROWS)} vectors for {len(FACT_ROWS)} chunks" in checks["formats"]["detail"]
    assert checks["load"]["detail"] == f"index of {len(FACT_ROWS)} chunks and embedder all-MiniLM-L6-v2 loaded"
    assert checks["generate"]["detail"].startswith("retrieved 4 chunks")


@pytest.mark.slow
def test_a_rag_run_without_its_index_file_fails_files(rag_run, tmp_path):
    run_dir = linked_copy(rag_run, tmp_path / "run")
    (run_dir / "rag_model" / "vector_index.faiss").unlink()
    assert assert_failed_at(validate_output("rag", run_dir, None), "files") == "missing: rag_model/vector_index.faiss"


@pytest.mark.slow
def test_rag_chunks_out_of_step_with_the_index_fail_formats(rag_run, tmp_path):
    run_dir = linked_copy(rag_run, tmp_path / "run")
    documents = run_dir / "rag_model" / "documents.json"
    chunks = json.loads(documents.read_text())
    documents.unlink()  # a hard link: replaced, not edited
    documents.write_text(json.dumps(chunks + [{"id": len(chunks), "text": "an orphan chunk"}]))
    detail = assert_failed_at(validate_output("rag", run_dir, None), "formats")
    assert detail == f"rag_model/vector_index.faiss holds {len(chunks)} vectors for {len(chunks) + 1} stored chunks"


def name_generator(run_dir: Path) -> None:
    """Record a ``generator/`` in the RAG config, as a run with ``then_sft`` does."""
    config_path = run_dir / "rag_model" / "rag_config.json"
    config = json.loads(config_path.read_text())
    config_path.unlink()  # a hard link: replaced, not edited
    config_path.write_text(json.dumps({**config, "generator": "generator"}))


@pytest.mark.slow
def test_a_rag_generator_loads_on_the_base_the_run_records_and_answers(rag_run, adapter_run, smollm2, tmp_path):
    run_dir = linked_copy(rag_run, tmp_path / "run")
    name_generator(run_dir)
    linked_copy(adapter_run / "adapter", run_dir / "rag_model" / "generator")
    result = validate_output("rag", run_dir, None)
    assert result["passed"], result
    checks = by_name(result)
    assert checks["load"]["detail"].endswith(f"; adapter rag_model/generator/ loaded on base {smollm2}")
    assert "; rag_model/generator/ answered '" in checks["generate"]["detail"]


@pytest.mark.slow
def test_a_rag_generator_named_in_the_config_must_be_there(rag_run, tmp_path):
    run_dir = linked_copy(rag_run, tmp_path / "run")
    name_generator(run_dir)
    detail = assert_failed_at(validate_output("rag", run_dir, None), "files")
    assert detail.startswith("missing: rag_model/generator/adapter_config.json, rag_model/generator/adapter_model")
    assert detail.endswith("rag_model/generator/tokenizer.json or tokenizer.model or vocab.json")
