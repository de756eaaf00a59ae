"""RAG: index the dataset for retrieval (sentence-transformers + FAISS), optionally LoRA-SFT the generator.

Output ``outputs/<id>/rag_model/`` with ``rag_config.json``, ``vector_index.faiss``, ``documents.json`` and
``embeddings_metadata.json``; with ``rag.then_sft`` also ``rag_model/generator/`` (a LoRA adapter).
Progress is reported as phase ``rag`` (one step per embedded batch) so the Train page and the job API show it.
"""
from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

from core.methods.base import package_installed

if TYPE_CHECKING:
    from core.training.runner import TrainingJob

log = logging.getLogger(__name__)

OUTPUT = "rag_model"
GENERATOR = "generator"


class RAGMethod:
    name = "rag"
    label = "RAG"
    description = "Builds a searchable vector index of the dataset (FAISS) for retrieval-augmented answers."
    requires_gpu = False
    outputs = (OUTPUT,)

    def unavailable_reason(self) -> str | None:
        missing = [p for p in ("faiss", "sentence_transformers") if not package_installed(p)]
        if missing:
            return f"{' and '.join(missing)} not installed: pip install -r requirements.txt"
        return None

    def run(self, job: "TrainingJob") -> str:
        from core.rag.store import build_store

        config = job.config
        settings = config.rag.model_dump()
        batches = math.ceil(max(1, len(job.rows)) / settings["batch_size"])
        started = time.monotonic()
        job.emit({"type": "phase", "phase": "rag", "step": 0, "total_steps": batches})

        def progress(done: int, total: int) -> None:
            step = math.ceil(done / settings["batch_size"])
            total_steps = math.ceil(total / settings["batch_size"])
            elapsed = time.monotonic() - started
            job.emit({"type": "progress", "phase": "rag", "step": step, "global_step": step,
                      "total_steps": total_steps, "epoch": None, "elapsed_seconds": round(elapsed, 1),
                      "eta_seconds": round(elapsed / done * (total - done), 1)})

        log.info("phase rag: indexing %d rows (chunks of %d chars, overlap %d) with %s", len(job.rows),
                 settings["chunk_size"], settings["chunk_overlap"], settings["embedding_model"])
        store = build_store(job.output_dir / OUTPUT, job.rows, settings, progress=progress,
                            should_stop=job.should_stop,
                            extra_config={"base_model": config.model.name, "model_path": job.model_path,
                                          "generator": GENERATOR if settings["then_sft"] else None})
        if store is None:
            return "stopped"
        steps = math.ceil(store.size / settings["batch_size"])
        job.emit({"type": "metrics", "phase": "rag", "step": steps, "global_step": steps,
                  "metrics": {"documents": store.size, "rows": len(job.rows),
                              "index_type": store.config["index_type"],
                              "build_seconds": store.metadata["build_seconds"]}})
        log.info("rag index: %d chunks, %s index, %.1f s", store.size, store.config["index_type"],
                 store.metadata["build_seconds"])
        if settings["then_sft"]:
            return self._sft_generator(job)
        return "completed"

    def _sft_generator(self, job: "TrainingJob") -> str:
        import torch
        from transformers import AutoModelForCausalLM

        from core.methods.sft import lora_config, load_tokenizer, run_sft
        from core.training.runtime import resolve_runtime

        runtime = resolve_runtime(job.config.training.optim, job.config.training.bf16)
        torch.manual_seed(job.config.training.seed)
        tokenizer = load_tokenizer(job.model_path)
        model = AutoModelForCausalLM.from_pretrained(job.model_path, dtype=runtime.dtype)
        result = run_sft(job, model, tokenizer, runtime, epochs=job.config.training.num_epochs, max_samples=None,
                         peft_config=lora_config(job))
        folder = job.output_dir / OUTPUT / GENERATOR
        result.model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return "stopped" if result.stopped else "completed"
