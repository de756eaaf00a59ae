"""The wizard's draft config and its look-ups (routes/wizard.py). A draft PATCH is a partial training config at
the root: documented as core/training_config.py's TrainingConfig (every field optional), validated by
services/wizard_draft.py after merging, which lists every problem with its path and a hint."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field as PydanticField, RootModel

from routes.schemas.checked import AsTrainingConfig, Checked
from routes.schemas.common import Field, In, Out, SessionId


class WizardDraftPatch(RootModel[AsTrainingConfig]):
    """The fields to change, as a partial training config (GET /api/training/schema): objects merge key by key,
    lists and values replace what the draft held. The merged draft must be a valid config, or nothing changes."""


class WizardDraftSource(In):
    """``{name}`` or ``{session_id}``."""

    name: Checked("A saved config or preset (GET /api/configs/list) to start from.", type=["string", "null"],
                  maxLength=100) = None
    session_id: SessionId | None = Field(None, description="A session whose config to start from (duplicate a run).")


class WizardModelQuery(In):
    name: str = Field("", max_length=500, description="A Hub id, catalogue id or local folder (a config's "
                                                      "model.name).")


class WizardDraft(Out):
    config: Annotated[AsTrainingConfig, PydanticField(description="The draft: a whole, valid training config.")]
    updated_at: str | None = Field(None, description="When it last changed; null: the defaults, not stored yet.")
    saved: bool = Field(description="Whether a draft is stored (a browser that only looks stores nothing).")


class WizardGpu(Out):
    index: int
    name: str
    memory_total_mb: int | None = None


class WizardModelInfo(Out):
    name: str
    availability: str = Field(description="ready, bundled, local, cached, downloadable or unavailable.")
    available: bool
    reason: str | None = None
    catalogued: bool = Field(description="Whether the studio's catalogue knows the model's size.")
    params_b: float | None = Field(None, description="Parameters, in billions.")
    vram_lora_gb: float | None = None
    vram_full_gb: float | None = None
    gpus: list[WizardGpu]
    fits: bool | None = Field(None, description="Whether LoRA on it fits the largest GPU; null: unknown or no GPU.")
    hardware: str = Field(description="What this machine means for training it, in words.")


class WizardMemory(Out):
    device: str = Field(description="gpu or cpu.")
    weights_gb: float | None = None
    vram_lora_gb: float | None = None
    fits: bool | None = None
    message: str


class WizardEstimate(Out):
    effective_batch: int
    completions_per_step: int
    prompts_per_epoch: int | None = Field(None, description="null: only loading the dataset would tell.")
    grpo_steps: int | None = None
    sft_steps: int | None = None
    seconds_per_step: float | None = Field(None, description="The median of earlier runs of this model.")
    measured_steps: int = Field(description="How many steps that median is of.")
    estimated_seconds: int | None = None
    memory: WizardMemory
