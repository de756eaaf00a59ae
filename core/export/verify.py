"""Does the GGUF answer like the model it came from? Greedy answers through the GGUF's own chat template
(llama.cpp), compared token by token with the merged transformers model given the same prompt tokens.

Two results, reported apart because they mean different things:
- **fidelity**: the file answers like the model it came from (F16/F32/BF16: the first tokens are identical; a
  quantised file reports its agreement). A failure here is a broken or lossy file.
- **behaviour**: the model ends its answers (a stop token within the token limit). A failure here is the
  model's, and the HF model shows it too: a faithful file of a model that rambles is still faithful.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROMPTS = ("What is 7 + 5?", "Name one colour of the sky.")
EXACT_TOKENS = 16  # F16 must match the HF model on this many first tokens


def load_llama(path: str | os.PathLike, n_ctx: int = 1024):
    from core.inference.llama_loader import load_llama as load

    return load(path, n_ctx=n_ctx, seed=0)


def gguf_prompt_tokens(llm, messages: list[dict[str, str]]) -> list[int]:
    """The prompt as the GGUF itself formats it: its ``tokenizer.chat_template`` metadata, rendered the way
    llama-cpp-python's chat handler does, tokenized with special tokens."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ValueError("The GGUF holds no chat template (tokenizer.chat_template).")
    special = lambda token_id: llm.detokenize([token_id], special=True).decode("utf-8", "ignore")  # noqa: E731
    formatter = Jinja2ChatFormatter(template, eos_token=special(llm.token_eos()), bos_token=special(llm.token_bos()),
                                    add_generation_prompt=True)
    prompt = formatter(messages=messages).prompt
    return llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)


def llama_greedy(llm, tokens: list[int], max_tokens: int) -> tuple[list[int], bool]:
    """Greedy tokens until an end-of-generation token (not included) or the limit; and whether it stopped."""
    import llama_cpp

    out: list[int] = []
    for token in llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
            return out, True
        out.append(token)
        if len(out) >= max_tokens:
            break
    return out, False


def hf_greedy(model, tokens: list[int], max_tokens: int, stop_ids: list[int]) -> tuple[list[int], bool]:
    import torch

    with torch.no_grad():
        output = model.generate(input_ids=torch.tensor([tokens]), attention_mask=torch.ones(1, len(tokens), dtype=torch.long),
                                max_new_tokens=max_tokens, do_sample=False, eos_token_id=stop_ids or None,
                                pad_token_id=stop_ids[0] if stop_ids else None)
    new = output[0, len(tokens):].tolist()
    for i, token in enumerate(new):
        if token in stop_ids:
            return new[:i], True
    return new, False


def verify(gguf_path: Path, merged_dir: Path, quantization: str, system_prompt: str | None,
           max_tokens: int = 48, prompts: tuple[str, ...] = PROMPTS, stop_ids: list[int] | None = None) -> dict[str, Any]:
    """Verification result for the manifest: ``fidelity`` and ``behaviour`` (see the module docstring), and
    ``status`` summing them up: "verified" (faithful, or approximate for a quantised file, and it stops),
    "does-not-stop" (faithful but an answer did not end within ``max_tokens``), "differs" (the tokens differ from
    the HF model's where they must be equal)."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    hf = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
    hf.eval()
    exact = quantization.upper() in ("F16", "F32", "BF16")  # lossless enough to demand identical tokens
    stop_ids = list(stop_ids or [])
    llm = load_llama(gguf_path)
    stop_ids = list(dict.fromkeys([*stop_ids, llm.token_eos()]))
    results, differing, unstopped = [], [], []
    for prompt in prompts:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + \
                   [{"role": "user", "content": prompt}]
        tokens = gguf_prompt_tokens(llm, messages)
        gguf_tokens, gguf_stopped = llama_greedy(llm, tokens, max_tokens)
        hf_tokens, hf_stopped = hf_greedy(hf, tokens, max_tokens, stop_ids)
        n = min(len(hf_tokens), len(gguf_tokens))
        same = sum(a == b for a, b in zip(hf_tokens, gguf_tokens))
        first_diff = next((i for i, (a, b) in enumerate(zip(hf_tokens, gguf_tokens)) if a != b),
                          None if len(hf_tokens) == len(gguf_tokens) else n)
        window = min(EXACT_TOKENS, max(len(hf_tokens), len(gguf_tokens)))
        first_equal = hf_tokens[:window] == gguf_tokens[:window]
        results.append({"prompt": prompt, "gguf_text": llm.detokenize(gguf_tokens).decode("utf-8", "replace"),
                        "hf_tokens": hf_tokens, "gguf_tokens": gguf_tokens, "first_16_equal": first_equal,
                        "tokens_compared": window,
                        "agreement": round(same / max(1, max(len(hf_tokens), len(gguf_tokens))), 4),
                        "first_difference": first_diff, "stopped": gguf_stopped, "hf_stopped": hf_stopped})
        if not first_equal and exact:
            differing.append(f"{prompt!r}: first tokens differ from the HF model at token {first_diff}")
        if not gguf_stopped:
            unstopped.append(f"{prompt!r}: the answer did not reach a stop token within {max_tokens} tokens"
                             + (" (the HF model's did not either)" if not hf_stopped else ""))
    del llm
    agreement = round(sum(r["agreement"] for r in results) / max(1, len(results)), 4)
    compared = sum(r["tokens_compared"] for r in results)
    if not exact:
        fidelity = {"status": "approximate", "agreement": agreement, "tokens_compared": compared,
                    "summary": f"quantised {quantization}: {agreement:.0%} of greedy tokens equal the HF model's"}
    elif differing:
        fidelity = {"status": "differs", "agreement": agreement, "tokens_compared": compared,
                    "summary": "differs from the HF model", "problems": differing}
    else:
        fidelity = {"status": "faithful", "agreement": agreement, "tokens_compared": compared,
                    "summary": f"faithful: the first {EXACT_TOKENS} greedy tokens equal the HF model's on every prompt"}
    stopped = sum(r["stopped"] for r in results)
    behaviour = {"status": "stops" if not unstopped else "does-not-stop", "max_tokens": max_tokens,
                 "stopped": stopped, "answers": len(results),
                 "summary": "ends its answers" if not unstopped else f"did not stop within {max_tokens} tokens",
                 "problems": unstopped}
    status = "differs" if differing else ("verified" if not unstopped else "does-not-stop")
    return {"status": status, "quantization": quantization, "agreement": agreement, "max_tokens": max_tokens,
            "fidelity": fidelity, "behaviour": behaviour, "summary": f"{fidelity['summary']}; {behaviour['summary']}",
            "problems": differing + unstopped, "prompts": results}
