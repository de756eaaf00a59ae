"""The default config on the bundled SmolLM2-135M, end to end on this machine.

Measures the held-out arithmetic split (format reward and correctness) on the
base model, trains with `{"config": {}}` through the training service (SFT
format pre-training, then GRPO), measures again with the trained adapter, and
prints the reward-by-step curve. Target (issue 13): held-out format >= 0.95 and
correctness >= 0.6, training within 10 minutes on 2 CPU cores.

    .venv/bin/python bench/default_recipe.py
"""
from __future__ import annotations

import json
import time

from _common import bench_app, prepared_default_model, run_session


def held_out_eval(model_dir: str, adapter: str | None) -> dict:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.datasets.arithmetic import generate
    from core.training.evaluate import evaluate
    from core.training.prompts import markers_from_config
    from core.training_config import parse_config

    config = parse_config({})
    tokenizer = AutoTokenizer.from_pretrained(adapter or model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    if adapter:
        model = PeftModel.from_pretrained(model, adapter)
    rows = [{"instruction": r["question"], "response": r["answer"], **r} for r in generate("test")]
    started = time.monotonic()
    result = evaluate(model, tokenizer, rows, config.dataset.resolved_system_prompt(),
                      markers_from_config(config.dataset), max_new_tokens=config.training.max_new_tokens)
    return {**result.as_dict(), "seconds": round(time.monotonic() - started, 1),
            "sample": result.examples[0]["completion"]}


def main() -> None:
    model_dir = prepared_default_model()
    before = held_out_eval(model_dir, None)
    print("before:", json.dumps(before), flush=True)

    app, _ = bench_app()
    started = time.monotonic()
    detail = run_session(app, {})
    train_seconds = time.monotonic() - started
    session = detail["session"]
    assert session["status"] == "completed", session["error"]
    after = held_out_eval(model_dir, session["output_dir"] + "/adapter")
    print("after: ", json.dumps(after), flush=True)

    print("\nreward by step (GRPO): step reward format correctness loss")
    for row in detail["metrics"]:
        if row["phase"] == "grpo" and "reward" in row:
            print(f"  {row['step']:3d}  {row['reward']:.3f}  {row.get('rewards/format/mean', 0):.3f}  "
                  f"{row.get('rewards/correctness/mean', 0):.3f}  {row.get('loss', 0):+.4f}")
    sft = [row for row in detail["metrics"] if row["phase"] == "sft" and "loss" in row]
    if sft:
        print(f"SFT loss: {sft[0]['loss']:.3f} -> {sft[-1]['loss']:.3f} over {len(sft)} steps")
    print(f"\ntraining wall time (start -> completed, via the service): {train_seconds / 60:.1f} min")
    print(f"held-out format reward {before['format_reward']:.2f} -> {after['format_reward']:.2f} "
          f"(all markers: {before['format_exact']:.2f} -> {after['format_exact']:.2f}); "
          f"correctness {before['correctness']:.2f} -> {after['correctness']:.2f}")
    checks = {"format >= 0.95": after["format_reward"] >= 0.95, "correctness >= 0.6": after["correctness"] >= 0.6,
              "training <= 10 min": train_seconds <= 600}
    print("; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in checks.items()))


if __name__ == "__main__":
    main()
