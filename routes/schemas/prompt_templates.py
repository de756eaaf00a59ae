"""System prompt templates (routes/prompt_templates.py). services/prompt_templates.py checks every field and lists
each problem ("reasoning_start must be text", "the four markers must all differ"), and refuses unknown keys with
the list of known ones, so the fields are ``Checked``."""
from __future__ import annotations

from routes.schemas.checked import Checked, documented_required
from routes.schemas.common import Field, In, Out
from services.prompt_templates import MAX_PROMPT

MAX_MARKER = 64  # core/datasets/prompts.py Markers.problems


def _marker(what: str) -> object:
    return Checked(f"The marker that {what} (1 to {MAX_MARKER} characters, unlike the other three).",
                   type="string", minLength=1, maxLength=MAX_MARKER)


class PromptMarkersIn(In):
    """The four markers as one object, the shape GET answers (accepted back)."""

    reasoning_start: _marker("opens the reasoning") = None
    reasoning_end: _marker("closes the reasoning") = None
    solution_start: _marker("opens the final answer") = None
    solution_end: _marker("closes the final answer") = None


class PromptTemplateFields(PromptMarkersIn):
    """A template's fields; in a PATCH, those left out keep their values. The shape GET answers is accepted back
    (its id, builtin, rendered_system_prompt and dates are ignored); any other key is refused."""

    name: Checked("1 to 128 characters, unique among your templates.", type="string", minLength=1,
                  maxLength=128) = None
    system_prompt: Checked(f"The system prompt (at most {MAX_PROMPT} characters); it may name the markers as "
                           "{reasoning_start}, {reasoning_end}, {solution_start} and {solution_end}. Empty: the "
                           "GRPO default wording.", type=["string", "null"], maxLength=MAX_PROMPT) = None
    markers: PromptMarkersIn | None = Field(None, description="The markers as one object (overrides the flat "
                                                               "fields).")


class PromptTemplateCreate(PromptTemplateFields):
    model_config = documented_required("name")


class PromptMarkers(Out):
    reasoning_start: str
    reasoning_end: str
    solution_start: str
    solution_end: str


class PromptTemplate(Out):
    id: int | str = Field(description="A number, or 'default' for the built-in GRPO template.")
    name: str
    builtin: bool = Field(description="The built-in template cannot be changed or deleted.")
    system_prompt: str
    rendered_system_prompt: str = Field(description="The prompt with its markers filled in.")
    markers: PromptMarkers
    created_at: str | None = None
    updated_at: str | None = None


class PromptTemplateEnvelope(Out):
    template: PromptTemplate


class PromptTemplateList(Out):
    templates: list[PromptTemplate] = Field(description="The built-in template first, then yours by name.")
