"""Datasets (routes/datasets.py): uploads, the Hub catalogue, previews, edits."""
from __future__ import annotations

from typing import Annotated, Any

from core.datasets import CATEGORIES
from core.datasets.spec import FILE_FORMATS
from routes.schemas.common import Field, In, Name, Out, Text, many
from services.datasets.preview import MAX_FIELD_CHARS, MAX_SAMPLES
from services.datasets.records import MAX_DESCRIPTION
from services.ids import MAX_ID

DatasetId = Annotated[int, Field(ge=1, le=MAX_ID)]
FieldText = Annotated[str, Field(max_length=MAX_FIELD_CHARS)]
Tags = list[str] | str
TAGS_HELP = "A list of tags or one comma-separated string (at most 20 tags of at most 64 characters)."
NAME_PART_HELP = "A simple name (letters, digits, '-', '_', '.'; at most 128 characters)."


# -- requests ---------------------------------------------------------------------------------------------------
class DatasetListQuery(In):
    type: Name | None = Field(None, description=f"The file format ({', '.join(FILE_FORMATS)}) or hub.")
    status: Name | None = Field(None, description="Processing, Ready or Failed (any case).")
    tag: Name | None = Field(None, description="Datasets carrying this tag (any case).")
    source: Name | None = Field(None, description="upload or hub.")


class DatasetCatalogQuery(In):
    category: Name | None = Field(None, description=f"Only this category's entries (any case): "
                                                    f"{', '.join(CATEGORIES)}.")


class DatasetUploadForm(In):
    """The multipart form of an upload (the view streams it to disk itself)."""

    file: Annotated[Any, Field(json_schema_extra={"type": "string", "format": "binary"})] = Field(
        description=f"The dataset file ({', '.join(FILE_FORMATS)}), at most TUNEWRIGHT_MAX_UPLOAD_BYTES.")
    name: str | None = Field(None, description="Default: the file's name (cut to 255 characters).")
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    tags: str | None = Field(None, description="Comma-separated tags (at most 20 of at most 64 characters).")
    format: str | None = Field(None, description=f"{', '.join(FILE_FORMATS)}; default: from the file's name or "
                                                 "its content.")


class DatasetMapping(In):
    """Which columns hold the prompt and the reply (null: none / detected)."""

    instruction: FieldText | None = None
    response: FieldText | None = None
    input: FieldText | None = None
    messages: FieldText | None = None
    system: FieldText | None = None


class DatasetPreviewRequest(In):
    """What to preview: id (a dataset), path (an uploaded file) or source."""

    id: DatasetId | None = Field(None, description="A dataset (GET /api/datasets/list).")
    path: FieldText | None = Field(None, description="A stored file's name inside your upload folder.")
    format: FieldText | None = Field(None, description="With path: the file's format; default: detected.")
    source: FieldText | None = Field(None, description="builtin:<name>, dataset:<id> or a Hub id.")
    split: FieldText | None = None
    config_name: FieldText | None = Field(None, description="A Hub dataset's config.")
    instruction_field: FieldText | None = Field(None, description="Overrides the mapping's instruction column.")
    response_field: FieldText | None = Field(None, description="Overrides the mapping's response column.")
    mapping: DatasetMapping | None = Field(None, description="The whole mapping (instead of the two fields).")
    # The bounds are the service's to check: its message says what the range is.
    samples: int | None = Field(None, description="Rows to read (default 5).",
                                json_schema_extra={"minimum": 1, "maximum": MAX_SAMPLES})
    render: bool = Field(True, description="Also render each row as the prompt the model will see.")
    system_prompt: Text | None = Field(None, description="The system prompt to render with (null: none); left "
                                                         "out: the template's.")
    template_id: int | Name | None = Field(None, description="A prompt template (GET /api/prompt-templates); "
                                                             "default: the default template.")


class DatasetFromHub(In):
    hub_id: str = Field(max_length=MAX_FIELD_CHARS, description="owner/name of a Hub dataset.")
    config_name: str | None = Field(None, max_length=MAX_FIELD_CHARS, description=NAME_PART_HELP)
    split: str | None = Field(None, max_length=MAX_FIELD_CHARS, description=NAME_PART_HELP + " Default: train.")
    name: str | None = Field(None, description="Default: the catalogue's title or the Hub id (cut to 255 "
                                               "characters).")
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    tags: Tags | None = Field(None, description=TAGS_HELP)


class DatasetUpdate(In):
    """The keys given are changed (at least one; only these)."""

    name: str | None = Field(None, description="1-255 characters (surrounding spaces removed).")
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    tags: Tags | None = Field(None, description=TAGS_HELP)
    mapping: DatasetMapping | None = Field(None, description="Column names of this dataset (or null).")


# -- responses --------------------------------------------------------------------------------------------------
class DatasetInfo(Out):
    id: int
    name: str
    description: str | None = None
    tags: list[str] = many()
    owner_id: int | None = None
    source: str = Field(description="upload or hub.")
    type: str = Field(description=f"The file format ({', '.join(FILE_FORMATS)}) or hub.")
    training_source: str = Field(description="What a training config's dataset.source names to train on it.")
    original_filename: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    hub_id: str | None = None
    config_name: str | None = None
    split: str | None = None
    status: str = Field(description="Processing, Ready or Failed.")
    progress: float
    error: str | None = None
    error_details: list[Any] = many("The first problems found, with their lines.")
    warnings: list[Any] = many()
    row_count: int | None = None
    columns: list[Any] = many("Each column's name and profile.")
    duplicate_count: int | None = None
    empty_count: int | None = None
    mapping: dict[str, Any] = Field(default_factory=dict, description="instruction, response, input, messages, "
                                                                      "system: column names or null.")
    created_at: str
    updated_at: str
    sample_rows: list[Any] | None = Field(None, description="GET /api/datasets/<id> only: the first rows.")


class DatasetEnvelope(Out):
    dataset: DatasetInfo


class DatasetList(Out):
    datasets: list[DatasetInfo]


class DatasetHubStatus(Out):
    online: bool
    message: str | None = None


class DatasetCatalog(Out):
    categories: list[str] = Field(description=", ".join(CATEGORIES))
    entries: list[dict[str, Any]] = many("Curated Hub datasets, each with whether it is cached and available.")
    builtin: list[dict[str, Any]] = many("The built-in generated datasets.")
    hub: DatasetHubStatus


class DatasetPreview(Out):
    id: int | None = None
    name: str | None = None
    status: str | None = None
    path: str | None = None
    source: str | None = None
    total_rows: int | None = None
    columns: list[Any]
    mapping: dict[str, Any]
    mapping_usable: bool
    rows: list[dict[str, Any]] = Field(description="instruction, response and raw (long cells cut, marked "
                                                   "truncated).")
    cell_limit: int
    system_prompt: str | None = None
    prompts: list[str] | None = Field(None, description="With render: each row as the model will see it.")
    tokenizer: str | None = None
    elapsed_ms: float
