"""Saved training configs (routes/configs.py). services/configs.py checks a config's name (with a suggested one)
and validates the config with core/training_config.py, listing every problem with its path and a hint; so the
name is ``Checked`` and the config is documented as ``TrainingConfig`` but judged by the service."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field as PydanticField

from routes.schemas.checked import AsTrainingConfig, Checked, documented_required
from routes.schemas.common import Field, In, Out, Text
from services.configs import MAX_IMPORT_BYTES

ConfigName = Checked("Letters, digits, '.', '_' and '-' (1 to 100, starting with a letter or digit, no '..', not "
                     "ending in .json). A shipped preset's name is read-only.", type="string", minLength=1,
                     maxLength=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class SavedConfigSave(In):
    model_config = documented_required("name", "config")
    name: ConfigName = None
    config: Annotated[AsTrainingConfig, PydanticField(description="The training config (GET /api/training/schema); "
                                                                  "fields left out take their defaults. Its name "
                                                                  "becomes the saved name.")] = None
    description: Text | None = Field(None, description="Shown in the list (its first 2000 characters are kept).")
    overwrite: bool | None = Field(True, description="Replace a saved config of the same name (default); false: "
                                                     "a name that exists is a 409.")


class SavedConfigName(In):
    model_config = documented_required("name")
    name: ConfigName = None


class SavedConfigImport(In):
    """A multipart form (the upload is read by the view as it arrives)."""

    model_config = documented_required("file")
    file: Annotated[Any, PydanticField(json_schema_extra={"type": "string", "format": "binary"},
                                       description=f"A .json, .yaml or .yml config (at most "
                                                   f"{MAX_IMPORT_BYTES // 1000} KB).")] = None
    name: str | None = Field(None, description="Save under this name; empty: the file's own name field, else the "
                                               "file name.")
    overwrite: str | None = Field(None, description="1, true or on: replace a saved config of that name (imports "
                                                    "never overwrite otherwise).")


class SavedConfig(Out):
    name: str
    read_only: bool = Field(description="A shipped preset.")
    description: str | None = None
    model: Any = Field(None, description="The base model's name.")
    method: Any = Field(None, description="The training method.")
    algorithm: Any = Field(None, description="The GRPO variant (grpo, gspo, or_grpo).")
    created_at: str | None = None
    updated_at: str | None = None
    last_used_at: str | None = None
    readable: bool | None = Field(None, description="Saved files only: false when the file is not valid JSON.")


class SavedConfigEnvelope(Out):
    config: SavedConfig


class SavedConfigList(Out):
    configs: list[SavedConfig] = Field(description="The presets first, then the caller's saved configs, newest "
                                                   "first.")


class SavedConfigLoaded(Out):
    name: str
    config: Annotated[AsTrainingConfig, PydanticField(description="The config with every default filled in.")]
