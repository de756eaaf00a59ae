"""Stream a folder as a ``.tar.gz`` without holding it in memory or on disk.

``tarfile`` writes to a file object; here that object hands each compressed chunk to a bounded queue that
the response generator drains, with the writer in a thread. Memory stays at a few chunks whatever the model
size, and a client that disconnects stops the writer.
"""
from __future__ import annotations

import queue
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

CHUNK_QUEUE = 16
_DONE = object()


class _QueueWriter:
    def __init__(self, chunks: queue.Queue, cancelled: threading.Event):
        self.chunks = chunks
        self.cancelled = cancelled

    def write(self, data: bytes) -> int:
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


def stream_tar_gz(folder: Path, arcname: str) -> Iterator[bytes]:
    chunks: queue.Queue = queue.Queue(maxsize=CHUNK_QUEUE)
    cancelled = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with tarfile.open(fileobj=_QueueWriter(chunks, cancelled), mode="w|gz") as tar:
                for path in files_of(folder):
                    tar.add(path, arcname=f"{arcname}/{path.relative_to(folder).as_posix()}", recursive=False)
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
