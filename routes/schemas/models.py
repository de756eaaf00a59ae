"""The Test step (routes/models.py): the models one can try, generation (one prompt, two models side by side, a
batch), the test history, and reward evaluations of a fine-tune against its base.

Generation requests are bounded by services/generation_input.py (prompt length, sampling settings, model
references): the document states those same bounds, from the same constants, but the models here check only the
types, so a value out of bounds is answered by the service's own message (which names the range and says what
to do)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, WithJsonSchema

from core.inference.limits import MAX_PROMPT_CHARS, MAX_SYSTEM_PROMPT_CHARS
from routes.schemas.common import Field, In, Out, SessionId, many
from services.evaluation import MAX_BATCH, BatchOptions
from services.generation_input import MAX_REFERENCE_CHARS, SETTING_LIMITS


def _setting(name: str, description: str) -> Any:
    """A sampling setting: documented with its bounds; its value is checked by the service (clean_settings), which
    also takes numbers written as text (form fields)."""
    low, high, default = SETTING_LIMITS[name]
    kind = "integer" if isinstance(default, int) else "number"
    return Annotated[Any, WithJsonSchema({"type": kind, "minimum": low, "maximum": high, "default": default,
                                          "description": description})]


def _bounded(description: str = "", **bounds: Any) -> Any:
    """A field whose bounds are documented and left to the service to check (its message is the clearer one)."""
    return Field(None, description=description, json_schema_extra=bounds)


def _requires(*names: str):
    """The document marks ``names`` required; the service says what is missing when they are absent."""
    def extra(schema: dict[str, Any], _model: type) -> None:
        schema["required"] = sorted({*schema.get("required", []), *names})
        for name in names:
            schema["properties"][name].pop("default", None)
    return extra


Temperature = _setting("temperature", "0: greedy.")
TopP = _setting("top_p", "Nucleus sampling.")
MaxTokens = _setting("max_tokens", "New tokens at most.")
Seed = _setting("seed", "The same seed and settings give the same answer.")
REFERENCE_HELP = "An id from GET /api/models/list"


class _Generation(In):
    """What every generation request shares: the model, the system prompt, the sampling settings."""

    model_id: str | None = _bounded(f"{REFERENCE_HELP}: base:<name>, session:<id>[:<checkpoint>] or "
                                    "export:<id>.", maxLength=MAX_REFERENCE_CHARS)
    session_id: str | None = _bounded("A session's final weights (when model_id is not given).",
                                      maxLength=MAX_REFERENCE_CHARS)
    model_path: str | None = _bounded("A model folder or .gguf file inside the outputs, exports or model cache "
                                      "(when model_id is not given).", maxLength=MAX_REFERENCE_CHARS)
    system_prompt: str | None = _bounded("Default: the session's own system prompt.",
                                         maxLength=MAX_SYSTEM_PROMPT_CHARS)
    temperature: Temperature = SETTING_LIMITS["temperature"][2]
    top_p: TopP = SETTING_LIMITS["top_p"][2]
    max_tokens: MaxTokens = SETTING_LIMITS["max_tokens"][2]
    seed: Seed = SETTING_LIMITS["seed"][2]


PROMPT_BOUNDS = {"minLength": 1, "maxLength": MAX_PROMPT_CHARS}


class ModelTestRequest(_Generation):
    model_config = ConfigDict(json_schema_extra=_requires("prompt"))

    prompt: str = _bounded("The user's message.", **PROMPT_BOUNDS)


class ModelCompareRequest(_Generation):
    """The same prompt and settings through two models: model_ids, or session_id for its base and its
    fine-tune."""

    model_config = ConfigDict(json_schema_extra=_requires("prompt"))

    prompt: str = _bounded("The user's message.", **PROMPT_BOUNDS)
    model_ids: list[str] | None = _bounded(f"Two ids ({REFERENCE_HELP}).", minItems=2, maxItems=2,
                                           items={"type": "string", "maxLength": MAX_REFERENCE_CHARS})


class _Batch(_Generation, BatchOptions):
    # Read as a flag (any true value): clients send true, or text such as a split's name.
    dataset_split: bool | str | None = Field(False, description="When true (or any non-empty text): the prompts are "
                                                                "n rows of the session's held-out split.")


class ModelBatchRequest(_Batch):
    """Prompts as a list, or as text (one per line, JSONL or CSV: see filename), or dataset_split."""

    prompts: list[str | dict[str, Any]] | None = _bounded(
        "Prompts, or objects with a prompt (or instruction, question, input) and an optional expected answer.",
        maxItems=MAX_BATCH)
    text: str | None = Field(None, description="Prompts as text: one per line, JSONL or CSV (with filename).")
    filename: str | None = Field(None, description="*.csv, *.jsonl or *.json: how text is read.")


class ModelBatchForm(_Batch):
    """A batch from a prompts file: the file plus the same settings as form fields."""

    file: Annotated[Any, Field(json_schema_extra={"type": "string", "format": "binary"})] = Field(
        description=f"One prompt per line, JSONL or CSV (a prompt column); at most {MAX_BATCH} prompts.")


class ModelHistoryQuery(In):
    limit: int | None = Field(None, description="Runs to return, newest first (1-500, default 50; clamped).")
    model_id: str | None = Field(None, max_length=MAX_REFERENCE_CHARS, description="Only this model's runs.")


class ModelBatchQuery(In):
    format: Literal["json", "csv"] | None = Field(None, description="csv: the results as a CSV file.")


class ModelEvaluationsQuery(In):
    session_id: SessionId | None = Field(None, description="The session whose evaluations are listed.")


# -- responses --------------------------------------------------------------------------------------------------
class ModelTestable(Out):
    id: str = Field(description="What model_id names in the generation requests.")
    kind: str = Field(description="base, session, checkpoint, export-gguf or export-merged.")
    label: str
    session_id: str | None = None
    status: str | None = None
    availability: str | None = None
    verification: str | None = None


class ModelCatalogue(Out):
    models: list[dict[str, Any]] = many("The base-model catalogue (kind base, with model_id).")
    testable: list[ModelTestable] = many("Every model the Test step can pick.")
    sessions: list[ModelTestable] = many("Sessions' final weights and checkpoints.")
    exports: list[ModelTestable] = many("Completed GGUF and merged exports.")


class ModelTestResult(Out):
    model_id: str
    text: str
    tokens: int
    seconds: float
    run_id: int = Field(description="The stored test run (GET /api/models/history).")


class ModelAnswer(Out):
    model_id: str
    text: str
    tokens: int
    seconds: float


class ModelCompareResult(Out):
    prompt: str
    settings: dict[str, Any]
    results: list[ModelAnswer]


class ModelTestRun(Out):
    id: int
    kind: str
    model_id: str
    prompt: str
    settings: dict[str, Any] | None = None
    output: str | None = None
    tokens: int | None = None
    seconds: float | None = None
    scores: dict[str, Any] | None = None
    created_at: str


class ModelHistory(Out):
    runs: list[ModelTestRun]


class ModelBatchRun(Out):
    id: str
    owner_id: int | None = None
    model_id: str
    status: str = Field(description="queued, running, completed, failed or interrupted.")
    total: int
    done: int
    settings: dict[str, Any]
    error: str | None = None
    created_at: str
    results: list[dict[str, Any]] | None = Field(None, description="Each prompt's output, tokens, seconds and "
                                                                   "whether it matched the expected answer.")


class ModelBatchEnvelope(Out):
    batch: ModelBatchRun


class ModelEvaluation(Out):
    id: int
    session_id: str
    owner_id: int | None = None
    status: str = Field(description="running, completed, failed or interrupted.")
    reward: dict[str, Any] | None = None
    n: int | None = None
    result: dict[str, Any] | None = Field(None, description="Once completed: base and fine-tuned means with "
                                                            "95 % intervals, their difference and a verdict.")
    error: str | None = None
    created_at: str


class ModelEvaluationEnvelope(Out):
    evaluation: ModelEvaluation


class ModelEvaluationList(Out):
    evaluations: list[ModelEvaluation]

