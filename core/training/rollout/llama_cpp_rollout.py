"""TRL's ``rollout_func`` backed by llama.cpp: the live adapter is refreshed every step, then sampled.

Contract (TRL 1.15 ``GRPOTrainer._generate``): called with the process's prompts as they come out of the
sampler (each prompt already repeated ``num_generations`` times) and the trainer; returns one completion
per prompt entry as ``prompt_ids``, ``completion_ids`` (ending with the EOS token when it stopped) and
``logprobs`` (per completion token). Prompt ids come from TRL's own ``_tokenize_prompts``, so they are
exactly the ids the trainer would have generated from.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from core.training.rollout.llama_cpp_engine import LlamaCppEngine, Sampling
from core.training.rollout.lora_gguf import LoraGGUFWriter
from core.training.rollout.tokens import check_vocabulary, non_canonical

log = logging.getLogger(__name__)


class LlamaCppRollout:
    def __init__(self, base_gguf: Path, workdir: Path, sampling: Sampling, seed: int, n_parallel: int,
                 max_sequence_length: int, tokenizer, model_config):
        self.engine = LlamaCppEngine(base_gguf, n_parallel=n_parallel, max_sequence_length=max_sequence_length)
        check_vocabulary(self.engine.token_texts(), tokenizer, model_config.vocab_size)
        self.writer = LoraGGUFWriter(model_config)
        self.adapter_path = Path(workdir) / "live-adapter.gguf"
        self.sampling = sampling
        self.seed = seed
        self.tokenizer = tokenizer
        self._synced_step: int | None = None
        self._calls = 0
        self._warned = False
        self.timings: list[dict] = []  # per call: adapter and sampling seconds (for bench/rollouts.py)

    def sync(self, peft_model, step: int) -> float:
        """Write the live adapter and apply it, once per optimiser step; returns the seconds spent."""
        if self._synced_step == step:
            return 0.0
        started = time.perf_counter()
        self.writer.write(peft_model, self.adapter_path)
        self.engine.set_adapter(self.adapter_path)
        self._synced_step = step
        return time.perf_counter() - started

    def __call__(self, prompts: list, trainer) -> dict:
        mode = "train" if trainer.model.training else "eval"
        adapter_seconds = self.sync(trainer.accelerator.unwrap_model(trainer.model), trainer.state.global_step)
        prompt_ids = trainer._tokenize_prompts(prompts)[0]  # TRL's own tokenisation of the chat prompts
        stop_ids = set(trainer.eos_token_ids)
        rng = np.random.default_rng([self.seed, trainer.state.global_step, self._calls])
        self._calls += 1
        started = time.perf_counter()
        completion_ids, logprobs = self.engine.generate(prompt_ids, self.sampling, stop_ids, rng)
        sample_seconds = time.perf_counter() - started
        bad = non_canonical(self.tokenizer, completion_ids, stop_ids)
        if bad and not self._warned:
            self._warned = True
            log.warning("%d of %d completions were sampled as token splits the tokenizer would not produce "
                        "(e.g. %r); they are trained on as sampled, reported as rollout/noncanonical_frac",
                        len(bad), len(completion_ids), self.tokenizer.decode(completion_ids[bad[0]]))
        metrics = trainer._metrics[mode]
        metrics["rollout/adapter_seconds"].append(adapter_seconds)
        metrics["rollout/sample_seconds"].append(sample_seconds)
        metrics["rollout/noncanonical_frac"].append(len(bad) / max(1, len(completion_ids)))
        self.timings.append({"adapter": adapter_seconds, "sample": sample_seconds})
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs}

    def close(self) -> None:
        self.engine.close()
