"""The llama.cpp rollout engine on the tiny model: same tokens as transformers, a live adapter, token ids."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.training.rollout.base_gguf import base_gguf
from core.training.rollout.llama_cpp_engine import LlamaCppEngine, Sampling, sample_tokens
from core.training.rollout.lora_gguf import LoraGGUFWriter
from core.training.rollout.tokens import VocabularyMismatch, check_vocabulary, non_canonical

pytestmark = pytest.mark.slow

QUESTIONS = ["What is 7 + 5?", "Name a colour.", "What is 7 + 5?"]


@pytest.fixture(scope="module")
def tiny_gguf(tiny_model_dir):
    return base_gguf(str(tiny_model_dir))  # converted once, beside the model (reused by the runner tests)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture
def peft_model(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():  # LoRA B starts at zero: give the adapter an effect
        for name, weight in model.named_parameters():
            if "lora_B" in name:
                weight.normal_(0, 0.5)
    return model.eval()


def prompt_ids(tokenizer) -> list[list[int]]:
    return [tokenizer.apply_chat_template([{"role": "system", "content": "Answer briefly."},
                                           {"role": "user", "content": q}],
                                          add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
            for q in QUESTIONS]


def transformers_greedy(model, tokenizer, prompts, max_new_tokens):
    out = []
    with torch.no_grad():
        for ids in prompts:
            generated = model.generate(torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False,
                                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
            out.append(generated[0, len(ids):].tolist())
    return out


def with_adapter(engine, model, folder):
    path = LoraGGUFWriter(model.config).write(model, folder / "live.gguf")
    engine.set_adapter(path)
    return path


def test_live_adapter_equals_llama_cpps_own_converter(tmp_path, tiny_model_dir, peft_model):
    from gguf import GGUFReader

    from core.gguf_tools import convert_lora_to_gguf

    peft_model.save_pretrained(tmp_path / "adapter")
    reference = GGUFReader(convert_lora_to_gguf(tmp_path / "adapter", tiny_model_dir, tmp_path / "ref.gguf"))
    live = GGUFReader(LoraGGUFWriter(peft_model.config).write(peft_model, tmp_path / "live.gguf"))
    ref_tensors = {t.name: t for t in reference.tensors}
    live_tensors = {t.name: t for t in live.tensors}
    assert set(live_tensors) == set(ref_tensors) and len(ref_tensors) == 2 * 7 * 2  # A and B, 7 targets, 2 layers
    for name, tensor in ref_tensors.items():
        assert live_tensors[name].tensor_type == tensor.tensor_type, name
        assert np.array_equal(np.asarray(live_tensors[name].data), np.asarray(tensor.data)), name
    for key in ("general.architecture", "general.type", "adapter.type", "adapter.lora.alpha"):
        assert live.fields[key].contents() == reference.fields[key].contents(), key


def test_greedy_completions_equal_transformers_for_the_same_adapter(tmp_path, tiny_gguf, tokenizer, peft_model):
    engine = LlamaCppEngine(tiny_gguf, n_parallel=4, max_sequence_length=256)
    with_adapter(engine, peft_model, tmp_path)
    prompts = prompt_ids(tokenizer)
    completions, logprobs = engine.generate(prompts, Sampling(max_new_tokens=12, greedy=True), {tokenizer.eos_token_id})
    assert completions == transformers_greedy(peft_model, tokenizer, prompts, 12)
    # The sampled log-probs are the trainer's own (log-softmax of the logits), up to F16 rounding.
    with torch.no_grad():
        ids = prompts[0] + completions[0]
        logits = peft_model(torch.tensor([ids])).logits[0, len(prompts[0]) - 1:-1]
        reference = torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(completions[0])[:, None])[:, 0]
    assert np.abs(np.array(logprobs[0]) - reference.numpy()).mean() < 0.01
    engine.close()


def test_the_adapter_written_after_a_training_step_changes_the_engines_output(tmp_path, tiny_gguf, tokenizer,
                                                                               peft_model):
    engine = LlamaCppEngine(tiny_gguf, n_parallel=4, max_sequence_length=256)
    prompts = prompt_ids(tokenizer)[:2]
    greedy = Sampling(max_new_tokens=8, greedy=True)
    with_adapter(engine, peft_model, tmp_path)
    before = engine.generate(prompts, greedy, {tokenizer.eos_token_id})[0]

    # One optimiser step that teaches the adapter a target answer.
    target = tokenizer.encode(" 12 twelve", add_special_tokens=False)
    peft_model.train()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=0.05)
    ids = torch.tensor([prompts[0] + target])
    labels = ids.clone()
    labels[0, :len(prompts[0])] = -100
    peft_model(input_ids=ids, labels=labels).loss.backward()
    optimizer.step()
    peft_model.eval()

    with_adapter(engine, peft_model, tmp_path)
    after = engine.generate(prompts, greedy, {tokenizer.eos_token_id})[0]
    assert after != before
    assert after == transformers_greedy(peft_model, tokenizer, prompts, 8)
    engine.close()


def test_token_ids_round_trip_and_other_splits_are_detected(tiny_gguf, tokenizer, tiny_model_dir):
    from transformers import AutoConfig

    engine = LlamaCppEngine(tiny_gguf, n_parallel=4, max_sequence_length=128)
    texts = engine.token_texts()
    vocab_size = AutoConfig.from_pretrained(tiny_model_dir).vocab_size
    check_vocabulary(texts, tokenizer, vocab_size)  # every id names the same token on both sides
    tampered = list(texts)
    tampered[100], tampered[101] = tampered[101], tampered[100]
    with pytest.raises(VocabularyMismatch, match="2 token ids differ"):
        check_vocabulary(tampered, tokenizer, vocab_size)

    completions, _ = engine.generate(prompt_ids(tokenizer), Sampling(max_new_tokens=10), {tokenizer.eos_token_id},
                                     np.random.default_rng(0))
    assert all(0 <= t < vocab_size for ids in completions for t in ids)
    for index, ids in enumerate(completions):  # canonical ones decode and re-encode to the same ids
        if index not in non_canonical(tokenizer, completions, {tokenizer.eos_token_id}):
            assert tokenizer.encode(tokenizer.decode(ids), add_special_tokens=False) == ids
    canonical = tokenizer.encode(" twelve", add_special_tokens=False)
    spelled = [tokenizer.convert_tokens_to_ids(ch) for ch in "Ġtwelve"]  # the same text, one token per letter
    assert non_canonical(tokenizer, [canonical, spelled + [tokenizer.eos_token_id]], {tokenizer.eos_token_id}) == [1]
    engine.close()


def test_sampling_honours_temperature_top_k_and_top_p():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.2]] * 20000, dtype=np.float32))
    counts = lambda s: np.bincount(sample_tokens(logits, s, rng)[0], minlength=3) / len(logits)  # noqa: E731
    assert np.allclose(counts(Sampling(1)), [0.5, 0.3, 0.2], atol=0.02)
    assert np.allclose(counts(Sampling(1, top_k=2)), [0.625, 0.375, 0], atol=0.02)
    assert np.allclose(counts(Sampling(1, top_p=0.7)), [0.625, 0.375, 0], atol=0.02)
    assert np.allclose(counts(Sampling(1, temperature=0.5)), np.array([25, 9, 4]) / 38, atol=0.02)
    tokens, logprobs = sample_tokens(logits[:1], Sampling(1, temperature=2.0), rng)
    expected = torch.log_softmax(torch.tensor(logits[:1]) / 2.0, -1)[0, tokens[0]].item()
    assert logprobs[0] == pytest.approx(expected, abs=1e-5)  # log-prob of the tempered full distribution
