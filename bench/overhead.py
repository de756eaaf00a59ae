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

config = parse_config({config!r})
markers = markers_from_config(config.dataset)
system = config.dataset.resolved_system_prompt()
rows = generate("train", {prompts})
data = Dataset.from_list([{{"prompt": chat_messages(r["question"], system), "answer": r["answer"]}} for r in rows])
tokenizer = AutoTokenizer.from_pretrained({model!r})
model = AutoModelForCausalLM.from_pretrained({model!r})
t = config.training
args = GRPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=t.batch_size * t.num_generations,
                  num_generations=t.num_generations, learning_rate=t.learning_rate, max_completion_length=t.max_new_tokens,
                  temperature=t.temperature, beta=config.grpo.kl_penalty, logging_steps=1, save_strategy="no",
                  report_to="none", use_cpu=True, bf16=False, gradient_checkpointing=False, disable_tqdm=True,
                  seed=t.seed, reward_weights=[0.5, 1.0])
trainer = GRPOTrainer(model=model, reward_funcs=[make_format_reward(markers), make_correctness_reward(markers)],
                      args=args, train_dataset=data, processing_class=tokenizer,
                      peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
trainer.train()
trainer.model.save_pretrained(args.output_dir + "/adapter")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    model = prepared_default_model()
    config = {"pre_training": {"enabled": False},
              "training": {"samples_per_epoch": 2 * args.steps, "save_steps": 1000}}

    started = time.monotonic()
    subprocess.run([sys.executable, "-c", BARE.format(root=str(ROOT), config=config, prompts=2 * args.steps,
                                                      model=model)], check=True, capture_output=True)
    bare = time.monotonic() - started

    app, _ = bench_app()
    started = time.monotonic()
    detail = run_session(app, config, poll=0.1)
    service = time.monotonic() - started
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    steps = max(r["step"] for r in detail["metrics"] if r["phase"] == "grpo")
    print(f"GRPO steps: {steps}")
    print(f"(a) bare TRL script: {bare:.1f} s")
    print(f"(b) through the service: {service:.1f} s")
    print(f"ratio b/a: {service / bare:.3f} (target <= 1.02)")


if __name__ == "__main__":
    main()
