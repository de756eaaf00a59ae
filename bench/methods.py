"""Per-method figures on the bundled SmolLM2-135M: SFT step time and peak memory for Standard (full and LoRA)
and QLoRA, and for RAG the indexing throughput and query latency (flat and HNSW).

Each method runs in its own process (peak RSS is per process). Figures measured while other work loads the
CPU are not comparable with quiet-machine ones: say which when quoting them.

    .venv/bin/python bench/methods.py [--steps 6] [--rag-docs 2000]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, percentile, prepared_default_model

CASES = {
    "standard-full": {"method": "standard", "standard": {"full_finetune": True}},
    "standard-lora": {"method": "standard", "standard": {"full_finetune": False}},
    "qlora": {"method": "qlora"},
}


def one(case: str, steps: int) -> dict:
    from core.methods import get_method
    from core.training.runner import TrainingJob
    from core.training_config import parse_config
    from tests.training_helpers import arithmetic_rows

    batch = 4
    config = parse_config({**CASES[case], "model": {"lora_rank": 16, "lora_alpha": 32},
                           "training": {"batch_size": batch, "learning_rate": 2e-4, "save_steps": 10_000,
                                        "max_sequence_length": 256, "max_new_tokens": 32}})
    marks: list[float] = []
    job = TrainingJob(config=config, model_path=prepared_default_model(), rows=arithmetic_rows(steps * batch),
                      output_dir=Path(tempfile.mkdtemp(prefix=f"bench-{case}-")),
                      emit=lambda e: marks.append(time.monotonic()) if e["type"] == "progress" else None,
                      should_stop=lambda: False)
    started = time.monotonic()
    get_method(config.method).run(job)
    step_times = [b - a for a, b in zip(marks, marks[1:])]  # the first step includes warm-up: left out
    return {"case": case, "steps": len(marks), "median_step_s": round(statistics.median(step_times), 3),
            "total_s": round(time.monotonic() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def rag(docs: int) -> list[dict]:
    from core.rag.embeddings import embed
    from core.rag.store import build_store

    rows = [{"instruction": f"Question {i} about topic {i % 97}?",
             "response": f"Answer {i}: item {i} belongs to group {i % 13} and was recorded in year {1900 + i % 120}."}
            for i in range(docs)]
    embed("all-MiniLM-L6-v2", ["warm-up"])
    results = []
    for kind in ("flat", "hnsw"):
        folder = Path(tempfile.mkdtemp(prefix=f"bench-rag-{kind}-"))
        started = time.monotonic()
        store = build_store(folder, rows, {"chunk_size": 800, "chunk_overlap": 100, "text_field": None,
                                           "embedding_model": "all-MiniLM-L6-v2", "index_type": kind,
                                           "index_threshold": 10_000, "top_k": 4, "batch_size": 64})
        build = time.monotonic() - started
        latencies = []
        for i in range(50):
            t = time.monotonic()
            store.search(f"Which group does item {i * 7} belong to?")
            latencies.append((time.monotonic() - t) * 1000)
        results.append({"case": f"rag-{kind}", "documents": store.size, "build_s": round(build, 1),
                        "texts_per_s": round(store.size / build), "query_ms_median": round(statistics.median(latencies), 1),
                        "query_ms_p95": round(percentile(latencies, 95), 1)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rag-docs", type=int, default=2000)
    parser.add_argument("--one")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps) if args.one in CASES else rag(args.rag_docs)))
        return
    for case in [*CASES, "rag"]:
        out = subprocess.run([sys.executable, __file__, "--one", case, "--steps", str(args.steps),
                              "--rag-docs", str(args.rag_docs)], cwd=ROOT, capture_output=True, text=True)
        lines = [line for line in out.stdout.splitlines() if line.startswith(("{", "["))]
        if out.returncode or not lines:
            print(f"{case}: failed\n{out.stderr[-2000:]}")
            continue
        for row in (json.loads(lines[-1]) if lines[-1].startswith("[") else [json.loads(lines[-1])]):
            print(row)


if __name__ == "__main__":
    main()
