"""The `accelerate launch` command of a multi-GPU job (core/training/launch.py) and the pieces its ranks use.

The argv is checked flag by flag against the accelerate 1.15 CLI: this machine has no GPU, so a real DDP or DeepSpeed
run cannot happen here; the launcher path itself runs for real on the CPU in tests/services/test_multi_gpu_launch.py.
"""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from core.training.distributed_child import SilentEmitter, StopFile, agree_across_ranks
from core.training.launch import (CHILD_MODULE, DEEPSPEED_FILE, PROJECT_ROOT, deepspeed_config, free_port,
                                  launch_argv, launch_env, prepare_launch, uses_launcher, write_job_file)

PREFIX = [sys.executable, "-m", "accelerate.commands.launch", "--quiet"]


def job_for(tmp_path: Path, num_gpus: int = 1, deepspeed: str = "none", device: str = "cuda:0") -> dict:
    return {"output_dir": str(tmp_path), "device": device, "num_gpus": num_gpus,
            "config": {"training": {"num_gpus": num_gpus, "deepspeed": deepspeed}}}


@pytest.mark.parametrize("gpus, multi", [(1, []), (2, ["--multi_gpu"]), (4, ["--multi_gpu"])])
def test_ddp_argv(tmp_path, gpus, multi):
    argv = launch_argv(tmp_path / "job.json", gpus, port=29123)
    assert argv == [*PREFIX, "--num_processes", str(gpus), "--num_machines", "1", *multi,
                    "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29123",
                    "-m", CHILD_MODULE, str(tmp_path / "job.json")]


@pytest.mark.parametrize("gpus", [2, 4])
@pytest.mark.parametrize("mode, stage", [("zero2", 2), ("zero3", 3)])
def test_deepspeed_argv_and_config(tmp_path, gpus, mode, stage):
    job_path = tmp_path / "launch_job.json"
    argv = prepare_launch(job_for(tmp_path, gpus, mode), job_path, port=29124)
    ds_file = tmp_path / DEEPSPEED_FILE
    # DeepSpeed's launcher starts the processes itself: --multi_gpu would be refused next to --use_deepspeed.
    assert argv == [*PREFIX, "--num_processes", str(gpus), "--num_machines", "1",
                    "--use_deepspeed", "--deepspeed_config_file", str(ds_file),
                    "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29124", "-m", CHILD_MODULE, str(job_path)]
    written = json.loads(ds_file.read_text())
    assert written == deepspeed_config(mode)
    zero = written["zero_optimization"]
    assert zero["stage"] == stage
    assert written["train_micro_batch_size_per_gpu"] == written["gradient_accumulation_steps"] == "auto"
    assert written["bf16"] == {"enabled": "auto"} and "optimizer" not in written  # the Trainer's optimizer
    assert ("stage3_gather_16bit_weights_on_model_save" in zero) is (stage == 3)


def test_ddp_job_writes_no_deepspeed_file(tmp_path):
    argv = prepare_launch(job_for(tmp_path, 2), tmp_path / "job.json", port=1234)
    assert "--multi_gpu" in argv and "--use_deepspeed" not in argv
    assert not (tmp_path / DEEPSPEED_FILE).exists()


def test_cpu_job_runs_one_process_with_cpu_flag(tmp_path):
    argv = prepare_launch(job_for(tmp_path, device="cpu"), tmp_path / "job.json", port=1234)
    assert argv[len(PREFIX):len(PREFIX) + 5] == ["--num_processes", "1", "--num_machines", "1", "--cpu"]
    with pytest.raises(ValueError, match="one process"):
        launch_argv(tmp_path / "job.json", 2, cpu=True, port=1)
    with pytest.raises(ValueError, match="DeepSpeed needs GPUs"):
        launch_argv(tmp_path / "job.json", 1, cpu=True, deepspeed_file=tmp_path / "ds.json", port=1)
    with pytest.raises(ValueError):
        deepspeed_config("zero1")


def test_free_port_is_a_port_and_argv_finds_one(tmp_path):
    assert 0 < free_port() < 65536
    argv = launch_argv(tmp_path / "job.json", 2)
    assert 0 < int(argv[argv.index("--main_process_port") + 1]) < 65536


def test_which_jobs_use_the_launcher():
    assert not uses_launcher({}) and not uses_launcher({"num_gpus": 1, "launcher": "auto"})
    assert uses_launcher({"num_gpus": 2}) and uses_launcher({"num_gpus": 1, "launcher": "accelerate"})


def test_job_file_is_private(tmp_path):
    path = write_job_file(tmp_path / "sub" / "launch_job.json", {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_launch_env_applies_secrets_and_pins_a_single_gpu():
    base = {"PATH": "/bin", "PYTHONPATH": "/elsewhere", "OLD_TOKEN": "x", "CUDA_VISIBLE_DEVICES": "0,1,2,3"}
    env = launch_env(base, {"WANDB_API_KEY": "k", "OLD_TOKEN": None}, {"device": "cuda:2", "num_gpus": 1})
    assert env["WANDB_API_KEY"] == "k" and "OLD_TOKEN" not in env
    assert env["PYTHONPATH"].split(os.pathsep) == [str(PROJECT_ROOT), "/elsewhere"]
    assert env["CUDA_VISIBLE_DEVICES"] == "2"
    several = launch_env(base, None, {"device": "cuda:0", "num_gpus": 4})
    assert several["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"  # the host's (or worker's) GPUs, not one of them
    assert base["OLD_TOKEN"] == "x"  # the server's own environment is untouched


def test_stop_file_and_single_process_agreement(tmp_path):
    stop = StopFile(tmp_path / ".stop-request")
    assert not stop.is_set()
    stop.path.touch()
    assert stop.is_set()
    assert agree_across_ranks(True) is True and agree_across_ranks(False) is False  # no process group: local


def test_other_ranks_send_nothing():
    silent = SilentEmitter(parent_pid=os.getppid())
    silent({"type": "metrics", "step": 1})
    assert not silent.training_started.is_set()
    silent({"type": "phase", "phase": "grpo"})
    assert silent.training_started.is_set() and silent.parent_alive()


@pytest.mark.parametrize("gpus, mode", [(1, "none"), (2, "none"), (4, "zero2"), (8, "zero3")])
def test_accelerates_own_parser_reads_the_argv(tmp_path, gpus, mode):
    """The flags are the accelerate CLI's (an unknown or misspelt one would exit here)."""
    from accelerate.commands.launch import launch_command_parser

    argv = prepare_launch(job_for(tmp_path, gpus, mode), tmp_path / "job.json", port=29125)
    args = launch_command_parser().parse_args(argv[3:])
    assert (args.num_processes, args.num_machines, args.main_process_port) == (gpus, 1, 29125)
    assert args.module and args.training_script == CHILD_MODULE
    assert args.training_script_args == [str(tmp_path / "job.json")]
    assert args.use_deepspeed is (mode != "none") and args.multi_gpu is (mode == "none" and gpus > 1)
    assert sum([args.multi_gpu, args.cpu, args.use_deepspeed]) <= 1  # accelerate allows one of them
