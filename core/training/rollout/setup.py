"""One call for the runner: resolve the rollout engine and build what GRPOConfig and GRPOTrainer need for it."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.training.rollout.engines import EngineChoice, resolve_engine

log = logging.getLogger(__name__)


@dataclass
class RolloutSetup:
    engine: str
    reason: str
    config_kwargs: dict = field(default_factory=dict)   # extra GRPOConfig arguments
    trainer_kwargs: dict = field(default_factory=dict)  # extra GRPOTrainer arguments
    rollout: object | None = None                       # the llama.cpp rollout function, when used

    def trainer_class(self, base: type) -> type:
        from core.training.rollout.trainer import with_rollout_mixins

        return with_rollout_mixins(base, sampler_correction=self.engine == "llama_cpp")

    def close(self) -> None:
        if self.rollout is not None:
            self.rollout.close()
            self.rollout = None


def prepare_rollout(config, model_config, tokenizer, model_path: str, workdir: Path,
                    gguf_cache: str | os.PathLike | None = None) -> RolloutSetup:
    """The engine for this session and its trainer arguments. An engine picked by ``auto`` that cannot be
    set up for this model falls back to transformers with the reason; an explicit choice raises."""
    t = config.training
    choice = resolve_engine(t.rollout_engine)
    if choice.engine == "vllm":
        return RolloutSetup("vllm", choice.reason, config_kwargs=dict(
            use_vllm=True, vllm_mode="colocate", vllm_importance_sampling_correction=True))
    if choice.engine == "llama_cpp":
        try:
            rollout = _llama_cpp_rollout(config, model_config, tokenizer, model_path, workdir, gguf_cache)
        except Exception as exc:
            if t.rollout_engine != "auto":
                raise
            choice = EngineChoice("transformers", f"auto: llama.cpp could not be set up for this model ({exc}), "
                                                  "so transformers' generate samples")
        else:
            return RolloutSetup("llama_cpp", choice.reason, trainer_kwargs={"rollout_func": rollout},
                                rollout=rollout)
    return RolloutSetup(choice.engine, choice.reason)


def _llama_cpp_rollout(config, model_config, tokenizer, model_path, workdir, gguf_cache):
    from core.training.rollout.base_gguf import base_gguf
    from core.training.rollout.llama_cpp_engine import Sampling
    from core.training.rollout.llama_cpp_rollout import LlamaCppRollout
    from core.training.rollout.lora_gguf import LiveAdapterUnsupported, supported_reason

    reason = supported_reason(getattr(model_config, "model_type", ""))
    if reason:
        raise LiveAdapterUnsupported(reason)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is experimental in TRL 1.15: we know
    t = config.training
    sampling = Sampling(max_new_tokens=t.max_new_tokens, temperature=t.temperature, top_p=t.top_p, top_k=t.top_k)
    per_generation = t.batch_size * t.num_generations * t.gradient_accumulation_steps
    return LlamaCppRollout(base_gguf(model_path, gguf_cache), Path(workdir), sampling, t.seed,
                           n_parallel=min(per_generation, 64), max_sequence_length=t.max_sequence_length,
                           tokenizer=tokenizer, model_config=model_config)
