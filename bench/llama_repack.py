"""What llama.cpp's weight repacking is worth, to size the AMX workaround in core/inference/llama_loader.py.

    .venv/bin/python bench/llama_repack.py [--repeats 3] [--threads 2]

For the real SmolLM2-135M as Q4_1 (the bundled file), Q8_0 and Q4_K_M (quantised here from the prepared model's
F16), each in a fresh child process: load time, prompt processing (a ~200-token prompt) and greedy decoding
(64 tokens), in up to three ways:
  no-repack        use_extra_bufts off: what every AMX CPU now gets (and any CPU under TUNEWRIGHT_LLAMA_REPACK=off);
  repack, no AMX   AMX refused to the child (seccomp), repacking on: what an AVX2/AVX-512 CPU without AMX gets;
  repack, AMX      on an AMX CPU: the SIGSEGV the loader avoids, shown as such (elsewhere: the same as the line above).
Medians of --repeats runs. Run on a quiet machine: other load collapses llama.cpp's thread pool.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, prepared_default_model

CHILD = """
import json, sys, time
from core.inference.llama_loader import load_llama
path, threads = sys.argv[1], int(sys.argv[2])
started = time.perf_counter()
llm = load_llama(path, n_ctx=512, seed=0, n_threads=threads, n_threads_batch=threads)
loaded = time.perf_counter() - started
prompt = llm.tokenize(("Explain, step by step, how to add two fractions with different denominators. " * 12).encode())
started = time.perf_counter()
llm.eval(prompt)
prefill = time.perf_counter() - started
started = time.perf_counter()
for _ in range(64):
    llm.eval([int(llm.sample(temp=0.0))])
decode = time.perf_counter() - started
print(json.dumps({"load_s": loaded, "prompt_tok_s": len(prompt) / prefill, "decode_tok_s": 64 / decode}))
"""


def measure(path: Path, repack: str, threads: int, repeats: int) -> dict | str:
    env = dict(os.environ, TUNEWRIGHT_LLAMA_REPACK=repack, PYTHONPATH=str(ROOT))
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(threads)],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        if done.returncode != 0:
            return f"exit {done.returncode}" + (" (SIGSEGV)" if done.returncode == -11 else "")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    from core import gguf_tools
    from core.default_model import bundled_gguf_path
    from core.inference.llama_loader import cpu_has_amx

    work = Path(tempfile.mkdtemp(prefix="tunewright-repack-"))
    f16 = gguf_tools.convert_hf_to_gguf(prepared_default_model(), work / "smollm2-F16.gguf", "f16")
    files = {"Q4_1 (bundled)": bundled_gguf_path(),
             **{q: gguf_tools.quantize(f16, work / f"smollm2-{q}.gguf", q) for q in ("Q8_0", "Q4_K_M")}}
    ways = [("no-repack", "off"), ("repack, no AMX", "no-amx"), ("repack, AMX" if cpu_has_amx() else "repack", "on")]
    print(f"CPU has AMX: {cpu_has_amx()}; threads {args.threads}; medians of {args.repeats}")
    print(f"{'file':16} {'way':16} {'load s':>7} {'prompt tok/s':>13} {'decode tok/s':>13}")
    for name, path in files.items():
        for way, repack in ways:
            result = measure(path, repack, args.threads, args.repeats)
            if isinstance(result, str):
                print(f"{name:16} {way:16} {result}")
            else:
                print(f"{name:16} {way:16} {result['load_s']:7.2f} {result['prompt_tok_s']:13.1f} "
                      f"{result['decode_tok_s']:13.1f}")


if __name__ == "__main__":
    main()
