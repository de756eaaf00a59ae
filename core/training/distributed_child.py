"""One rank of a launched run: ``python -m core.training.distributed_child JOB.json`` (under ``accelerate launch``,
see ``core.training.launch``).

Every rank runs the same training as the multiprocessing child (``core.training.worker.train``); the HF Trainer
finds the process group from the launcher's environment. Only rank 0 reports: it connects to the supervisor's
``multiprocessing.connection.Listener`` (address and authkey from the job file), whose Connection has the Pipe end's
``send``, so ``PipeEmitter`` works unchanged. Other ranks write their logs to the same file (appending, each line
tagged with its rank) and send nothing.

Stop: the supervisor creates ``<output_dir>/.stop-request``; every rank sees the file, and the ranks agree on the
decision with an all-reduce after each step, so they all stop after the same step (a rank that ran one step more
would wait forever in that step's gradient all-reduce).
"""
from __future__ import annotations

import json
import os
import sys
from multiprocessing.connection import Client
from pathlib import Path
from typing import Any

from core.training.launch import STOP_FILE
from core.training.worker import PipeEmitter, train


class StopFile:
    """The stop request as the ``is_set()`` that the training loop polls: the file exists."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def is_set(self) -> bool:
        return self.path.exists()


class SilentEmitter(PipeEmitter):
    """The emitter of ranks other than 0: nothing is sent (rank 0 reports for the run), but a phase event still
    marks training as started (the parent watch's rule on when to exit at once)."""

    def __init__(self, parent_pid: int):
        super().__init__(None, parent_pid=parent_pid, spool_path=Path(os.devnull))

    def __call__(self, event: dict) -> None:
        if event.get("type") == "phase":
            self.training_started.set()


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def agree_across_ranks(wanted: bool) -> bool:
    """True on every rank when any rank wants to stop (one all-reduce of a flag). Without an initialised process
    group (one process, or before the Trainer set it up) the local decision stands."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError:
        return wanted
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return wanted
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" \
        else torch.device("cpu")
    flag = torch.tensor([1 if wanted else 0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def connect(job: dict[str, Any]):
    """Rank 0's connection to the supervisor."""
    listener = job["listener"]
    return Client(tuple(listener["address"]), authkey=bytes.fromhex(listener["authkey"]))


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m core.training.distributed_child JOB.json")
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    me = rank()
    if me == 0:
        emit: PipeEmitter = PipeEmitter(connect(job), parent_pid=os.getppid(), spool_path=Path(job["spool_path"]))
    else:
        emit = SilentEmitter(parent_pid=os.getppid())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    train(job, emit, StopFile(Path(job["output_dir"]) / STOP_FILE), agree=agree_across_ranks,
          tag=f"rank {me}/{world} " if world > 1 else "")


if __name__ == "__main__":
    main(sys.argv[1:])
