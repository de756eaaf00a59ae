"""Rollout engines for GRPO: who samples the completions (transformers, llama.cpp, vLLM) and how."""
from core.training.rollout.engines import ENGINES, EngineChoice, engine_errors, resolve_engine
from core.training.rollout.setup import RolloutSetup, prepare_rollout

__all__ = ["ENGINES", "EngineChoice", "RolloutSetup", "engine_errors", "prepare_rollout", "resolve_engine"]
