"""How a training child is kept from hurting the machine, and what it tells the user when it dies of a resource.

Two resources end runs in ways whose raw errors say little: memory (torch's ``DefaultCPUAllocator: can't allocate
memory``, a bare ``MemoryError``, a native abort) and disk space (safetensors' ``IoError(... StorageFull ...)``,
torch's ``PytorchStreamWriter failed writing file``). :func:`failure_message` turns both into a sentence that names
the resource, the limit and what to do, whichever library raised; any other error keeps its own text.

No ML library is imported here: the supervisor (in the server) uses it too.
"""
from __future__ import annotations

import errno
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
MIN_MEMORY_LIMIT = 64 * 1024**2  # below this not even the interpreter starts: surely a typo ("512" for "512M")
DISK_FULL_FREE_BYTES = 1024**2  # an error while this little is free on the output folder's disk: the disk is full
SIGNAL_DEATHS = (-6, -7, -11)  # SIGABRT, SIGBUS, SIGSEGV: how native code dies when an allocation fails

_OOM_TEXT = ("can't allocate memory", "cannot allocate memory", "out of memory", "std::bad_alloc",
             "failed to map segment", "memoryerror")
_OOM_TEXT_UNDER_LIMIT = ("can't start new thread", "resource temporarily unavailable")
_NATIVE_ERRORS = (SystemError, RuntimeError, ImportError, OSError)  # how C extensions surface a failed allocation
_DISK_FULL_TEXT = ("no space left on device", "storagefull", "disk quota exceeded", "enospc")


def parse_size(value: str | int | None) -> int | None:
    """Bytes from ``"4G"``, ``"512M"``, ``"1.5GiB"``, ``"800k"`` or a plain number of bytes; ``None``, ``""`` and
    ``"0"`` mean no limit. Raises ValueError with the accepted forms for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a size: give bytes, or a number with K, M, G or T (e.g. 4G)")
        size = int(float(match.group(1)) * _UNITS[match.group(2).lower() if match.group(2) else None])
    if size <= 0:
        return None
    if size < MIN_MEMORY_LIMIT:
        raise ValueError(f"{value!r} is {size} bytes: a training process needs far more (e.g. 4G)")
    return size


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


def apply_memory_limit(limit: int | None) -> None:
    """Cap this process's address space (RLIMIT_AS, soft and hard). An allocation beyond it then fails inside the
    training child, which reports it, instead of the machine swapping or the kernel's OOM killer picking a victim
    (possibly the web server). Called first thing in the child, before torch is imported: every library's memory
    counts, reserved virtual memory included."""
    if not limit:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it was raised from or during (a library's wrapper around the OS error)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def peak_address_space() -> int | None:
    """This process's largest address space so far (VmPeak, Linux), or None where /proc does not tell."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def is_out_of_memory(exc: BaseException, limit: int | None = None) -> bool:
    """Whether ``exc`` is an allocation that failed. Native code reports it in many ways (a MemoryError, ENOMEM,
    torch's allocator message, a shared library that cannot be mapped, even "error return without exception set"),
    so under a limit a native-looking error (not a plain Python one such as a ValueError) raised once the process's
    peak address space had reached 90 % of it counts too."""
    if limit and isinstance(exc, _NATIVE_ERRORS):
        peak = peak_address_space()
        if peak is not None and peak >= 0.9 * limit:
            return True
    for item in _chain(exc):
        if isinstance(item, MemoryError) or (isinstance(item, OSError) and item.errno == errno.ENOMEM):
            return True
        text = f"{type(item).__name__}: {item}".lower()
        if any(part in text for part in _OOM_TEXT) or (limit and any(part in text for part in _OOM_TEXT_UNDER_LIMIT)):
            return True
    return False


def _free_bytes(folder: Path) -> int | None:
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def disk_full_error(exc: BaseException, folder: Path | None) -> BaseException | None:
    """The error in ``exc``'s chain that says the disk is full, or None. Libraries that write files in native
    code wrap ENOSPC in their own words (or lose it: torch says only "file write failed"), so a write error while
    the output folder's disk has almost nothing free counts as well."""
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, OSError) and item.errno in (errno.ENOSPC, errno.EDQUOT):
            return item
    texts = [(item, f"{type(item).__name__}: {item}".lower()) for item in chain]
    for item, text in texts:
        if any(part in text for part in _DISK_FULL_TEXT):
            return item
    if folder is not None:
        free = _free_bytes(folder)
        if free is not None and free < DISK_FULL_FREE_BYTES:
            for item, text in texts:
                if isinstance(item, OSError) or any(part in text for part in ("write", "serializ", "save")):
                    return item
    return None


def out_of_memory_message(limit: int | None, detail: str = "") -> str:
    head = f"The training process ran out of memory (limit {format_size(limit)}, TUNEWRIGHT_TRAINING_MEMORY_LIMIT)" \
        if limit else "The training process ran out of memory"
    return (f"{head}. Lower the batch sizes (training.batch_size, pre_training.batch_size), num_generations, "
            "max_new_tokens or max_sequence_length"
            + (", or raise the limit" if limit else "") + "; resume continues from the latest checkpoint."
            + (f" ({detail})" if detail else ""))


def disk_full_message(error: BaseException, folder: Path | None) -> str:
    filename = getattr(error, "filename", None)
    what = f" while writing {filename}" if filename else ""
    free = _free_bytes(folder) if folder is not None else None
    room = f" ({format_size(free)} free)" if free is not None else ""
    return (f"The disk is full: no space left on the disk of the session's output folder {folder}{room}{what}. "
            "What was being written is incomplete: a checkpoint cut short is never resumed from nor offered as a "
            "model. Free some space, then resume: the run continues from its latest complete checkpoint. "
            f"({type(error).__name__}: {str(error)[:300]})")


def failure_message(exc: BaseException, memory_limit: int | None = None, output_dir: Path | None = None) -> str:
    """The session's error for an exception that ended a training run: out of memory and a full disk in plain
    words, anything else as ``Type: message``."""
    full = disk_full_error(exc, output_dir)
    if full is not None:
        return disk_full_message(full, output_dir)
    if is_out_of_memory(exc, memory_limit):
        text = str(exc)[:300]
        return out_of_memory_message(memory_limit, type(exc).__name__ + (f": {text}" if text else ""))
    return f"{type(exc).__name__}: {exc}"


def exit_message(exitcode: int | None, signal_name: str | None, memory_limit: int | None) -> str:
    """Why a child that died without a word ended: its exit code, and the memory limit when a native crash under
    one is most likely an allocation that failed."""
    text = f"The training process exited with code {exitcode}" + (f" ({signal_name})" if signal_name else "") + "."
    if memory_limit and exitcode in SIGNAL_DEATHS:
        text = (f"The training process ran out of memory (limit {format_size(memory_limit)}): it crashed in native "
                f"code with code {exitcode}" + (f" ({signal_name})" if signal_name else "") + ", as allocations "
                "fail under TUNEWRIGHT_TRAINING_MEMORY_LIMIT. Lower the batch size or sequence lengths, or raise the "
                "limit.")
    return text
