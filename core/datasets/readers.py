"""Streaming row readers for uploaded files: JSON, JSON Lines, CSV and Parquet.

Each reader yields plain dicts one at a time, so a 10 GB file costs the memory
of one record (or one Parquet batch). Errors say where: a 1-based line for text
files, a row for Parquet. Errors in one row go to ``on_error`` when given (the
processing job counts them all), otherwise they are raised (training, preview).
"""
from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from core.datasets.jsonstream import JsonRecordStream
from core.datasets.spec import FILE_FORMATS, DatasetFormatError

ErrorHandler = Callable[[DatasetFormatError], None]

EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv",
              ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
UTF8_BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 64 * 1024
PARQUET_BATCH = 2048
LATIN1_HINT = "the file looks Latin-1 or Windows-1252 encoded: save it as UTF-8 and upload it again"

try:  # 3x faster than json.loads per line; the standard library stays the reference for odd lines
    from orjson import loads as fast_loads
except ImportError:  # pragma: no cover - orjson is a pinned requirement
    fast_loads = json.loads

MAX_RECORD_BYTES = 16 << 20  # one JSONL line or CSV field; longer ones are reported with their line, not buffered
SNIFF_CHARS = 4096  # csv.Sniffer is quadratic in its sample: give it a few lines, never the whole head
csv.field_size_limit(MAX_RECORD_BYTES)  # long answers (whole solutions) exceed the 128 KiB default


