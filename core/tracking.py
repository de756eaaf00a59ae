"""Experiment tracking: which of TRL's ``report_to`` integrations a run also sends its metrics to, and the
environment each one needs.

Our own database keeps every metric whatever is chosen here (comparison works offline and has no gaps); a
tracker is a copy for people who already live in TensorBoard, MLflow, Trackio or W&B. Every trainer we build
takes its ``report_to`` and run name from :func:`tracking_plan`, so there is one place that decides where
files go. Local stores always land inside the run folder (DESIGN §8: no path from a request chooses where the
child writes). Credentials never appear here: they reach the child's environment from the owner's encrypted
secrets (services/auth/secrets.py), named by :attr:`Tracker.secrets`.
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.training_config import TrainingConfig


@dataclass(frozen=True)
class Tracker:
    name: str  # TRL / transformers' report_to name
    label: str
    module: str  # import name, checked with find_spec (never imported: wandb and mlflow are slow to import)
    package: str  # what `pip install` needs
    description: str
    secrets: tuple[str, ...] = ()  # environment variables the owner's stored secrets may fill for this tracker


TRACKERS: dict[str, Tracker] = {t.name: t for t in (
    Tracker("tensorboard", "TensorBoard", "tensorboard", "tensorboard",
            "Event files in the run folder (tensorboard/<phase>/); view them with `tensorboard --logdir`."),
    Tracker("mlflow", "MLflow", "mlflow", "mlflow",
            "A local mlruns/ store in the run folder, or the server in training.mlflow_tracking_uri.",
            ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")),
    Tracker("trackio", "Trackio", "trackio", "trackio",
            "Local-first: a store in the run folder (trackio/); `trackio show` opens its dashboard.",
            ("HF_TOKEN",)),
    Tracker("wandb", "Weights & Biases", "wandb", "wandb",
            "Online with your WANDB_API_KEY secret; without one the run is kept offline in the run folder "
            "(wandb/) for a later `wandb sync`.",
            ("WANDB_API_KEY",)),
)}

# What a user may store as a secret: the union of the trackers' credential variables.
SECRET_NAMES: tuple[str, ...] = tuple(sorted({name for t in TRACKERS.values() for name in t.secrets}))
DEFAULT_PROJECT = "tunewright"


def installed_trackers() -> dict[str, bool]:
    """Each known tracker and whether its package is importable here: what the Config step offers and what
    validation accepts (the same answer for both)."""
    return {name: importlib.util.find_spec(t.module) is not None for name, t in TRACKERS.items()}


def missing_trackers(names: Iterable[str]) -> list[str]:
    """The names among ``names`` whose package is not installed on this machine."""
    installed = installed_trackers()
    return [name for name in names if name in installed and not installed[name]]


def describe_trackers() -> list[dict[str, Any]]:
    """The JSON of ``GET /api/training/trackers``."""
    installed = installed_trackers()
    return [{"name": t.name, "label": t.label, "description": t.description, "installed": installed[t.name],
             "install": f"pip install {t.package}", "secrets": list(t.secrets)} for t in TRACKERS.values()]


def secrets_for(report_to: Iterable[str]) -> list[str]:
    """The secret names the requested trackers may use (the only ones a run's child receives)."""
    return sorted({name for tracker in report_to if tracker in TRACKERS for name in TRACKERS[tracker].secrets})


@dataclass
class TrackingPlan:
    """What one trainer needs: keyword arguments for its TRL config and the environment the integrations read
    when the trainer is built and when training starts (apply it with :meth:`environment`)."""

    args: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def environment(self) -> Iterator[None]:
        """Set :attr:`env` for the block and restore the previous values after it: the integrations read the
        environment, and a test (or a later phase) in the same process must not inherit another run's folders."""
        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def tracking_plan(config: "TrainingConfig", output_dir: Path | str, phase: str) -> TrackingPlan:
    """``report_to`` and the per-tracker environment for one trainer phase (``sft`` or ``grpo``) of a run whose
    folder is ``output_dir``. With no tracker this is ``report_to="none"`` and an empty environment."""
    t = config.training
    report_to = list(t.report_to)
    if not report_to:
        return TrackingPlan(args={"report_to": "none"})
    root = Path(output_dir).resolve()
    project = t.tracking_project or DEFAULT_PROJECT
    args: dict[str, Any] = {"report_to": report_to, "run_name": f"{config.name}-{root.name}-{phase}"}
    env: dict[str, str] = {}
    if "tensorboard" in report_to:
        env["TENSORBOARD_LOGGING_DIR"] = str(root / "tensorboard" / phase)
    if "mlflow" in report_to:
        env["MLFLOW_TRACKING_URI"] = t.mlflow_tracking_uri or (root / "mlruns").as_uri()
        env["MLFLOW_EXPERIMENT_NAME"] = project
    if "trackio" in report_to:
        env["TRACKIO_DIR"] = str(root / "trackio")
        args["project"] = project
    if "wandb" in report_to:
        env["WANDB_PROJECT"] = project
        env["WANDB_DIR"] = str(root)
        if not os.environ.get("WANDB_API_KEY"):
            env["WANDB_MODE"] = "offline"  # never a login prompt in a child without a terminal
    return TrackingPlan(args=args, env=env)
