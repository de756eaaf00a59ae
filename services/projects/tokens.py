"""Counting tokens with the project's base model's tokenizer, for the preview's token shares.

Only the tokenizer is loaded (small, and never the weights). When it cannot be loaded here (a Hub model not
downloaded, offline), shares are estimated at four characters a token and the preview says so.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import current_app

from core.default_model import DEFAULT_MODEL_ID

log = logging.getLogger(__name__)
CHARS_PER_TOKEN = 4


@functools.lru_cache(maxsize=4)
def _tokenizer(path: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _model_path(base_model: str) -> str:
    if base_model == DEFAULT_MODEL_ID:
        from core.default_model import is_prepared, prepared_model_dir

        cache = current_app.config["MODEL_CACHE"]
        if is_prepared(cache):
            return str(prepared_model_dir(cache))
    return base_model


def token_counter(base_model: str) -> tuple[Callable[[str], int], str]:
    """(count_tokens, a sentence saying how tokens were counted)."""
    try:
        tokenizer = _tokenizer(_model_path(base_model))
    except Exception as exc:  # offline, not downloaded, no tokenizer files: estimate instead
        log.info("no tokenizer for %s (%s): estimating tokens", base_model, exc)
        return (lambda text: max(1, len(text) // CHARS_PER_TOKEN),
                f"The tokenizer of {base_model} is not available here; tokens estimated at "
                f"{CHARS_PER_TOKEN} characters each.")
    return (lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]),
            f"Tokens counted with the tokenizer of {base_model} (sampled on large datasets).")
