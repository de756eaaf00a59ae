"""Which engine samples the GRPO completions, decided once at the start of a session, with the reason.

``auto`` picks the fastest engine the hardware has: vLLM colocated on a GPU
when vLLM is installed (TRL's own path), llama.cpp on a CPU (it samples the
same completions ~2.7x faster than transformers' ``generate`` there), else
transformers. An explicit choice that cannot run is refused before the
session is queued (:func:`engine_errors`), never silently replaced.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

ENGINES = ("auto", "transformers", "llama_cpp", "vllm")


@dataclass(frozen=True)
class EngineChoice:
    engine: str  # transformers | llama_cpp | vllm
    reason: str


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def unavailable_reason(engine: str, cuda: bool, vllm: bool, llama_cpp: bool) -> str | None:
    """Why ``engine`` cannot run on this machine, or None when it can."""
    if engine == "vllm":
        if not cuda:
            return "the vLLM rollout engine needs an NVIDIA GPU; this machine has none"
        if not vllm:
            return "vLLM is not installed: `pip install -r requirements-gpu.txt` on the GPU machine"
    if engine == "llama_cpp":
        if cuda:
            # The policy lives on the GPU there; llama.cpp would sample on the CPU, slower than generate.
            return "the llama.cpp rollout engine is for CPU training; on a GPU use 'vllm' or 'transformers'"
        if not llama_cpp:
            return "llama-cpp-python is not installed"
    return None


def resolve_engine(requested: str, cuda: bool | None = None, vllm: bool | None = None,
                   llama_cpp: bool | None = None) -> EngineChoice:
    """The engine to use and why. Raises ``ValueError`` for an explicit choice this machine cannot run."""
    if requested not in ENGINES:
        raise ValueError(f"unknown rollout engine {requested!r}; use one of {', '.join(ENGINES)}")
    cuda = cuda_available() if cuda is None else cuda
    vllm = vllm_installed() if vllm is None else vllm
    llama_cpp = llama_cpp_installed() if llama_cpp is None else llama_cpp
    if requested != "auto":
        reason = unavailable_reason(requested, cuda, vllm, llama_cpp)
        if reason:
            raise ValueError(reason)
        return EngineChoice(requested, "chosen in the config (training.rollout_engine)")
    if cuda and vllm:
        return EngineChoice("vllm", "auto: a GPU and vLLM are present, so vLLM samples colocated with training")
    if not cuda and llama_cpp:
        return EngineChoice("llama_cpp", "auto: no GPU, so llama.cpp samples (faster than transformers on a CPU)")
    if cuda:
        return EngineChoice("transformers", "auto: a GPU without vLLM installed, so transformers' generate samples")
    return EngineChoice("transformers", "auto: llama-cpp-python is missing, so transformers' generate samples")


def engine_errors(config) -> list[dict[str, str]]:
    """Errors (path/message/hint) for a config whose rollout engine this machine cannot run; the training
    service turns them into a 400 before queueing the session."""
    requested = config.training.rollout_engine
    if requested == "auto" or requested == "transformers":
        return []
    reason = unavailable_reason(requested, cuda_available(), vllm_installed(), llama_cpp_installed())
    if reason is None:
        return []
    return [{"path": "training.rollout_engine", "message": reason,
             "hint": "Use 'auto' to pick the fastest engine this machine has."}]
