"""Upper bounds on what one inference request may ask for: checked up front by the services (a fast 400) and,
for what only a tokenizer can count, in the worker against the model's context."""
from __future__ import annotations

MAX_PROMPT_CHARS = 50_000  # ~12 k tokens: far above a chat turn, far below what makes a worker swap
MAX_SYSTEM_PROMPT_CHARS = 20_000  # the training schema's dataset.system_prompt bound
MAX_NEW_TOKENS = 2048
DEFAULT_TIME_LIMIT = 300.0  # seconds of generation (or scoring) per request
MAX_SCORE_SAMPLES = 500  # completions scored by one request (an evaluation side)


class PromptTooLong(ValueError):
    """The prompt does not fit the model's context: the asker must shorten it (a 400, not a crash)."""


def check_context(prompt_tokens: int, context: int | None, max_new_tokens: int) -> int:
    """The new-token budget that fits ``context`` (None: unknown, trust ``max_new_tokens``); raises
    :class:`PromptTooLong` when the prompt alone leaves no room."""
    if not context:
        return max_new_tokens
    if prompt_tokens >= context:
        raise PromptTooLong(f"The prompt is {prompt_tokens} tokens; this model reads at most {context} tokens. "
                            "Shorten the prompt (or the retrieved context).")
    return max(1, min(max_new_tokens, context - prompt_tokens))
