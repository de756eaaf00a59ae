"""Projects (routes/projects.py): the body is core.projects.spec's ``ProjectBody``, the one validator of the API,
the wizard and the CLI; here only what the routes add around it."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import create_model

from core.projects.mix_plan import SourcePlan
from core.projects.spec import MixOptions, ProjectBody, Trait
from routes.contract import ErrorDetail
from routes.schemas.common import Field, In, Out
from routes.schemas.training import Priority


def _partial(model: type[ProjectBody], name: str, doc: str) -> type[ProjectBody]:
    """``model`` with every field optional (absent: unchanged), each with the same type, bounds and description,
    and the same config (unknown keys refused): PATCH's body, derived so it cannot drift from the body's rules."""
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[key] = (annotation | None, Field(None, description=info.description))
    return create_model(name, __config__=model.model_config, __doc__=doc, __module__=__name__, **fields)


ProjectChanges = _partial(ProjectBody, "ProjectChanges",
                          "Fields of the project body to change; the rest are kept. The merged body is validated "
                          "whole, with the same rules as create.")


class ProjectStart(In):
    priority: Priority = Field("normal", description="The run's place in the training queue.")


class Project(Out):
    id: int
    name: str
    description: str = ""
    base_model: str
    training_type: str
    max_rows: int
    output_dir: str | None = Field(None, description="The resolved folder of the project's runs.")
    traits: list[Trait | dict[str, Any]] = Field(default_factory=list)
    mix: MixOptions | dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    owner_id: int | None = None
    status: str = Field(description="draft until started; then its latest run's status (queued, running, "
                                    "completed, failed, stopped...).")
    session_id: str | None = Field(None, description="The latest run's session.")
    manifest_sha256: str | None = Field(None, description="SHA-256 of the latest run's frozen mix manifest.")
    validation: dict[str, Any] | None = Field(None, description="The latest post-training validation "
                                                                "(POST .../validate's answer).")
    error: str | None = Field(None, description="Why the latest run failed.")
    created_at: str
    updated_at: str


class ProjectEnvelope(Out):
    project: Project


class ProjectList(Out):
    projects: list[Project]


class ProjectCheck(Out):
    valid: bool
    errors: list[ErrorDetail | dict[str, Any]] = Field(default_factory=list,
                                                          description="Every problem at once (empty when valid).")
    output_dir: str | None = Field(None, description="Where the runs would be written (when valid).")
    max_rows: int | None = None


# One source's part of the mix: core/projects/mix_plan.py's dataclass itself (pydantic documents and checks it).
MixSourcePlan = SourcePlan


class MixPreview(Out):
    max_rows: int
    unit: str
    upsample: bool
    eval_rows_per_trait: int
    total_rows: int
    total_eval_rows: int
    traits: dict[str, dict[str, Any]] = Field(description="Per trait: share, requested_rows, rows, eval_rows, "
                                                          "shortfall, share_of_rows, share_of_tokens.")
    sources: list[MixSourcePlan | dict[str, Any]]
    warnings: list[str] = Field(default_factory=list)
    tokens_note: str | None = Field(None, description="How the tokens were counted (the base model's tokenizer, "
                                                      "or an estimate).")


class MixPreviewEnvelope(Out):
    preview: MixPreview


class ProjectManifest(Out):
    manifest: dict[str, Any] = Field(description="The frozen mix of the latest run: sources with checksums and "
                                                 "counts, per-trait counts, file hashes (its manifest.json).")


class ProjectValidation(Out):
    passed: bool
    checks: list[dict[str, Any]] = Field(default_factory=list, description="[{name, passed, detail}]")
    session_id: str | None = None
    checked_at: str | None = None
