"""The studio's settings (routes/settings.py): the Output Directory Base. services/output_base.py checks every
path and says why one cannot be used (not absolute, a file, overlapping the data folders, not writable), so the
paths are ``Checked``."""
from __future__ import annotations

from routes.schemas.checked import Checked, documented_required
from routes.schemas.common import Field, In, Out
from services.output_base import PATH_MAX

FolderPath = Checked(f"The absolute path of a folder (at most {PATH_MAX} bytes).", type="string",
                     maxLength=PATH_MAX)


class SettingsUpdate(In):
    model_config = documented_required("output_base")
    output_base: FolderPath = None


class SettingsWritableProbe(In):
    path: Checked("An absolute path to probe (administrators only); left out, null or blank: the current base.",
                  type=["string", "null"], maxLength=PATH_MAX) = None


class Settings(Out):
    output_base: str = Field(description="Where new sessions write their output.")
    default_output_base: str = Field(description="The base when none is set (OUTPUT_FOLDER).")
    writable: bool
    detail: str = Field(description="Why it is (not) writable, for the page.")


class SettingsWritable(Out):
    path: str
    writable: bool
    detail: str
