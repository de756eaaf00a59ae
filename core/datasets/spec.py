"""What the training engine asks for: a dataset spec that survives a trip through JSON, and its errors."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SPEC_KINDS = ("builtin", "file", "hub")
FILE_FORMATS = ("json", "jsonl", "csv", "parquet")


class DatasetUnavailableError(Exception):
    """The dataset cannot be read here and now (Hub offline and not cached, unknown Hub id, missing file)."""


class DatasetFormatError(ValueError):
    """A file that cannot be read as its format, with where it went wrong (1-based line or row)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class FieldMapping:
    """Which columns hold the prompt and the reply.

    Either ``instruction`` (with an optional ``input`` appended to it) and
    ``response``, or ``messages`` (a chat list with roles). ``system`` names an
    optional per-row system prompt column.
    """

    instruction: str | None = None
    response: str | None = None
    input: str | None = None
    messages: str | None = None
    system: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FieldMapping:
        data = data or {}
        return cls(**{f.name: (data.get(f.name) or None) for f in fields(cls)})

    def is_usable(self) -> bool:
        return bool(self.messages or self.instruction)

    def merged(self, **overrides: str | None) -> FieldMapping:
        """A copy with the non-empty ``overrides`` applied."""
        data = asdict(self)
        data.update({k: v for k, v in overrides.items() if v})
        return FieldMapping.from_dict(data)


@dataclass
class DatasetSpec:
    """A dataset the engine can read without the web app: a built-in set, a local file or a Hub dataset.

    ``name`` is the built-in name, the absolute file path, or the Hub id (a
    local folder path also works for "hub", through the same ``datasets`` code).
    """

    kind: str
    name: str
    format: str | None = None
    split: str = "train"
    config_name: str | None = None
    mapping: FieldMapping = field(default_factory=FieldMapping)
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.mapping, dict):
            self.mapping = FieldMapping.from_dict(self.mapping)
        if self.kind not in SPEC_KINDS:
            raise ValueError(f"unknown dataset kind {self.kind!r}; use one of {', '.join(SPEC_KINDS)}")
        if self.kind == "file" and self.format not in FILE_FORMATS:
            raise ValueError(f"file datasets need a format among {', '.join(FILE_FORMATS)}, got {self.format!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSpec:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["mapping"] = FieldMapping.from_dict(data.get("mapping"))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
