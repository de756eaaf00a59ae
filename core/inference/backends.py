"""Two ways to generate, one interface: ``stream(messages, settings, should_stop)`` yields text pieces.

A model spec is a plain dict (it crosses the process boundary):
``{"kind": "hf", "path": <model folder>, "adapter": <PEFT folder or None>}`` or ``{"kind": "gguf", "path": <file>}``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.inference.limits import MAX_NEW_TOKENS, PromptTooLong, check_context

ShouldStop = Callable[[], bool]


def spec_key(spec: dict) -> str:
    return f"{spec['kind']}|{spec['path']}|{spec.get('adapter') or ''}"


class HFBackend:
    """transformers (+ PEFT adapter, unmerged so a checkpoint loads in a second), streamed with
    TextIteratorStreamer; stops at every end-of-turn token the chat template uses."""

    def __init__(self, spec: dict):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from core.export.modelfile import TemplateError, chat_shape, stop_tokens

        tokenizer_home = spec.get("adapter") if spec.get("adapter") and \
            (Path(spec["adapter"]) / "tokenizer_config.json").is_file() else spec["path"]
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_home)
        model = AutoModelForCausalLM.from_pretrained(spec["path"], dtype=torch.float32)
        if spec.get("adapter"):
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, spec["adapter"])
        self.model = model.eval()
        try:
            shape = chat_shape(self.tokenizer)
        except TemplateError:
            shape = None
        stops = stop_tokens(self.tokenizer, shape)
        self.stop_ids = [i for i in self.tokenizer.convert_tokens_to_ids(stops)
                         if i is not None and i != self.tokenizer.unk_token_id]
        self.nbytes = sum(p.numel() * p.element_size() for p in self.model.parameters())
        self.context_length = getattr(model.config, "max_position_embeddings", None)

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n".join(m["content"] for m in messages) + "\n"
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def stream(self, messages: list[dict], settings: dict, should_stop: ShouldStop) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return should_stop()

        prompt = self.prompt_ids(messages)
        budget = check_context(len(prompt), self.context_length,
                               min(int(settings.get("max_tokens", 128)), MAX_NEW_TOKENS))
        ids = torch.tensor([prompt])
        temperature = float(settings.get("temperature", 0.7))
        kwargs: dict[str, Any] = dict(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=budget,
                                      eos_token_id=self.stop_ids or None,
                                      pad_token_id=(self.stop_ids or [self.tokenizer.eos_token_id])[0],
                                      stopping_criteria=StoppingCriteriaList([Stop()]))
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=float(settings.get("top_p", 1.0)))
        else:
            kwargs.update(do_sample=False)
        torch.manual_seed(int(settings.get("seed", 0)))
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        errors: list[BaseException] = []

        self.last_prompt_tokens, self.last_finish_reason = len(prompt), None

        def run() -> None:
            try:
                with torch.no_grad():
                    output = self.model.generate(**kwargs, streamer=streamer)
                new = output[0, len(prompt):].tolist()
                # "stop": the answer ended on a stop token (or was cancelled); "length": it hit the budget
                ended = bool(new) and new[-1] in self.stop_ids
                self.last_finish_reason = "length" if len(new) >= budget and not ended else "stop"
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if errors:
            raise errors[0]


class LlamaBackend:
    """llama.cpp through llama-cpp-python; the GGUF's own chat template formats the conversation."""

    def __init__(self, spec: dict):
        from core.inference.llama_loader import load_llama

        self.llm = load_llama(spec["path"], n_ctx=int(spec.get("n_ctx", 2048)))
        self.nbytes = Path(spec["path"]).stat().st_size

    def stream(self, messages: list[dict], settings: dict, should_stop: ShouldStop) -> Iterator[str]:
        temperature = float(settings.get("temperature", 0.7))
        self.last_prompt_tokens, self.last_finish_reason = None, None
        chunks = self.llm.create_chat_completion(
            messages=messages, stream=True, max_tokens=min(int(settings.get("max_tokens", 128)), MAX_NEW_TOKENS),
            temperature=temperature, top_p=float(settings.get("top_p", 1.0)), seed=int(settings.get("seed", 0)),
            top_k=1 if temperature <= 0 else 40, repeat_penalty=1.0)
        for chunk in _context_checked(chunks):
            if should_stop():
                break
            self.last_finish_reason = chunk["choices"][0].get("finish_reason") or self.last_finish_reason
            piece = chunk["choices"][0].get("delta", {}).get("content")
            if piece:
                yield piece


def _context_checked(chunks: Iterator[dict]) -> Iterator[dict]:
    """llama-cpp-python refuses a prompt longer than n_ctx with a ValueError at the first chunk: say so as
    :class:`PromptTooLong` (the asker's fault, a 400)."""
    try:
        yield from chunks
    except ValueError as exc:
        if "context window" in str(exc):
            raise PromptTooLong(f"The prompt does not fit this model's context: {exc}") from None
        raise


def load_backend(spec: dict):
    if spec["kind"] == "gguf":
        return LlamaBackend(spec)
    if spec["kind"] == "hf":
        return HFBackend(spec)
    raise ValueError(f"unknown model kind {spec['kind']!r}")
