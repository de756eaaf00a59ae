"""GRPO rollout engines compared: the same GRPO steps, seed and config with each engine, in one run.

For each available engine a session runs through the service (no SFT phase, the default config otherwise:
SmolLM2-135M, LoRA r16 all-linear, 2 prompts x 4 completions, <= 48 new tokens, T = 1), and a bare TRL
script runs the same steps as the floor. Rounds are interleaved (bare, transformers, llama.cpp, [vLLM],
bare, ...) so that a change in the machine's load hits every engine alike. Printed per run: rollout seconds
per step (``rollout/seconds``), whole-step seconds (TRL's ``step_time``), the run's wall time, and the mean
|logprob difference| between the sampler and the trainer. Targets (issue 13): llama.cpp rollouts <= 0.45x
transformers'; a whole GRPO step through the service <= 0.8x the bare TRL script.

    .venv/bin/python bench/rollouts.py [--steps 8] [--rounds 1] [--engines transformers,llama_cpp]
"""
from __future__ import annotations

import argparse
import ast
import statistics
import subprocess
import sys
import time
from datetime import datetime

from _common import ROOT, bench_app, prepared_default_model, run_session
from overhead import BARE

STEP_TIMES = '\nprint("STEPTIMES", [h["step_time"] for h in trainer.state.log_history if "step_time" in h])\n'


def mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def bare_run(config: dict, prompts: int, model: str) -> dict:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", BARE.format(root=str(ROOT), config=config, prompts=prompts,
                                                               model=model) + STEP_TIMES],
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"the bare TRL script failed:\n{result.stderr[-3000:]}")
    steps = ast.literal_eval(result.stdout.split("STEPTIMES", 1)[1].strip().splitlines()[0])  # floats we printed
    return {"engine": "bare TRL", "wall": time.monotonic() - started, "step": mean(steps[1:] or steps),
            "rollout": None, "gap": None}


def service_run(app, config: dict, engine: str) -> dict:
    detail = run_session(app, {**config, "training": {**config["training"], "rollout_engine": engine}}, poll=2.0)
    session = detail["session"]
    assert session["status"] == "completed", session["error"]
    wall = (datetime.fromisoformat(session["finished_at"]) - datetime.fromisoformat(session["started_at"])
            ).total_seconds()
    rows = [r for r in detail["metrics"] if r["phase"] == "grpo" and "step_time" in r]
    later = rows[1:] or rows  # the first step also pays the engine's warm-up
    return {"engine": engine, "wall": wall, "step": mean([r["step_time"] for r in later]),
            "rollout": mean([r.get("rollout/seconds") for r in later]),
            "gap": mean([r.get("sampling/sampling_logp_difference/mean") for r in rows]),
            "lengths": [round(r.get("completions/mean_length", 0), 1) for r in rows]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--engines", default="")
    args = parser.parse_args()

    from core.training.rollout.engines import cuda_available, llama_cpp_installed, vllm_installed

    engines = args.engines.split(",") if args.engines else \
        ["transformers"] + (["llama_cpp"] if llama_cpp_installed() and not cuda_available() else []) + \
        (["vllm"] if cuda_available() and vllm_installed() else [])
    model = prepared_default_model()
    if "llama_cpp" in engines:
        from core.training.rollout.base_gguf import base_gguf

        started = time.monotonic()
        path = base_gguf(model)
        print(f"base GGUF ready in {time.monotonic() - started:.1f} s (cached after the first run): {path}")
    config = {"pre_training": {"enabled": False},
              "training": {"samples_per_epoch": 2 * args.steps, "save_steps": 1000}}
    app, _ = bench_app()
    runs = []
    for round_ in range(args.rounds):
        runs.append(bare_run(config, 2 * args.steps, model))
        print(f"round {round_ + 1}: bare TRL done", flush=True)
        for engine in engines:
            runs.append(service_run(app, config, engine))
            print(f"round {round_ + 1}: {engine} done ({runs[-1]['lengths']})", flush=True)

    print(f"\n{args.steps} GRPO steps per run, {args.rounds} round(s); medians over rounds; "
          "per-step figures leave out each run's first step")
    bare_step = statistics.median(r["step"] for r in runs if r["engine"] == "bare TRL")
    bare_wall = statistics.median(r["wall"] for r in runs if r["engine"] == "bare TRL")
    fmt = lambda v, spec=".2f": "  n/a" if v is None else format(v, spec)  # noqa: E731
    print(f"{'engine':14s} {'rollout s/step':>14s} {'step s':>8s} {'step/bare':>9s} {'run s':>7s} "
          f"{'run/bare':>8s} {'mean |dlogp|':>12s}")
    summary = {}
    for name in ["bare TRL", *engines]:
        mine = [r for r in runs if r["engine"] == name]
        rollout = statistics.median(r["rollout"] for r in mine) if mine[0]["rollout"] is not None else None
        step = statistics.median(r["step"] for r in mine)
        wall = statistics.median(r["wall"] for r in mine)
        gap = mean([r["gap"] for r in mine])
        summary[name] = rollout
        print(f"{name:14s} {fmt(rollout):>14s} {step:8.2f} {step / bare_step:9.2f} {wall:7.1f} {wall / bare_wall:8.2f} "
              f"{fmt(gap, '.2e'):>12s}")
    if summary.get("llama_cpp") and summary.get("transformers"):
        print(f"\nllama.cpp rollouts / transformers rollouts: {summary['llama_cpp'] / summary['transformers']:.2f} "
              "(target <= 0.45)")


if __name__ == "__main__":
    main()
