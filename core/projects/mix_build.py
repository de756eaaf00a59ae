"""Build a planned mix into a folder: ``train.jsonl``, ``eval.jsonl``, ``manifest_samples.csv``, ``manifest.json``.

Each source is streamed once into a spool; the training rows are then written
in one seeded shuffle of the whole mix, the eval rows source by source. The
same plan, sources and seed give byte-identical files (there is no timestamp).
``manifest_samples.csv`` has one line per written row: split, position (line
in its file, from 0), source key, row index in the source (see
:func:`core.datasets.iter_examples`) and the row's content hash (16 hex digits
of the SHA-256 of its line in train/eval.jsonl, without the newline).

Memory stays flat in the rows read; the spools of the chosen rows are memory
mapped while the final files are written (clean page-cache pages, about the
size of train.jsonl at most, which the kernel can drop under pressure).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.checksums import file_sha256
from core.projects.mix_files import HashingWriter, publish
from core.projects.mix_plan import MixError, MixPlan, MixSource, SourcePlan, plan_warnings
from core.projects.mix_select import Selection, select_rows
from core.projects.mix_spool import Spool, spool_rows

FORMAT = "tunewright-mix"
FORMAT_VERSION = 1
TRAIN, EVAL, SAMPLES, MANIFEST = "train.jsonl", "eval.jsonl", "manifest_samples.csv", "manifest.json"
SAMPLES_HEADER = b"split,position,source,index,hash\n"
WRITE_CHUNK = 1 << 16


@dataclasses.dataclass
class _Part:
    """One source while building: what was planned, which rows were chosen, where they were spooled."""

    plan: SourcePlan
    source: MixSource
    selection: Selection
    spool: Spool

    def found(self, ranks: np.ndarray) -> np.ndarray:
        return ranks[ranks < self.spool.rows]  # rows past the end of a stream shorter than expected

    def actual(self) -> tuple[SourcePlan, int]:
        """The plan with the counts that were really written, and the distinct training rows."""
        train, held = self.found(self.selection.train_ranks), self.found(self.selection.eval_ranks)
        distinct = len(self.found(self.selection.train_ranks[:self.selection.distinct]))
        available = self.plan.available_rows if self.spool.stream_rows is None else self.spool.stream_rows
        return dataclasses.replace(
            self.plan, rows=len(train), eval_rows=len(held), available_rows=available,
            shortfall=max(0, self.plan.requested_rows - len(train)),
            duplication_factor=len(train) / distinct if distinct else 1.0), distinct


def build_mix(plan: MixPlan, sources: Sequence[MixSource], out_dir: Path, seed: int) -> dict:
    """Write the mix ``plan`` describes into ``out_dir``; returns the manifest plus ``manifest_sha256``."""
    by_key = _match(plan, sources)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise MixError("the seed must be a whole number, 0 or more")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".spool-") as tmp:
        parts = [_spool_part(p, by_key[p.key], seed, Path(tmp) / f"{i}.jsonl") for i, p in enumerate(plan.sources)]
        written = _write_files(parts, out_dir, seed)
    try:
        manifest = _manifest(plan, parts, {w.name: info for w, info in written}, seed)
        data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        publish(out_dir, [w for w, _ in written], MANIFEST, data)
    except BaseException:
        for writer, _ in written:
            writer.discard()
        raise
    return {**manifest, "manifest_sha256": hashlib.sha256(data).hexdigest()}


def _match(plan: MixPlan, sources: Sequence[MixSource]) -> dict[str, MixSource]:
    by_key = {s.key: s for s in sources}
    if sorted(by_key) != sorted(p.key for p in plan.sources):
        raise MixError("the sources do not match the plan's sources")
    return by_key


def _spool_part(part: SourcePlan, source: MixSource, seed: int, path: Path) -> _Part:
    selection = select_rows(part.key, seed, part.available_rows, part.eval_rows, part.rows)
    return _Part(part, source, selection, spool_rows(source.spec, source.trait, selection.wanted, path))


def _write_files(parts: list[_Part], out_dir: Path, seed: int) -> list[tuple[HashingWriter, dict]]:
    writers = [HashingWriter(out_dir, name) for name in (TRAIN, EVAL, SAMPLES)]
    train, held, samples = writers
    try:
        samples.write(SAMPLES_HEADER, 0)
        train_src, train_ranks = _concat([p.found(p.selection.train_ranks) for p in parts])
        order = np.random.default_rng(seed).permutation(len(train_ranks))
        _write_split("train", parts, train_src[order], train_ranks[order], train, samples)
        _write_split("eval", parts, *_concat([p.found(p.selection.eval_ranks) for p in parts]), held, samples)
        return [(w, w.close()) for w in writers]
    except BaseException:
        for w in writers:
            w.discard()
        raise


def _concat(ranks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(source number, rank) of every row, source after source."""
    src = [np.full(len(r), i, dtype=np.int32) for i, r in enumerate(ranks)]
    return np.concatenate(src or [np.empty(0, np.int32)]), np.concatenate(ranks or [np.empty(0, np.int64)])