def bounded_lines(f, on_too_long: Callable[[int], None], limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of a binary file, never holding more than ``limit`` bytes of one line: a longer
    line is passed to ``on_too_long`` and skipped in chunks (a 2 GB single-line file costs 16 MiB, not 2 GB)."""
    number = 0
    readline = f.readline
    while True:
        raw = readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:  # drop the rest of this line
                rest = readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            on_too_long(number)
            continue
        yield number, raw


def format_from_name(filename: str) -> str | None:
    return EXTENSIONS.get(Path(filename).suffix.lower())


def detect_format(path: str | os.PathLike, filename: str | None = None) -> str:
    """The format named by the file's extension, else guessed from its first bytes."""
    by_name = format_from_name(filename or str(path))
    if by_name:
        return by_name
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.removeprefix(UTF8_BOM).lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first, _, rest = text.partition(b"\n")
        try:
            json.loads(first)
            return "jsonl" if rest.lstrip().startswith(b"{") or not rest.strip() else "json"
        except ValueError:
            return "json"
    return "csv"


def check_head(head: bytes, fmt: str) -> int:
    """Refuse files that cannot be this format at all; returns how many bytes of BOM to skip."""
    if not head.strip():
        raise DatasetFormatError("The file is empty.")
    if fmt == "parquet":
        return 0
    if head.startswith(b"PAR1"):
        raise DatasetFormatError(f"This is a Parquet file, not {fmt.upper()}: give it a .parquet name.")
    if head.startswith((b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ")):
        raise DatasetFormatError("This is a compressed archive (gzip/zip/bz2/xz): extract it and upload the file.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DatasetFormatError("The file is UTF-16 encoded: save it as UTF-8 and upload it again.")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DatasetFormatError(
            f"This is a binary file, not {fmt.upper()} text (a NUL byte at byte {nul + 1}).",
            head.count(b"\n", 0, nul) + 1)
    return len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0


def _not_utf8(line: int, raw: bytes, exc: UnicodeDecodeError) -> DatasetFormatError:
    return DatasetFormatError(f"bytes that are not UTF-8 (0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                              f"{LATIN1_HINT}", line)


class RowReader:
    """Iterate the rows of one file; ``progress()`` says how far the iteration got (0..1)."""

    def __init__(self, path: str | os.PathLike, fmt: str, on_error: ErrorHandler | None = None):
        if fmt not in FILE_FORMATS:
            raise DatasetFormatError(f"Unsupported format {fmt!r}: use JSON, JSONL, CSV or Parquet.")
        self.path = Path(path)
        self.format = fmt
        self.size = self.path.stat().st_size
        self.on_error = on_error
        self.delimiter: str | None = None
        self.columns: list[str] | None = None  # known up front for CSV and Parquet
        self.line: int | None = None  # line (or row) of the last row yielded, where cheap to know
        self._file = None
        self._done_fraction = 0.0

    def progress(self) -> float:
        if self._file is not None and not self._file.closed:
            return min(1.0, self._file.tell() / max(self.size, 1))
        return self._done_fraction

    def _too_long(self, line: int) -> None:
        self._error(DatasetFormatError(f"line {line} is longer than {MAX_RECORD_BYTES >> 20} MiB: one record must "
                                       "fit in that; split it or shorten it", line))

    def _error(self, error: DatasetFormatError) -> None:
        if self.on_error is None:
            raise error
        self.on_error(error)

    def __iter__(self) -> Iterator[dict]:
        # The format's generator itself, not a wrapper around it: one generator frame per row, not two.
        if self.size == 0:
            raise DatasetFormatError("The file is empty.")
        return {"json": self._json, "jsonl": self._jsonl, "csv": self._csv, "parquet": self._parquet}[self.format]()

    def _open(self):
        self._file = open(self.path, "rb")
        return self._file

    # -- JSON Lines -----------------------------------------------------------------------------
    def _jsonl(self) -> Iterator[dict]:
        with self._open() as f:
            skip = check_head(f.read(HEAD_BYTES), "jsonl")
            f.seek(skip)
            loads = fast_loads
            seen_row = False
            for number, raw in bounded_lines(f, self._too_long):
                try:
                    row = loads(raw)
                except ValueError:  # orjson's error is a ValueError too
                    row = self._jsonl_slow(number, raw)
                    if row is None:
                        continue
                if type(row) is not dict:
                    if not seen_row and number == 1 and isinstance(row, list):
                        raise DatasetFormatError(
                            "The file holds one JSON list, not JSON Lines: give it a .json name.")
                    self._error(DatasetFormatError(f"expected a JSON object, found a {type(row).__name__}", number))
                    continue
                seen_row = True
                self.line = number
                yield row
        self._done_fraction = 1.0
        if not seen_row and self.on_error is None:
            raise DatasetFormatError("The file holds no records.")

    def _jsonl_slow(self, number: int, raw: bytes):
        """A line the fast parser refused: blank, not UTF-8, valid only for the standard library (NaN,
        huge integers) or bad. Returns the row, or None when there is none (the error is reported)."""
        if not raw.strip():
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._error(_not_utf8(number, raw, exc))
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            hint = " (the file may be truncated)" if number > 1 and not raw.endswith(b"\n") else ""
            self._error(DatasetFormatError(f"bad JSON: {exc.msg} (column {exc.colno}){hint}", number))
            return None

    # -- JSON -----------------------------------------------------------------------------------
    def _json(self) -> Iterator[dict]:
        with self._open() as f:
            skip = check_head(f.read(HEAD_BYTES), "json")
            f.seek(0)
            for line, row in JsonRecordStream(f, on_error=self.on_error, skip_bytes=skip):
                self.line = line
                yield row
        self._done_fraction = 1.0

    # -- CSV ------------------------------------------------------------------------------------
    def _csv(self) -> Iterator[dict]:
        with self._open() as f:
            head = f.read(HEAD_BYTES)
            skip = check_head(head, "csv")
            f.seek(skip)
            sample = head[skip:].decode("utf-8", errors="replace")
            self.delimiter = sniff_delimiter(sample, tab_by_name=self.path.suffix.lower() == ".tsv")
            state = {"line": 0}

            def lines() -> Iterator[str]:
                # Decoded line by line so that a bad byte is reported on its own line.
                for number, raw in bounded_lines(f, self._too_long):
                    state["line"] = number
                    try:
                        yield raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        self._error(_not_utf8(number, raw, exc))
                        yield raw.decode("utf-8", errors="replace")

            reader = csv.reader(lines(), delimiter=self.delimiter, strict=False)
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)
            if header is None:
                raise DatasetFormatError("The file is empty.")
            first_data = next(reader, None)
            self.columns = check_header(header, first_data, sample, self.delimiter)
            width = len(self.columns)
            rows = [first_data] if first_data is not None else []
            number = 0
            while True:
                if rows:
                    cells = rows.pop()
                else:
                    try:
                        cells = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        self._error(DatasetFormatError(f"bad CSV: {exc}", state["line"]))
                        continue
                number += 1
                if len(cells) != width:
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        number -= 1
                        continue
                    self._error(DatasetFormatError(
                        f"row {number} has {len(cells)} fields, the header has {width}", state["line"]))
                    continue
                self.line = state["line"]
                yield dict(zip(self.columns, cells))
        self._done_fraction = 1.0

    # -- Parquet --------------------------------------------------------------------------------
    def _parquet(self) -> Iterator[dict]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with open(self.path, "rb") as probe:
            check_head(probe.read(HEAD_BYTES), "parquet")
        try:
            parquet = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise DatasetFormatError(f"This is not a readable Parquet file ({exc}).") from None
        total = max(parquet.metadata.num_rows, 1)
        self.columns = list(parquet.schema_arrow.names)
        done = 0
        batches = parquet.iter_batches(batch_size=PARQUET_BATCH)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError) as exc:
                raise DatasetFormatError(f"the Parquet data is damaged after row {done} ({exc})") from None
            for row in batch.to_pylist():
                done += 1
                self.line = done
                yield row
            self._done_fraction = done / total


_NAME = re.compile(r"^(?!\d)[\w][\w .\-/()#]{0,63}$")


def sniff_delimiter(sample: str, tab_by_name: bool = False) -> str:
    """Comma, semicolon or tab, from the first lines (the stdlib sniffer, then a count as fallback)."""
    if tab_by_name:
        return "\t"
    cut = len(sample) > SNIFF_CHARS
    sample = sample[:SNIFF_CHARS]
    lines = sample.splitlines()[:20]
    if len(lines) > 1 and (cut or not sample.endswith("\n")):
        lines = lines[:-1]  # the last line of the head may be cut
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {d: first.count(d) for d in ",;\t"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def check_header(header: list[str], first_data: list[str] | None, sample: str, delimiter: str) -> list[str]:
    """Column names from the header row; refuses a first line that is clearly data, blanks and duplicates."""
    names = [cell.strip() for cell in header]
    looks_like_names = all(_NAME.match(n) and len(n.split()) <= 6 for n in names if n)
    if not looks_like_names:
        try:
            has_header = csv.Sniffer().has_header(sample[:SNIFF_CHARS]) if first_data is not None else False
        except csv.Error:
            has_header = False
        if not has_header:
            shown = delimiter.join(header)[:80]
            raise DatasetFormatError(
                f"the CSV has no header row: its first line looks like data ({shown!r}); add a first line "
                "naming the columns, e.g. instruction,response", 1)
    for position, name in enumerate(names, 1):
        if not name:
            raise DatasetFormatError(f"column {position} of the header row has no name", 1)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DatasetFormatError(f"the header row names these columns twice: {', '.join(duplicates)}", 1)
    return names
