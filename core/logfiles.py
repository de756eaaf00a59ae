"""Log files readable by their owner only (0600), whatever the umask: logs hold prompts, paths and tracebacks
that other users of a shared machine should not read.

``open_log`` is how every process of the studio creates its log (the server's rotating log, ``inference.log``,
a session's ``train.log``, an export's log). A file made before this rule is narrowed to 0600 when reopened.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

PRIVATE_MODE = 0o600


def private_opener(path: str | os.PathLike, flags: int) -> int:
    """An ``opener`` for :func:`open`: create with mode 0600 and narrow an existing file to it."""
    fd = os.open(path, flags, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
    except OSError:  # not our file (another user's, a read-only mount): leave its mode alone
        pass
    return fd


def open_log(path: str | os.PathLike) -> TextIO:
    """``path`` opened for appending, line-buffered UTF-8, owner-only; its folder is created."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a", buffering=1, encoding="utf-8", opener=private_opener)
