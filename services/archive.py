"""Stream a folder as a ``.tar.gz`` without holding it in memory or on disk.

``tarfile`` writes to a file object; here that object hands each compressed chunk to a bounded queue that
the response generator drains, with the writer in a thread. Memory stays at a few chunks whatever the model
size, and a client that disconnects stops the writer.

Nothing starts before the response is iterated (a HEAD request costs no thread and no file), and an archive
that cannot be completed - a file vanished, the folder was deleted mid-download - ends the response with an
error instead of a clean, short file.
"""
from __future__ import annotations

import queue
import tarfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

CHUNK_QUEUE = 16
_DONE = object()


class ArchiveIncomplete(OSError):
    """The folder changed under the archive: the download must not end as if it were whole."""


class _QueueWriter:
    def __init__(self, chunks: queue.Queue, cancelled: threading.Event, folder: Path):
        self.chunks = chunks
        self.cancelled = cancelled
        self.folder = folder

    def write(self, data: bytes) -> int:
        if not self.folder.is_dir():
            raise ArchiveIncomplete(f"{self.folder.name} was deleted during the download")
        while True:
            if self.cancelled.is_set():
                raise OSError("download cancelled")
            try:
                self.chunks.put(bytes(data), timeout=0.5)
                return len(data)
            except queue.Full:
                continue

    def flush(self) -> None:
        pass


def files_of(folder: Path) -> list[Path]:
    """Regular files under ``folder`` (symbolic links are left out: they could point outside it)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def named_files(folder: Path, names: Sequence[str]) -> list[Path]:
    """``names`` (relative, in this order) as files inside ``folder``; a name that leads outside it, through a
    symbolic link, or to nothing is an error: the archive would not be what was asked for."""
    from services.storage import resolve_inside

    paths = []
    for name in names:
        path = resolve_inside(folder, name)
        if path.is_symlink() or not path.is_file():
            raise ArchiveIncomplete(f"{name} is missing from {folder.name}")
        paths.append(path)
    return paths


def stream_tar_gz(folder: Path, arcname: str, names: Sequence[str] | None = None) -> Iterator[bytes]:
    """The ``.tar.gz`` of ``folder`` (all its regular files, or only ``names`` in that order) under ``arcname/``."""
    chunks: queue.Queue = queue.Queue(maxsize=CHUNK_QUEUE)
    cancelled = threading.Event()
    errors: list[BaseException] = []
    folder = Path(folder)

    def write() -> None:
        try:
            paths = files_of(folder) if names is None else named_files(folder, names)
            with tarfile.open(fileobj=_QueueWriter(chunks, cancelled, folder), mode="w|gz") as tar:
                for path in paths:
                    tar.add(path, arcname=f"{arcname}/{path.relative_to(folder).as_posix()}", recursive=False)
                if not folder.is_dir():  # deleted while its last file was read from an open handle
                    raise ArchiveIncomplete(f"{folder.name} was deleted during the download")
        except BaseException as exc:  # reported to the reader below
            errors.append(exc)
        finally:
            while not cancelled.is_set():
                try:
                    chunks.put(_DONE, timeout=0.5)
                    break
                except queue.Full:
                    continue

    thread = threading.Thread(target=write, name=f"tar-{arcname}", daemon=True)
    thread.start()
    try:
        while True:
            chunk = chunks.get()
            if chunk is _DONE:
                break
            yield chunk
        if errors:  # a file vanished or could not be read: end the response as an error, not a short file
            raise errors[0]
    finally:
        cancelled.set()
