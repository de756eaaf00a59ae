"""Tunewright's command line (``python -m cli`` or the ``tunewright`` console script) and its Python entry.

``run_training(config_path)`` trains from a config file through the studio's engine and database, as
``tunewright train --config`` does, and returns a :class:`cli.train.TrainingResult`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cli.train import TrainingResult

__all__ = ["run_training"]


def run_training(config_path: Any, server: str | None = None, session_id: str | None = None,
                 progress: bool = True) -> "TrainingResult":
    """Train from ``config_path`` (saved-config JSON, YAML sections or the short form) to the end.

    Raises ``cli.config_file.ConfigFileError`` (its ``errors`` list each problem with its path) for a bad
    config. Imported lazily: ``import cli`` stays cheap.
    """
    from cli.train import run_training as _run

    return _run(config_path, server=server, session_id=session_id, progress=progress)
