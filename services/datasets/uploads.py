"""Receive an upload: stream the multipart body straight into the upload folder, hashing as it goes.

Werkzeug's parser normally spools file parts to a temporary file; we give it a
``stream_factory`` that writes into ``UPLOAD_FOLDER`` under a generated name
instead, so a 10 GB upload is written once, never held in memory, and its size
limit and SHA-256 are checked on the way in.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import IO

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from core.datasets import FILE_FORMATS, detect_format
from core.datasets.readers import format_from_name
from extensions import db
from services.auth.folders import current_owner_folder
from services.auth.scope import new_owner_id
from services.datasets import jobs
from services.datasets.records import DatasetStatus, clean_description, clean_tags, transition
from services.errors import ServiceError
from services.models import DatasetRecord
from services.storage import check_free_disk, remove_stale_files, resolve_inside

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024**3
MULTIPART_SLACK = 1024 * 1024  # boundaries, part headers and the small form fields around the file
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UploadTooLarge(ServiceError):
    status_code = 413


def max_upload_bytes() -> int:
    return int(current_app.config.get("MAX_UPLOAD_BYTES") or DEFAULT_MAX_UPLOAD_BYTES)


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return f"{size} bytes"


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"The file is larger than the upload limit of {human_size(limit)}.")


class _HashingFile:
    """The file a part is written to: counts, hashes and enforces the limit on every write."""

    def __init__(self, path: Path, limit: int):
        self.path = path
        self.limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()
        self._file: IO[bytes] = open(path, "w+b")

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _too_large(self.limit)
        self.sha256.update(data)
        return self._file.write(data)

    def __getattr__(self, name):  # seek, read, close, flush... as the real file
        return getattr(self._file, name)


def display_name(filename: str | None) -> str:
    """The user's file name as shown back to them: no folders, no control characters, NFC, 255 chars max.
    It is only ever stored and displayed; the file on disk gets a generated name."""
    name = unicodedata.normalize("NFC", filename or "")
    name = _CONTROL.sub("", name.replace("\\", "/")).split("/")[-1].strip().lstrip(".")
    return name[:255] or "upload"


def save_upload(request: Request) -> DatasetRecord:
    """Store the multipart field ``file`` (with optional ``name``, ``description``, ``tags``, ``format``) and
    queue its processing. Returns the new row, status Processing."""
    limit = max_upload_bytes()
    request.max_content_length = limit + MULTIPART_SLACK  # Flask >= 3.1: this request only
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise _too_large(limit)
    if request.mimetype != "multipart/form-data":
        raise ServiceError("Upload the dataset as multipart/form-data with the file in the field 'file'.")
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    # Refuse before reading a byte rather than leave a half-written file on a full disk.
    check_free_disk(folder, (request.content_length or 0) + current_app.config.get("MIN_FREE_DISK_BYTES", 0))
    parts: list[_HashingFile] = []

    def stream_factory(total_content_length, content_type, filename, content_length=None):
        part = _HashingFile(resolve_inside(folder, f".incoming-{uuid.uuid4().hex}.part"), limit)
        parts.append(part)
        return part

    parser = FormDataParser(stream_factory=stream_factory, max_form_memory_size=MULTIPART_SLACK,
                            max_content_length=limit + MULTIPART_SLACK, silent=False, max_form_parts=100)
    try:
        try:
            _, form, files = parser.parse(request.stream, request.mimetype, request.content_length,
                                          request.mimetype_params)
        except RequestEntityTooLarge:
            raise _too_large(limit) from None
        except ValueError as exc:
            raise ServiceError(f"The upload could not be read as a multipart form ({exc}).") from None
        upload = files.get("file")
        if upload is None:
            raise ServiceError("No file: send the dataset in the multipart field 'file'.")
        part = upload.stream
        if not isinstance(part, _HashingFile) or not upload.filename:
            raise ServiceError("The field 'file' must be a file with a name.")
        if part.size == 0:
            raise ServiceError("The file is empty.")
        record = _create_record(part, display_name(upload.filename), form)
    finally:
        for part in parts:
            part.close()
            if part.path.exists():
                part.path.unlink()
    jobs.submit(current_app._get_current_object(), record.id)
    return record


def _create_record(part: _HashingFile, original: str, form) -> DatasetRecord:
    fmt = (form.get("format") or "").strip().lower() or format_from_name(original) or detect_format(part.path)
    if fmt not in FILE_FORMATS:
        raise ServiceError(f"Unsupported format {fmt!r}: use {', '.join(FILE_FORMATS)}.")
    # The caller's folder (``u<id>/`` in accounts mode); ``stored_path`` stays relative to the upload folder.
    root = Path(current_app.config["UPLOAD_FOLDER"])
    folder = current_owner_folder(root)
    target = resolve_inside(folder, f"{uuid.uuid4().hex}.{fmt}")
    stored_name = target.relative_to(root.resolve()).as_posix()
    part.flush()
    os.replace(part.path, target)
    record = DatasetRecord(
        name=(form.get("name") or "").strip()[:255] or Path(original).stem[:255] or "dataset",
        description=clean_description(form.get("description")), tags=clean_tags(form.get("tags")),
        owner_id=new_owner_id(), source_kind="upload", format=fmt, original_filename=original, stored_path=stored_name,
        size_bytes=part.size, sha256=part.sha256.hexdigest(), mapping={}, columns=[], sample_rows=[],
        error_details=[], warnings=[],
    )
    transition(record, DatasetStatus.PROCESSING)
    db.session.add(record)
    try:
        db.session.commit()
    except Exception:
        target.unlink(missing_ok=True)
        raise
    return record


STALE_PART_SECONDS = 600.0


def remove_stale_parts(upload_folder: str) -> int:
    """Half-received uploads left by a crash (``.incoming-*.part``), removed at start."""
    return remove_stale_files(upload_folder, ".incoming-*.part", STALE_PART_SECONDS)
