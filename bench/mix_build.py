"""Mix build speed and memory: a 1 M-row project mix from three generated JSONL sources (500 k + 400 k + 300 k).

The sources are written to a temporary folder first (not timed); the build
runs in its own process so that its peak RSS is its own. Row counts and
checksums are passed in, as the service passes the dataset profiles', so the
build reads each file once. Targets (projects issue): >= 200 k rows/s and
< 500 MB peak RSS. Numbers are noisy on a shared 2-core machine.

    .venv/bin/python bench/mix_build.py [--rows 1000000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, WORDS, peak_rss_mb, write_jsonl

SOURCES = (("reasoning", 500_000), ("coding", 400_000), ("general", 300_000))


def generate(path: Path, rows: int, seed: int) -> None:
    """Short instruction/response rows (~150 bytes), unique by their number."""
    rng = random.Random(seed)
    write_jsonl(path, ({"instruction": f"{i}: " + " ".join(rng.choices(WORDS, k=10)) + "?",
                        "response": " ".join(rng.choices(WORDS, k=10)) + "."} for i in range(rows)))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(folder: str, rows: int) -> dict:
    """Runs in a child process: import, note the baseline, plan and build, report.

    Also times one bare read of the sources (the floor any build pays) after the build.
    """
    sys.path.insert(0, str(ROOT))
    from core.checksums import file_sha256
    from core.datasets import DatasetSpec, iter_examples
    from core.projects.mix import MixSource, build_mix, plan_mix

    sources = []
    for trait, size in SOURCES:
        path = Path(folder) / f"{trait}.jsonl"
        sources.append(MixSource(f"file:{trait}", trait, trait, 100.0, DatasetSpec("file", str(path), format="jsonl"),
                                 rows_available=size, checksum=file_sha256(path)))
    baseline = peak_rss_mb()
    started, cpu = time.perf_counter(), cpu_seconds()
    plan = plan_mix(sources, rows, trait_weights={"reasoning": 45, "coding": 35, "general": 20})
    manifest = build_mix(plan, sources, Path(folder) / "mix", seed=3407)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    peak = peak_rss_mb()
    read_started = time.perf_counter()
    for source in sources:
        for _ in iter_examples(source.spec):
            pass
    written = manifest["totals"]["train_rows"] + manifest["totals"]["eval_rows"]
    return {"rows": written, "seconds": round(seconds, 2), "rows_per_s": round(written / seconds),
            "cpu_seconds": round(cpu, 2), "read_only_seconds": round(time.perf_counter() - read_started, 2),
            "peak_rss_mb": round(peak, 1), "rss_after_imports_mb": round(baseline, 1),
            "per_source": {s["key"]: s["rows"] for s in manifest["sources"]}, "warnings": manifest["warnings"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", help="write the sources and the mix here and keep them")
    parser.add_argument("--measure", nargs=2, metavar=("FOLDER", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="tunewright-mix-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        for seed, (trait, size) in enumerate(SOURCES):
            generate(folder / f"{trait}.jsonl", size, seed)
        size_mb = sum((folder / f"{t}.jsonl").stat().st_size for t, _ in SOURCES) / 1e6
        print(f"generated {sum(n for _, n in SOURCES):,} rows in 3 sources, {size_mb:.0f} MB "
              f"in {time.perf_counter() - started:.1f} s: {folder}")
        out = subprocess.run([sys.executable, __file__, "--measure", str(folder), str(args.rows)],
                             capture_output=True, text=True)
        if out.returncode:
            print(f"build failed\n{out.stderr[-2000:]}")
            sys.exit(1)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"mix of {args.rows:,} training rows (+ eval): {r['rows']:,} rows written in {r['seconds']} s = "
              f"{r['rows_per_s']:,} rows/s; peak RSS {r['peak_rss_mb']} MB "
              f"({r['rss_after_imports_mb']} MB after imports)")
        print(f"CPU time {r['cpu_seconds']} s; reading the {sum(n for _, n in SOURCES):,} source rows alone "
              f"takes {r['read_only_seconds']} s")
        print(f"rows per source: {r['per_source']}")
        for warning in r["warnings"]:
            print(f"warning: {warning}")


if __name__ == "__main__":
    main()
