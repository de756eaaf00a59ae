"""Service overhead: the same small GRPO run as (a) a bare TRL script and (b) a session of the service.

Both are timed as whole processes from start to finish (imports, model load,
training, adapter save), on the bundled SmolLM2-135M. Target: b / a <= 1.02.

    .venv/bin/python bench/overhead.py [--steps 8]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import datetime

from _common import ROOT, bench_app, prepared_default_model, run_session

BARE = r"""
import sys, tempfile
from datasets import Dataset
from peft import LoraConfig
from trl import GRPOConfig, GRPOTrainer
from transformers import AutoModelForCausalLM, AutoTokenizer
sys.path.insert(0, {root!r})
from core.datasets.arithmetic import generate
from core.datasets.prompts import chat_messages
from core.training.prompts import markers_from_config
from core.training.rewards import make_correctness_reward, make_format_reward
from core.training_config import parse_config
from core.training.trl_compat import ensure_fused_head_fallback

ensure_fused_head_fallback()  # TRL 1.15 on a CPU-only torch needs it, bare script or not
config = parse_config({config!r})
markers = markers_from_config(config.dataset)
system = config.dataset.resolved_system_prompt()
rows = generate("train", {prompts})
data = Dataset.from_list([{{"prompt": chat_messages(r["question"], system), "answer": r["answer"]}} for r in rows])
tokenizer = AutoTokenizer.from_pretrained({model!r})
model = AutoModelForCausalLM.from_pretrained({model!r}, dtype="float32")
t = config.training
args = GRPOConfig(output_dir=tempfile.mkdtemp(), num_train_epochs=t.num_epochs,
                  per_device_train_batch_size=t.batch_size * t.num_generations,
                  num_generations=t.num_generations, learning_rate=t.learning_rate, max_completion_length=t.max_new_tokens,
                  temperature=t.temperature, beta=config.grpo.kl_penalty, logging_steps=1, save_strategy="no",
                  report_to="none", use_cpu=True, bf16=False, gradient_checkpointing=False, disable_tqdm=True,
                  seed=t.seed, reward_weights=[0.5, 1.0], lr_scheduler_type=t.lr_scheduler_type, optim=t.optim,
                  weight_decay=t.weight_decay, max_grad_norm=t.max_grad_norm, top_p=t.top_p,
                  epsilon=config.grpo.clip_range, loss_type=config.grpo.loss_type, shuffle_dataset=True)
trainer = GRPOTrainer(model=model, reward_funcs=[make_format_reward(markers), make_correctness_reward(markers)],
                      args=args, train_dataset=data, processing_class=tokenizer,
                      peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
trainer.train()
trainer.model.save_pretrained(args.output_dir + "/adapter")
print("LENGTHS", [round(h["completions/mean_length"], 2) for h in trainer.state.log_history if "completions/mean_length" in h])
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    model = prepared_default_model()
    config = {"pre_training": {"enabled": False},
              "training": {"samples_per_epoch": 2 * args.steps, "save_steps": 1000}}

    started = time.monotonic()
    bare_run = subprocess.run([sys.executable, "-c", BARE.format(root=str(ROOT), config=config,
                                                                 prompts=2 * args.steps, model=model)],
                              capture_output=True, text=True)
    if bare_run.returncode:
        raise SystemExit(f"the bare TRL script failed:\n{bare_run.stderr[-3000:]}")
    bare = time.monotonic() - started

    app, _ = bench_app()
    started = time.monotonic()
    detail = run_session(app, config, poll=5.0)
    wall = time.monotonic() - started
    session = detail["session"]
    assert session["status"] == "completed", session["error"]
    # started_at -> finished_at: spawn, imports, training, adapter save; not the harness polling (every 5 s).
    service = (datetime.fromisoformat(session["finished_at"]) - datetime.fromisoformat(session["started_at"])
               ).total_seconds()
    steps = max(r["step"] for r in detail["metrics"] if r["phase"] == "grpo")
    print(f"GRPO steps: {steps}")
    # Same prompts, seed and arguments: the runs must sample the same completions, or the times differ by
    # generation length rather than by overhead.
    print("mean completion length per step, bare:   ", bare_run.stdout.split("LENGTHS")[-1].strip())
    print("mean completion length per step, service:",
          [round(r["completions/mean_length"], 2) for r in detail["metrics"] if "completions/mean_length" in r])
    print(f"(a) bare TRL script: {bare:.1f} s")
    print(f"(b) through the service: {service:.1f} s (session start to finish; {wall:.1f} s with the polling)")
    print(f"ratio b/a: {service / bare:.3f} (target <= 1.02)")


if __name__ == "__main__":
    main()
