"""Stream the records of a JSON document (a list, or an object holding a list) without loading it whole.

Hand-written on the standard library's C decoder (``JSONDecoder.raw_decode``)
rather than adding ``ijson``: records are decoded one at a time from a sliding
text buffer, which keeps memory bounded by the largest record, is as fast as
``json.loads`` per line, and lets every error carry its line number.
"""
from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from core.datasets.spec import DatasetFormatError

CHUNK = 1 << 20
MAX_RECORD_CHARS = 64 << 20  # a record larger than this is reported, not buffered further
_WS = re.compile(r"[ \t\n\r]*")

ErrorHandler = Callable[[DatasetFormatError], None]


class JsonRecordStream:
    """Yields the records of one JSON document from a binary file.

    Accepts ``[{...}, ...]`` or ``{"data": [{...}, ...], ...}`` (the first list
    whose first item is an object). Structural errors are fatal (raised);
    an item that is not an object goes to ``on_error`` when one is given.
    """

    def __init__(self, fileobj: BinaryIO, on_error: ErrorHandler | None = None, skip_bytes: int = 0):
        self._file = fileobj
        self._on_error = on_error
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._base_line = 1  # line number of self._buf[0]
        self._dropped = 0  # characters dropped from the buffer's front so far
        self._raw_lines = 1  # lines in the bytes read so far (for decode errors)
        self._eof = False
        self.container_key: str | None = None  # the key holding the records, for an object document
        if skip_bytes:
            fileobj.read(skip_bytes)

    # -- buffer ---------------------------------------------------------------------------------
    def _read_more(self, size: int = CHUNK) -> bool:
        if self._eof:
            return False
        raw = self._file.read(size)
        try:
            text = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            line = self._raw_lines + raw.count(b"\n", 0, exc.start)
            byte = f"0x{raw[exc.start]:02x}" if raw else "a cut multi-byte character at the end"
            raise DatasetFormatError(
                f"bytes that are not UTF-8 ({byte}); the file looks Latin-1 or Windows-1252 "
                "encoded: save it as UTF-8 and upload it again", line) from None
        self._raw_lines += raw.count(b"\n")
        if not raw:
            self._eof = True
        if self._pos > CHUNK:  # drop what was consumed
            self._base_line += self._buf.count("\n", 0, self._pos)
            self._dropped += self._pos
            self._buf = self._buf[self._pos:]
            self._pos = 0
        self._buf += text
        return bool(raw)

    def line_at(self, pos: int) -> int:
        return self._base_line + self._buf.count("\n", 0, pos)

    def _peek(self) -> str:
        """The next non-blank character ('' at the end of the file), consuming the blanks."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._read_more():
                return ""

    def _expect(self, allowed: str, what: str) -> str:
        char = self._peek()
        if not char or char not in allowed:
            found = f"{char!r}" if char else "the end of the file (truncated?)"
            raise DatasetFormatError(f"bad JSON: expected {what}, found {found}", self.line_at(self._pos))
        self._pos += 1
        return char

    def _value(self) -> Any:
        """Decode the value at the cursor, reading more text while it may be cut by the buffer's end."""
        self._peek()
        size = CHUNK
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof or len(self._buf) - self._pos > MAX_RECORD_CHARS:
                    hint = " (the file may be truncated)" if self._eof else ""
                    raise DatasetFormatError(f"bad JSON: {exc.msg} (column {exc.colno}){hint}",
                                             self.line_at(exc.pos)) from None
                self._read_more(size)
                size *= 2
                continue
            if end == len(self._buf) and not self._eof and self._read_more(size):
                continue  # a number at the buffer's end might continue in the next chunk
            self._pos = end
            return value

    # -- document -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[int | None, dict]]:
        """Yield ``(line or None, record)``; the line is only computed for the first few records."""
        first = self._peek()
        if first == "[":
            self._pos += 1
            yield from self._array(require_objects=True)
        elif first == "{":
            self._pos += 1
            yield from self._object()
        elif not first:
            raise DatasetFormatError("The file is empty.")
        else:
            raise DatasetFormatError(
                "JSON datasets must be a list of objects, or an object holding such a list (e.g. under "
                f"\"data\"); this one starts with {first!r}", self.line_at(self._pos))
        if self._peek():
            raise DatasetFormatError(
                "extra data after the end of the JSON document (is it JSON Lines? name it .jsonl)",
                self.line_at(self._pos))

    def _object(self) -> Iterator[tuple[int | None, dict]]:
        keys: list[str] = []
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                self._expect('"', "a key in double quotes")
                self._pos -= 1
                key = self._value()
                self._expect(":", "':' after a key")
                if self.container_key is None and self._peek() == "[":
                    self._pos += 1
                    found = False
                    for item in self._array(require_objects=False):
                        found = True
                        self.container_key = key
                        yield item
                    if not found:
                        keys.append(key)
                else:
                    self._value()
                    keys.append(key)
                if self._expect(",}", "',' or '}'") == "}":
                    break
        if self.container_key is None:
            listed = ", ".join(repr(k) for k in keys[:10]) or "none"
            raise DatasetFormatError(
                f"no list of records found in the JSON object (its keys: {listed}); put the records in a "
                "list, e.g. {\"data\": [{...}, ...]}")

    def _array(self, require_objects: bool) -> Iterator[tuple[int | None, dict]]:
        """Items of the list at the cursor (just after '['). Without ``require_objects`` a list that does
        not start with an object is consumed silently (it is some other field)."""
        index = 0
        records = True
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            self._peek()
            start = self._dropped + self._pos
            item = self._value()
            index += 1
            if index == 1 and not isinstance(item, dict) and not require_objects:
                records = False
            if records:
                if isinstance(item, dict):
                    yield (self.line_at(start - self._dropped) if index <= 20 else None), item
                else:
                    error = DatasetFormatError(f"item {index} is a {type(item).__name__}, expected an object",
                                               self.line_at(start - self._dropped))
                    if self._on_error is None:
                        raise error
                    self._on_error(error)
            if self._expect(",]", "',' or ']' between items") == "]":
                return
            if self._peek() == "]":
                raise DatasetFormatError("bad JSON: a ',' before ']' (trailing comma)", self.line_at(self._pos))
