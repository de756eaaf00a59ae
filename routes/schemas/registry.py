"""The model registry (routes/registry.py) and comparing its versions (routes/registry_compare.py). The compare
body is services/registry/compare.py's ``CompareRequest``, the model the service validates with."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import StrictBool, StringConstraints

from routes.schemas.common import Field, In, Name, Out, SessionId
from services.registry.compare import MAX_VERSIONS, MIN_VERSIONS
from services.registry.status import TYPES, VersionStatus

# The Models page's filters send "" for "all".
TypeFilter = Literal[("", *TYPES)]
StatusFilter = Literal[("", *(status.value for status in VersionStatus))]
Flag = Literal["0", "1"]
VersionRef = Annotated[str, StringConstraints(max_length=200)]


class RegistryModelsQuery(In):
    q: str | None = Field(None, max_length=200, description="Only models whose name contains this.")
    type: TypeFilter | None = Field(None, description="Only versions of this type (empty: all).")
    status: StatusFilter | None = Field(None, description="Only versions in this status (empty: all).")
    all: Flag | None = Field(None, description="1: every user's models (admins; others see their own anyway).")


class RegisterVersion(In):
    """One of ``session_id`` or ``export_id``."""

    session_id: SessionId | None = Field(None, description="A completed training session of yours.")
    export_id: SessionId | None = Field(None, description="A completed export of yours.")
    name: Name | None = Field(None, description="The model to add the version to: 1-100 characters of a-z, 0-9, "
                                                "'.', '_' and '-', starting with a letter or digit; default: from "
                                                "the session's name.")


class SetAlias(In):
    version: int | Annotated[str, StringConstraints(max_length=20)] = Field(
        description="The version number the alias points at (3, or \"v3\").")


class ArchiveVersion(In):
    archived: StrictBool = Field(True, description="false restores an archived version to ready.")


class RegistryVersion(Out):
    name: str
    version: int
    ref: str = Field(description="name:v<version>, what /v1 and compare take.")
    digest: str = Field(description="sha256:<hex> over the weight files: the same weights are one version.")
    type: str = Field(description=", ".join(TYPES) + ".")
    framework: str = Field(description="transformers, peft, gguf or faiss.")
    base_model: str | None = None
    method: str | None = None
    status: str = Field(description="ready, deployed or archived.")
    status_reason: str | None = Field(None, description="Why it is in this status (a failed deploy, an "
                                                        "eviction).")
    size_bytes: int | None = None
    owner_id: int | None = None
    session_id: str | None = None
    export_id: str | None = None
    created_at: str | None = None
    aliases: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    files: list[dict[str, Any]] = Field(default_factory=list, description="[{name, size, sha256}]")
    deployment: dict[str, Any] | None = Field(None, description="The last deploy attempt: backend, smoke check, "
                                                                "pid, when and why it stopped.")
    lineage: dict[str, Any] | None = Field(None, description="Config, datasets, reward and exports of the run "
                                                             "(not in every answer).")


class RegistryVersionEnvelope(Out):
    version: RegistryVersion


class RegisteredVersion(Out):
    version: RegistryVersion
    created: bool = Field(description="false: these weights were registered already; this is that version.")


class RegistryModel(Out):
    name: str
    owner_id: int | None = None
    description: str | None = None
    created_at: str | None = None
    aliases: dict[str, int] = Field(default_factory=dict, description="alias -> version number.")
    versions: list[RegistryVersion]


class RegistryModelList(Out):
    models: list[RegistryModel]


class CompareQuery(In):
    v: list[VersionRef] = Field(min_length=MIN_VERSIONS, max_length=MAX_VERSIONS,
                                description=f"{MIN_VERSIONS} to {MAX_VERSIONS} version references (name:v1, "
                                            "name@alias), repeated: ?v=a:v1&v=b:v2.")
    differences_only: Flag | None = Field(None, description="1: only the config keys that differ.")


class CompareVersion(RegistryVersion):
    config_hash: str | None = None


class ConfigDiffRow(Out):
    key: str = Field(description="Dotted config key (training.learning_rate).")
    values: list[Any] = Field(description="Each version's value (null where it lacks the key).")
    present: list[bool]
    differs: bool


class CompareOverview(Out):
    versions: list[CompareVersion]
    config_diff: list[ConfigDiffRow]
    differences_only: bool
    curves: dict[str, list[list[list[float]] | None]] = Field(
        description="reward, kl, completion_length: per version [[global_step, value], ...], or null when its run "
                    "logged none.")


class CompareAnswer(Out):
    ref: str
    model_id: str
    text: str
    tokens: int
    seconds: float
    score: float
    components: dict[str, Any] = Field(default_factory=dict, description="The reward's components' scores.")


class CompareRow(Out):
    prompt: str
    expected: str | None = Field(None, description="The dataset row's answer (null for typed prompts).")
    answers: list[CompareAnswer]


class CompareAnswers(Out):
    versions: list[str]
    settings: dict[str, Any]
    scored_with: str = Field(description="The version whose run's reward scored every answer.")
    reward: dict[str, Any]
    rows: list[CompareRow]
    mean_scores: list[float]
