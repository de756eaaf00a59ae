"""What every training method offers the service, the worker and the UI.

A method is a small object with a name, whether it needs a GPU, the folders it writes under
``outputs/<session_id>/``, a reason it cannot run here (or None), and ``run(job)``. All methods take the same
:class:`core.training.runner.TrainingJob` (config, model path, rows, output folder, emit, should_stop), so the
worker and the supervisor treat them alike: jobs and sessions stay one thing.
"""
from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from core.training.runner import TrainingJob


@runtime_checkable
class TrainingMethod(Protocol):
    name: str
    label: str
    description: str
    requires_gpu: bool
    outputs: tuple[str, ...]  # folders under outputs/<session_id>/, the first is the one a download returns

    def unavailable_reason(self) -> str | None:
        """Why this method cannot run on this machine, in a sentence the UI shows; None when it can."""

    def run(self, job: "TrainingJob") -> str:
        """Train; returns ``"completed"`` or ``"stopped"`` (raises on failure)."""


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def package_installed(name: str) -> bool:
    """Installed without importing it (importing Unsloth on a CPU raises, and patches transformers)."""
    return importlib.util.find_spec(name) is not None


def describe(method: TrainingMethod) -> dict:
    """The JSON shape of ``GET /api/training/methods``."""
    reason = method.unavailable_reason()
    return {"name": method.name, "label": method.label, "description": method.description,
            "requires_gpu": method.requires_gpu, "outputs": list(method.outputs), "available": reason is None,
            "reason": reason}
