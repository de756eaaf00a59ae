"""Read any dataset spec into normalised ``{"instruction", "response"}`` rows for training."""
from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.datasets.builtin import builtin_rows, get_builtin
from core.datasets.hub import load_hub_dataset
from core.datasets.mapping import detect_mapping, mapping_problems, normalise_row
from core.datasets.readers import RowReader
from core.datasets.spec import DatasetSpec, DatasetUnavailableError, FieldMapping

DETECT_ROWS = 20


def seeded_sample(items: Iterable, n: int, seed: int = 3407) -> list:
    """The first ``n`` items of a seeded shuffle of ``items``, in one pass and O(n) memory.

    Every item gets a random key from ``Random(seed)`` in stream order; the
    shuffle is the order of the keys, so the result is stable for a given seed
    and content, and the sample for ``n`` is a prefix of the sample for ``n + 1``.
    """
    if n <= 0:
        return []
    rng = random.Random(seed)
    heap: list[tuple[float, int, object]] = []  # max-heap on the key, through negation
    for index, item in enumerate(items):
        key = rng.random()
        if len(heap) < n:
            heapq.heappush(heap, (-key, index, item))
        elif key < -heap[0][0]:
            heapq.heapreplace(heap, (-key, index, item))
    return [item for _, _, item in sorted(heap, key=lambda entry: (-entry[0], entry[1]))]


def _with_mapping(rows: Iterator[dict], mapping: FieldMapping, columns: list[str] | None = None,
                  label: str = "dataset") -> tuple[Iterator[dict], FieldMapping]:
    """Check the mapping against the first rows, or detect it when none is given; no row is lost."""
    head = list(itertools.islice(rows, DETECT_ROWS))
    names = columns or list(dict.fromkeys(key for row in head for key in row))
    if mapping.is_usable():
        problems = mapping_problems(mapping, names) if head else []
        if problems:
            raise DatasetUnavailableError(f"{label}: " + "; ".join(problems))
        return itertools.chain(head, rows), mapping
    detected = detect_mapping(names, head)
    if not detected.is_usable():
        raise DatasetUnavailableError(
            f"cannot tell which column of {label} is the instruction (columns: {', '.join(names)}); "
            "set instruction_field and response_field")
    return itertools.chain(head, rows), detected


def _normalised(rows: Iterable[dict], mapping: FieldMapping, extra_keys: tuple[str, ...]) -> Iterator[dict]:
    for row in rows:
        example = normalise_row(row, mapping)
        if not example["instruction"].strip():
            continue  # nothing to prompt with
        for key in extra_keys:
            if key in row:
                example[key] = row[key]
        yield example


def _file_rows(spec: DatasetSpec) -> tuple[Iterator[dict], list[str] | None]:
    path = Path(spec.name)
    if not path.is_file():
        raise DatasetUnavailableError(f"the dataset file {path.name} is missing")
    reader = RowReader(path, spec.format)
    return iter(reader), reader.columns


def iter_examples(spec: DatasetSpec) -> Iterator[dict]:
    """Every usable row of ``spec``, normalised, in the dataset's own order, one at a time.

    The position of a row in this stream is its *row index* (what a mix
    manifest records): rows whose instruction is empty are skipped and take no
    index. Missing files, unknown built-ins and unmappable columns raise here,
    before the first row is asked for, so callers fail early.
    """
    if spec.kind == "builtin":
        builtin = get_builtin(spec.name)
        mapping = spec.mapping if spec.mapping.is_usable() else builtin.mapping
        return _normalised(builtin_rows(spec.name, spec.split), mapping, builtin.extra_keys)
    if spec.kind == "file":
        raw, columns = _file_rows(spec)
        raw, mapping = _with_mapping(raw, spec.mapping, columns, Path(spec.name).name)
        return _normalised(raw, mapping, ())
    return _hub_examples(spec)


def load_examples(spec: DatasetSpec, max_samples: int | None = None, seed: int = 3407) -> list[dict]:
    """Rows ``{"instruction", "response"}`` (+ ``system`` when given per row, + the built-in's extra keys).

    With ``max_samples``, a stable seeded shuffle then the first N; without, all
    rows in their order. Files are streamed: memory holds at most N rows when N
    is set. Raises :class:`DatasetUnavailableError` (offline, missing, unmappable)
    or :class:`~core.datasets.spec.DatasetFormatError` (a bad row).
    """
    if max_samples is not None and max_samples <= 0:
        return []
    if max_samples is None:
        return list(iter_examples(spec))
    if spec.kind == "hub":
        # Arrow random access: shuffle the indices only, read rows until N usable ones are found.
        return list(itertools.islice(_hub_examples(spec, shuffle_seed=seed), max_samples))
    return seeded_sample(iter_examples(spec), max_samples, seed)


def _hub_examples(spec: DatasetSpec, shuffle_seed: int | None = None) -> Iterator[dict]:
    dataset = load_hub_dataset(spec)
    columns = list(dataset.column_names)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(seed=shuffle_seed)
    raw, mapping = _with_mapping(iter(dataset), spec.mapping, columns, spec.name)
    return _normalised(raw, mapping, ())
