"""Ingest speed and memory: process a generated 1 M-row JSONL (~300 MB) as an upload is processed, vs pandas.

Each measurement runs in its own process so that its peak RSS is its own.
Targets (issue 4): >= 200 k rows/s and < 500 MB peak RSS for our processor.
Numbers are noisy on a shared 2-core machine: run it with nothing else busy.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, WORDS, peak_rss_mb, write_jsonl


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Alpaca-like rows of ~300 bytes, with a few duplicates and empty inputs like real data."""
    rng = random.Random(seed)

    def rows_of():
        previous = None
        for i in range(rows):
            if previous is not None and i % 997 == 0:
                row = previous  # a duplicate now and then
            else:
                row = {"id": i, "instruction": " ".join(rng.choices(WORDS, k=18)).capitalize() + "?",
                       "input": "" if i % 3 else " ".join(rng.choices(WORDS, k=8)),
                       "output": " ".join(rng.choices(WORDS, k=16)) + ".", "category": rng.choice(
                           ("math", "code", "general", "science"))}
            previous = row
            yield row

    write_jsonl(path, rows_of())


def measure(kind: str, path: str) -> dict:
    """Runs in a child process: import, note the baseline, process the file, report."""
    sys.path.insert(0, str(ROOT))
    if kind == "ours":
        from core.datasets import profile_file
    else:
        import pandas as pd
    baseline = peak_rss_mb()
    started = time.perf_counter()
    if kind == "ours":
        profile = profile_file(path, "jsonl")
        rows, extra = profile.row_count, {"duplicates": profile.duplicate_count, "empty_rows": profile.empty_count,
                                          "ok": profile.ok}
    else:
        frame = pd.read_json(path, lines=True)
        rows, extra = len(frame), {}
    seconds = time.perf_counter() - started
    return {"kind": kind, "rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "peak_rss_mb": round(peak_rss_mb(), 1), "rss_after_imports_mb": round(baseline, 1), **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", help="write the file here and keep it")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    with tempfile.TemporaryDirectory(prefix="tunewright-ingest-") as tmp:
        path = Path(args.keep or tmp) / "ingest.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows, {size_mb:.0f} MB in {time.perf_counter() - started:.1f} s: {path}")
        for kind in ("ours", "pandas"):
            out = subprocess.run([sys.executable, __file__, "--measure", kind, str(path)], capture_output=True,
                                 text=True)
            if out.returncode:
                print(f"{kind}: failed\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            label = "processor (validate+profile)" if kind == "ours" else "pandas.read_json(lines=True)"
            print(f"{label:30s} {r['rows']:>9,} rows  {r['seconds']:6.2f} s  {r['rows_per_s']:>9,} rows/s  "
                  f"peak RSS {r['peak_rss_mb']:7.1f} MB (after imports {r['rss_after_imports_mb']:.0f} MB)"
                  + (f"  duplicates {r['duplicates']:,}, rows with empties {r['empty_rows']:,}"
                     if kind == "ours" else ""))
            if kind == "ours":
                verdict = "meets" if r["rows_per_s"] >= 200_000 and r["peak_rss_mb"] < 500 else "MISSES"
                print(f"{'':30s} {verdict} the target (>= 200,000 rows/s, < 500 MB)")


if __name__ == "__main__":
    main()