def _write_split(split: str, parts: list[_Part], src: np.ndarray, ranks: np.ndarray, out: HashingWriter,
                 samples: HashingWriter) -> None:
    """Copy the rows' lines from the spools in this order, with one samples line each, a chunk at a time."""
    views = [p.spool.open() for p in parts]
    keys = [_csv_field(p.plan.key) for p in parts]
    try:
        for lo in range(0, len(src), WRITE_CHUNK):
            s, r = src[lo:lo + WRITE_CHUNK], ranks[lo:lo + WRITE_CHUNK]
            starts, ends, index, digest = _lookup(parts, s, r)
            rows = zip(s.tolist(), starts.tolist(), ends.tolist())
            out.write(b"".join([views[i][a:b] for i, a, b in rows]), len(s))
            lines = zip(range(lo, lo + len(s)), s.tolist(), index.tolist(), digest.tolist())
            samples.write("".join([f"{split},{n},{keys[i]},{x},{h:016x}\n" for n, i, x, h in lines]).encode(),
                          len(s))
    finally:
        for view in views:
            if not isinstance(view, bytes):
                view.close()


def _lookup(parts: list[_Part], src: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, ...]:
    """Byte range in the spool, row index in the source and content hash of each (source, rank)."""
    starts, ends = np.empty(len(src), np.int64), np.empty(len(src), np.int64)
    index, digest = np.empty(len(src), np.int64), np.empty(len(src), np.uint64)
    for i in np.unique(src):
        mask = src == i
        r, spool = ranks[mask], parts[i].spool
        starts[mask], ends[mask] = spool.offsets[r], spool.offsets[r + 1]
        index[mask], digest[mask] = parts[i].selection.wanted[r], spool.hashes[r]
    return starts, ends, index, digest


def _csv_field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text


def _manifest(plan: MixPlan, parts: list[_Part], files: dict[str, dict], seed: int) -> dict:
    actual = [p.actual() for p in parts]
    sources = [_source_entry(part, real, distinct) for part, (real, distinct) in zip(parts, actual)]
    traits = {}
    for entry in sources:
        counts = traits.setdefault(entry["trait"], {"train_rows": 0, "eval_rows": 0})
        counts["train_rows"] += entry["rows"]
        counts["eval_rows"] += entry["eval_rows"]
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "seed": seed, "unit": plan.unit,
            "max_rows": plan.max_rows, "upsample": plan.upsample, "eval_rows_per_trait": plan.eval_rows_per_trait,
            "sources": sources, "traits": traits,
            "totals": {"train_rows": files[TRAIN]["rows"], "eval_rows": files[EVAL]["rows"]},
            "files": files, "warnings": _warnings(parts, [real for real, _ in actual])}


def _source_entry(part: _Part, real: SourcePlan, distinct: int) -> dict:
    return {"key": real.key, "label": real.label, "trait": real.trait, "percentage": real.percentage,
            "checksum": part.source.checksum, "available_rows": real.available_rows,
            "requested_rows": real.requested_rows, "rows": real.rows, "eval_rows": real.eval_rows,
            "distinct_rows": distinct, "shortfall": real.shortfall,
            "duplication_factor": round(real.duplication_factor, 4)}


def _warnings(parts: list[_Part], actual: list[SourcePlan]) -> list[str]:
    """The plan's warnings on the real counts, plus streams shorter than expected and changed files."""
    notes = []
    for part in parts:
        if part.spool.stream_rows is not None:
            notes.append(f"{part.plan.label} ({part.plan.key}) has {part.spool.stream_rows} usable rows, not the "
                         f"{part.plan.available_rows} expected: the mix holds the rows it found")
        spec, checksum = part.source.spec, part.source.checksum
        if checksum and spec.kind == "file" and file_sha256(spec.name) != checksum:
            notes.append(f"{part.plan.label} ({part.plan.key}) changed since its checksum was taken")
    return notes + plan_warnings(actual)
