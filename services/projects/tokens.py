"""Counting tokens with the project's base model's tokenizer, for the preview's token shares.

Only ``tokenizer.json`` is read, with the ``tokenizers`` library (what transformers' fast tokenizers wrap), not
through transformers: importing transformers from request threads raced with other threads importing it in the
live server ("cannot import name 'AutoTokenizer'"), and counting needs no more than this file. A model whose
tokenizer is not on this machine (a Hub model not downloaded yet: nothing is fetched during a request) has its
tokens estimated at four characters each, and the preview says so.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from flask import current_app

from services.errors import ServiceError

log = logging.getLogger(__name__)
CHARS_PER_TOKEN = 4


@functools.lru_cache(maxsize=8)
def _tokenizer(path: str):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def _tokenizer_file(base_model: str) -> Path | None:
    from services.session_models import base_model_path

    try:
        base_model = base_model_path(base_model, current_app.config["MODEL_CACHE"])
    except ServiceError:  # the bundled model not prepared yet: estimate
        return None
    folder = Path(base_model)
    if folder.is_dir():
        found = folder / "tokenizer.json"
        return found if found.is_file() else None
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(base_model, "tokenizer.json", local_files_only=True))
    except Exception:  # not a Hub id, or not downloaded
        return None


def token_counter(base_model: str) -> tuple[Callable[[str], int], str]:
    """(count_tokens, a sentence saying how tokens were counted)."""
    path = _tokenizer_file(base_model)
    try:
        tokenizer = _tokenizer(str(path)) if path is not None else None
    except Exception as exc:  # a tokenizer.json this library cannot read
        log.info("tokenizer of %s unreadable (%s): estimating tokens", base_model, exc)
        tokenizer = None
    if tokenizer is None:
        return (lambda text: max(1, len(text) // CHARS_PER_TOKEN),
                f"The tokenizer of {base_model} is not on this machine; tokens estimated at {CHARS_PER_TOKEN} "
                "characters each.")
    return (lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids),
            f"Tokens counted with the tokenizer of {base_model} (sampled on large datasets).")
