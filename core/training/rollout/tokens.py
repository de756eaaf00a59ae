"""Token-id agreement between the rollout engine and the trained model's tokenizer.

TRL scores the completion *ids* the engine returns, so both sides must mean the same thing by every id
(checked once, over the whole vocabulary, before the engine is used). A completion whose ids are not the
split the tokenizer itself would produce for its text is still scored correctly, but the rewards read
the text and any later re-tokenisation (SFT on it, the chat template) would see other tokens: such
completions are counted and reported every step, never silently passed off as canonical.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class VocabularyMismatch(ValueError):
    """The engine's vocabulary and the tokenizer's disagree: its token ids cannot be trained on."""


def check_vocabulary(engine_texts: list[str], tokenizer, model_vocab_size: int) -> None:
    """Raise :class:`VocabularyMismatch` unless every id names the same token on both sides."""
    if len(engine_texts) != model_vocab_size:
        raise VocabularyMismatch(f"the GGUF has {len(engine_texts)} tokens, the model's embedding "
                                 f"{model_vocab_size}")
    hf = tokenizer.convert_ids_to_tokens(list(range(min(len(tokenizer), model_vocab_size))))
    differing = [i for i, (a, b) in enumerate(zip(engine_texts, hf)) if b is not None and a != b]
    if differing:
        examples = ", ".join(f"{i}: {engine_texts[i]!r} vs {hf[i]!r}" for i in differing[:3])
        raise VocabularyMismatch(f"{len(differing)} token ids differ between llama.cpp and the tokenizer "
                                 f"(e.g. {examples})")


def non_canonical(tokenizer, completion_ids: list[list[int]], stop_ids: set[int]) -> list[int]:
    """Indices of completions the tokenizer would split differently from the sampled ids."""
    bad = []
    for index, ids in enumerate(completion_ids):
        body = ids[:-1] if ids and ids[-1] in stop_ids else ids
        text = tokenizer.decode(body, skip_special_tokens=False)
        if tokenizer.encode(text, add_special_tokens=False) != list(body):
            bad.append(index)
    return bad
