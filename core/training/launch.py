"""The ``accelerate launch`` command of a job that trains on several GPUs of one host (DDP, DeepSpeed ZeRO optional).

A job with ``num_gpus > 1`` (or ``launcher == "accelerate"``) is not a multiprocessing child: the supervisor writes
the job to ``<output_dir>/launch_job.json`` and runs the argv built here, and every rank runs
``python -m core.training.distributed_child <job json>`` (rank 0 reports the events). No Flask import here: a
worker on another machine builds the same command.

Choices, checked against the accelerate 1.15 CLI (``python -m accelerate.commands.launch --help``):
- ``--multi_gpu`` and ``--use_deepspeed`` are mutually exclusive: a DeepSpeed run names only the latter (its launcher
  starts the N processes itself).
- ``--mixed_precision no``: the child's TrainingArguments decide (``bf16`` resolved against the hardware by
  ``core.training.runtime``). transformers only overrides the launcher's value upwards, so a launcher ``bf16`` would
  force bf16 even where the runtime turned it off.
- The ZeRO stage lives in the DeepSpeed JSON, whose ``"auto"`` values the HF Trainer fills from its arguments
  (batch size, accumulation, clipping, precision, bucket sizes).
- ``--cpu`` (one process only) runs the same path without a GPU: the tests use it.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.logfiles import private_opener

JOB_FILE = "launch_job.json"  # the job of a launched run, in its output folder (0600)
STOP_FILE = ".stop-request"  # created by the supervisor to ask every rank to stop at a checkpoint
DEEPSPEED_FILE = "deepspeed.json"
CHILD_MODULE = "core.training.distributed_child"
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the ranks import core.* from here
ZERO_STAGES = {"zero2": 2, "zero3": 3}


def uses_launcher(job: Mapping[str, Any]) -> bool:
    """Whether the job runs under ``accelerate launch`` rather than as a multiprocessing child."""
    return int(job.get("num_gpus") or 1) > 1 or job.get("launcher") == "accelerate"


def job_deepspeed(job: Mapping[str, Any]) -> str:
    """The job config's ``training.deepspeed`` (``"none"`` when absent)."""
    return str(((job.get("config") or {}).get("training") or {}).get("deepspeed") or "none")


def free_port() -> int:
    """A TCP port free on this host now, for the ranks' rendezvous (``--main_process_port``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deepspeed_config(mode: str) -> dict[str, Any]:
    """A ZeRO-2 or ZeRO-3 config whose ``"auto"`` values the HF Trainer fills. No optimizer or scheduler section:
    the Trainer's own (our ``training.optim``) is used, which transformers allows with ZeRO by itself."""
    if mode not in ZERO_STAGES:
        raise ValueError(f"unknown DeepSpeed mode {mode!r}; use one of {', '.join(ZERO_STAGES)}")
    zero: dict[str, Any] = {"stage": ZERO_STAGES[mode], "overlap_comm": True, "contiguous_gradients": True,
                            "reduce_bucket_size": "auto"}
    if mode == "zero2":
        zero.update(allgather_partitions=True, allgather_bucket_size=2e8, reduce_scatter=True)
    else:
        zero.update(sub_group_size=1e9, stage3_prefetch_bucket_size="auto",
                    stage3_param_persistence_threshold="auto", stage3_max_live_parameters=1e9,
                    stage3_max_reuse_distance=1e9,
                    stage3_gather_16bit_weights_on_model_save=True)  # save_model gathers the sharded weights
    return {"bf16": {"enabled": "auto"}, "fp16": {"enabled": "auto"}, "zero_optimization": zero,
            "gradient_accumulation_steps": "auto", "gradient_clipping": "auto", "train_batch_size": "auto",
            "train_micro_batch_size_per_gpu": "auto", "steps_per_print": 1_000_000, "wall_clock_breakdown": False}


def write_deepspeed_config(folder: Path, mode: str) -> Path:
    """``<folder>/deepspeed.json`` for ``mode`` (zero2 / zero3)."""
    path = Path(folder) / DEEPSPEED_FILE
    path.write_text(json.dumps(deepspeed_config(mode), indent=2) + "\n", encoding="utf-8")
    return path


def launch_argv(job_path: Path, num_gpus: int, *, deepspeed_file: Path | None = None, cpu: bool = False,
                port: int | None = None, python: str = sys.executable) -> list[str]:
    """The ``accelerate launch`` argv: ``num_gpus`` processes on this host running the distributed child on
    ``job_path``. Pure: the port is found only when none is given."""
    if num_gpus < 1:
        raise ValueError("num_gpus must be at least 1")
    if cpu and num_gpus > 1:
        raise ValueError("a CPU run launches one process: num_gpus must be 1 without a GPU")
    if cpu and deepspeed_file is not None:
        raise ValueError("DeepSpeed needs GPUs: it cannot run with --cpu")
    argv = [python, "-m", "accelerate.commands.launch", "--quiet",  # --quiet: the child's error, not the launcher's
            "--num_processes", str(num_gpus), "--num_machines", "1"]
    if cpu:
        argv.append("--cpu")
    elif deepspeed_file is not None:
        argv += ["--use_deepspeed", "--deepspeed_config_file", str(deepspeed_file)]
    elif num_gpus > 1:
        argv.append("--multi_gpu")
    argv += ["--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port if port is not None else free_port()),
             "-m", CHILD_MODULE, str(job_path)]
    return argv


def prepare_launch(job: Mapping[str, Any], job_path: Path, port: int | None = None) -> list[str]:
    """The argv for ``job`` (already written to ``job_path``); writes the DeepSpeed JSON into the job's output
    folder when its config asks for ZeRO. The CPU flag follows the job's device."""
    num_gpus = int(job.get("num_gpus") or 1)
    cpu = not str(job.get("device", "cpu")).startswith("cuda")
    mode = job_deepspeed(job)
    deepspeed_file = write_deepspeed_config(Path(job["output_dir"]), mode) if mode != "none" else None
    return launch_argv(job_path, num_gpus, deepspeed_file=deepspeed_file, cpu=cpu, port=port)


def write_job_file(path: Path, job: Mapping[str, Any]) -> Path:
    """The job as JSON, readable by its owner only (it holds the listener's authkey, never an env secret)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", opener=private_opener) as handle:
        json.dump(job, handle)
    return path


def launch_env(base: Mapping[str, str], extra: Mapping[str, str | None] | None,
               job: Mapping[str, Any]) -> dict[str, str]:
    """The launcher's environment: ``base`` plus the run's secrets (``None`` removes a variable, as
    ``core.training.worker.apply_env``), the project root on PYTHONPATH (the ranks import ``core``), and a
    single-GPU job pinned to its device as the multiprocessing child is. A multi-GPU job sees the GPUs its host or
    worker was given (CUDA_VISIBLE_DEVICES) and uses the first ``num_gpus``."""
    env = dict(base)
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    device = str(job.get("device", "cpu"))
    if int(job.get("num_gpus") or 1) == 1 and device.startswith("cuda:"):
        env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
    return env
