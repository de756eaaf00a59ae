"""The job API for scripts (routes/api_v1/jobs.py, ``/api/v1/jobs``): a job is a training session in a flat,
stable shape (services/jobs.py).

The create body is not the training start's (``StartTraining``): it has flat shortcuts for the common settings
and no ``config_name`` or ``session_id``. What is the same is shared: the queue ``priority`` and the partial
training ``config``; each shortcut takes the type and bounds of the config field it fills."""
from __future__ import annotations

from typing import Annotated, Any

from core.training_config import Method, TrainingConfig
from routes.schemas.common import Field, In, JsonObject, Out
from routes.schemas.training import Priority
from services.ids import MAX_ID
from services.jobs import SHORTCUTS


def _like(section: str | None, key: str, description: str = "") -> Any:
    """The type and bounds of the training config's ``section.key`` (or top-level ``key``), optional (None or
    absent: the config's default); ``Annotated[...]`` to be used as a field's annotation."""
    model = TrainingConfig if section is None else TrainingConfig.model_fields[section].annotation
    info = model.model_fields[key]
    where = f"config.{section}.{key}" if section else f"config.{key}"
    return Annotated[(info.annotation | None, *info.metadata,
                      Field(None, description=description or f"Sets {where}: {info.description}"))]


class JobCreate(In):
    """Unknown keys are refused by the job service with the list of accepted ones (anything else goes in
    ``config``)."""

    name: _like(None, "name")
    description: _like(None, "description")
    training_type: Method = Field("grpo", description="The training method (GET /api/training/methods says "
                                                      "which run on this server).")
    model_name: _like("model", "name", "Sets config.model.name: a Hub id (org/name), catalogue id, local folder "
                                       "or an Ollama tag such as llama3.2:3b (mapped to its Hub checkpoint).")
    dataset_id: int | None = Field(None, ge=1, le=MAX_ID, description="A stored dataset (GET /api/datasets/list); "
                                                                      "sets config.dataset.source to dataset:<id>.")
    dataset: _like("dataset", "source", "Sets config.dataset.source: builtin:<name>, dataset:<id> or a Hub id "
                                        "(ignored with dataset_id).")
    epochs: _like("training", "num_epochs", "Sets config.training.num_epochs, and the epochs of the standard, "
                                            "qlora and unsloth sections.")
    batch_size: _like(*SHORTCUTS["batch_size"])
    learning_rate: _like(*SHORTCUTS["learning_rate"])
    max_sequence_length: _like(*SHORTCUTS["max_sequence_length"])
    gradient_accumulation_steps: _like(*SHORTCUTS["gradient_accumulation_steps"])
    max_samples: _like(*SHORTCUTS["max_samples"])
    lora_rank: _like(*SHORTCUTS["lora_rank"])
    lora_alpha: _like(*SHORTCUTS["lora_alpha"])
    lora_dropout: _like(*SHORTCUTS["lora_dropout"])
    priority: Priority = "normal"
    config: JsonObject | None = Field(None, description="A partial training config (GET /api/training/schema); "
                                                        "the fields above are applied on top of it.")


class JobLinks(Out):
    self: str
    status: str
    download: str
    deployment: str
    page: str


class Job(Out):
    id: str
    name: str | None = None
    description: str | None = None
    training_type: str
    model_name: str | None = None
    dataset: str | None = Field(None, description="The dataset source (dataset:<id>, builtin:<name>...).")
    dataset_id: int | None = None
    status: str = Field(description="queued, starting, running, stopping, completed, failed, stopped or "
                                    "interrupted.")
    progress: float = Field(description="Percent done (100 when completed).")
    error: str | None = None
    queue_position: int | None = None
    waiting_reason: str | None = None
    output: str = Field(description="<job id>/<output folder>: what GET .../download hands out.")
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    links: JobLinks | dict[str, str]


class JobList(Out):
    jobs: list[Job]


class JobStatus(Out):
    id: str
    status: str
    progress: float
    phase: str | None = None
    waiting_reason: str | None = None
    epoch: float | None = None
    step: int | None = None
    total_steps: int | None = None
    loss: float | None = Field(None, description="The latest logged training loss.")
    eta_seconds: float | None = None
    elapsed_seconds: float | None = None
    error: str | None = None


class JobDeployment(Out):
    session_id: str
    name: str | None = None
    status: str
    method: str
    base_model: str | None = None
    options: list[dict[str, Any]] = Field(default_factory=list, description="Each way to run it (adapter on an "
                                          "Ollama base, whole GGUF): its export, Modelfile, commands, LM Studio "
                                          "steps, or why it is not available.")
    reason: str | None = Field(None, description="Why there is nothing to deploy yet.")
    token_required: bool | None = None
