"""Reward sandbox overhead: seconds per 1 000 samples for a trivial code reward run in the bubblewrap worker,
against the same function called in-process (what unsafe tools do), plus the worker's start-up time.

    .venv/bin/python bench/sandbox.py [--batch 8] [--samples 1000]

The batch size is GRPO's per-step batch (prompts x generations); the worker is long-lived, so each batch
costs a pipe round trip, and each sample one fork (samples are isolated from each other), not a Python start.
The last lines compare the worker with and without the seccomp filter and --disable-userns.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import _common  # noqa: F401  (puts the project on sys.path)

from core.sandbox import Sandbox, host, isolation

CODE = "def reward(prompt, completion, **fields):\n    return min(1.0, len(completion) / 100)\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    iso = isolation()
    if not iso.available:
        raise SystemExit(f"no sandbox here: {iso.reason}")
    items = [{"prompt": "What is 2 + 2?", "completion": "<SOLUTION>4</SOLUTION>" * (i % 5 + 1),
              "fields": {"answer": "4"}} for i in range(args.batch)]
    namespace: dict = {}
    exec(CODE, namespace)  # the in-process baseline only; bench code, not user code
    local = namespace["reward"]

    starts, sandboxed, inline = [], [], []
    for _ in range(args.repeats):
        sandbox = Sandbox(CODE)
        started = time.perf_counter()
        sandbox.run(items[:1])
        starts.append(time.perf_counter() - started)
        batches = max(1, args.samples // args.batch)
        started = time.perf_counter()
        for _ in range(batches):
            results = sandbox.run(items)
        sandboxed.append((time.perf_counter() - started) / (batches * args.batch) * 1000)
        assert all(score is not None for score, _ in results), results
        sandbox.close()
        started = time.perf_counter()
        for _ in range(batches):
            [local(i["prompt"], i["completion"], **i["fields"]) for i in items]
        inline.append((time.perf_counter() - started) / (batches * args.batch) * 1000)
    print(f"sandbox worker start (bwrap + python): {statistics.median(starts) * 1000:.0f} ms")
    print(f"sandboxed, batches of {args.batch}: {statistics.median(sandboxed):.3f} s per 1000 samples")
    print(f"in-process (no isolation):      {statistics.median(inline):.4f} s per 1000 samples")
    for batch in (64, 256):
        sandbox = Sandbox(CODE)
        sandbox.run(items[:1])
        big = (items * (batch // len(items) + 1))[:batch]
        started = time.perf_counter()
        rounds = max(1, args.samples // batch)
        for _ in range(rounds):
            sandbox.run(big)
        print(f"sandboxed, batches of {batch}: {(time.perf_counter() - started) / (rounds * batch) * 1000:.3f} s "
              "per 1000 samples")
        sandbox.close()
    filtered = per_sample(items, args.samples)
    original = host.isolation
    host.isolation = lambda: dataclasses.replace(iso, seccomp=None, disable_userns=False)
    try:
        unfiltered = per_sample(items, args.samples)
    finally:
        host.isolation = original
    print(f"seccomp filter + --disable-userns: {filtered:.2f} ms per sample; namespaces and rlimits only: "
          f"{unfiltered:.2f} ms per sample")


def per_sample(items: list[dict], samples: int) -> float:
    sandbox = Sandbox(CODE)
    sandbox.run(items[:1])
    started = time.perf_counter()
    rounds = max(1, samples // len(items))
    for _ in range(rounds):
        sandbox.run(items)
    sandbox.close()
    return (time.perf_counter() - started) / (rounds * len(items)) * 1000


if __name__ == "__main__":
    main()
