"""The Output Directory Base (Settings page) and the one function that turns a requested output folder into a
path a project may write to.

The base is an absolute path: a relative one would name a different folder depending on where the server was
started. It is stored resolved in the ``settings`` table; unset, it is ``OUTPUT_FOLDER`` (``outputs/``). With
accounts each user writes inside ``<base>/u<id>/`` (services/auth/folders.py), in the single-user studio inside
the base itself. Writability is tried for real (a randomly named file written and removed): permission bits say
nothing about read-only mounts, ACLs, quotas or root squashing.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from flask import current_app

from services.auth.folders import owner_folder
from services.errors import ServiceError
from services.settings_store import delete_setting, get_setting, set_setting
from services.storage import UnsafePathError, resolve_inside

SETTING_KEY = "output_base"
PATH_MAX = 4096  # bytes (Linux's PATH_MAX)
NAME_MAX = 255  # bytes per folder name
PROBE_PREFIX = ".tunewright-probe-"
# Other data folders a base must neither lie in nor contain: projects' output would mix with (or overwrite) them.
_SEPARATE_FOLDERS = {"UPLOAD_FOLDER": "uploads", "EXPORT_FOLDER": "exports", "CONFIG_FOLDER": "saved configs",
                     "MODEL_CACHE": "model cache", "LOG_DIR": "logs"}


def default_output_base() -> Path:
    return Path(current_app.config["OUTPUT_FOLDER"]).resolve()


def output_base() -> Path:
    """The configured base, resolved; ``OUTPUT_FOLDER`` when none is set."""
    stored = get_setting(SETTING_KEY)
    return Path(stored).resolve() if isinstance(stored, str) and stored else default_output_base()


def output_roots() -> list[Path]:
    """Every folder training output may legitimately lie in: ``OUTPUT_FOLDER``, and the base when it differs
    (sessions made before the base changed stay where they are)."""
    roots = [default_output_base()]
    base = output_base()
    if base != roots[0]:
        roots.append(base)
    return roots


def _checked_text(value: Any, what: str) -> str:
    """A path from a caller, stripped, or a ServiceError saying why no path can be made of it."""
    if not isinstance(value, str):
        raise ServiceError(f"{what} must be a string: the path of a folder.")
    text = value.strip()
    if "\x00" in text:
        raise ServiceError(f"{what} holds a NUL character, which no path can hold.")
    if len(text.encode("utf-8", "surrogatepass")) > PATH_MAX:
        raise ServiceError(f"{what} is longer than {PATH_MAX} bytes, the longest path the system takes.")
    long_name = next((part for part in Path(text).parts if len(part.encode("utf-8", "surrogatepass")) > NAME_MAX),
                     None)
    if long_name is not None:
        raise ServiceError(f"{what}: the folder name {long_name[:40]!r}… is longer than {NAME_MAX} bytes.")
    return text


def _absolute(value: Any, what: str) -> Path:
    text = _checked_text(value, what)
    if not text:
        raise ServiceError(f"{what}: give the absolute path of a folder (e.g. /srv/tunewright/outputs).")
    if not Path(text).is_absolute():
        raise ServiceError(f"{what} must be an absolute path (e.g. /srv/tunewright/outputs), not {text!r}: a "
                           "relative one would depend on the folder the server was started from.")
    return Path(text)


# -- writability --------------------------------------------------------------------------------------------
def _probe_folder(folder: Path) -> tuple[bool, str]:
    probe = folder / f"{PROBE_PREFIX}{secrets.token_hex(8)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return False, f"{folder} is not writable: {exc.strerror or exc}."
    try:
        os.write(fd, b"tunewright")
        os.fsync(fd)
    except OSError as exc:  # a full disk or quota: creating worked, writing did not
        return False, f"{folder} is not writable: {exc.strerror or exc}."
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            probe.unlink()
    return True, f"{folder} is writable."


def probe_writable(path: Path) -> tuple[bool, str]:
    """``(writable, detail)`` for a folder; a missing one is judged by the nearest folder above it that exists
    (where it would be created). Never creates folders, never leaves the probe file behind."""
    folder = Path(path)
    try:
        if folder.is_dir():
            return _probe_folder(folder)
        if folder.exists():
            return False, f"{folder} is a file, not a folder."
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is None or not parent.is_dir():
            return False, f"{folder} does not exist and cannot be created: {parent} is not a folder."
    except (OSError, ValueError) as exc:  # EACCES on a parent, a symlink loop, a NUL
        return False, f"{folder} cannot be used: {getattr(exc, 'strerror', None) or exc}."
    writable, detail = _probe_folder(parent)
    if not writable:
        return False, f"{folder} does not exist and cannot be created: {detail}"
    return True, f"{folder} does not exist yet; it can be created ({parent} is writable)."


# -- the base -----------------------------------------------------------------------------------------------
def describe() -> dict[str, Any]:
    """What GET /api/settings answers: the base, its default and whether it is writable now."""
    base = output_base()
    writable, detail = probe_writable(base)
    return {"output_base": str(base), "default_output_base": str(default_output_base()),
            "writable": writable, "detail": detail}


def _check_separate(folder: Path) -> None:
    for key, label in _SEPARATE_FOLDERS.items():
        other = Path(current_app.config[key]).resolve()
        if folder == other or other in folder.parents or folder in other.parents:
            raise ServiceError(f"{folder} overlaps the {label} folder ({other}): training output would mix with "
                               "it. Pick a folder of its own.")
    instance = Path(current_app.instance_path).resolve()
    if folder == instance or instance in folder.parents or folder in instance.parents:
        raise ServiceError(f"{folder} overlaps the instance folder ({instance}), which holds the database and "
                           "secrets. Pick a folder of its own.")


def set_output_base(path: str) -> Path:
    """Validate, create when missing, probe and store the base (resolved). Setting the default clears the
    setting, so the base follows ``OUTPUT_FOLDER`` again."""
    requested = _absolute(path, "output_base")
    try:
        folder = requested.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ServiceError(f"{requested} cannot be resolved: {exc}.") from None
    if folder == Path(folder.anchor):
        raise ServiceError("The filesystem root cannot be the output base: pick a folder inside it.")
    if folder.exists() and not folder.is_dir():
        raise ServiceError(f"{folder} is a file, not a folder.")
    _check_separate(folder)
    _writable_folder(folder, create=True, label="")
    previous = output_base()
    if folder == default_output_base():
        delete_setting(SETTING_KEY)
    else:
        set_setting(SETTING_KEY, str(folder))
    _after_change(previous, folder)
    return folder


def _after_change(previous: Path, folder: Path) -> None:
    from services.auth import audit
    from services.auth.mode import accounts_enabled
    from services.system_monitor import refresh_data_folders

    refresh_data_folders()
    if accounts_enabled() and previous != folder:
        audit.record("settings.output_base", target=str(folder), detail={"previous": str(previous)})


def writable_report(path: Any = None) -> dict[str, Any]:
    """The Test writable button: the current base, or (administrators only) any absolute path."""
    if path is None or (isinstance(path, str) and not path.strip()):
        folder = output_base()
    else:
        from services.auth.current import current_principal

        if not current_principal().allows("admin"):
            raise ServiceError("Only an administrator may test a folder other than the current output base.",
                               status_code=403)
        folder = _absolute(path, "path")
    writable, detail = probe_writable(folder)
    return {"path": str(folder), "writable": writable, "detail": detail}


# -- a project's output folder ------------------------------------------------------------------------------
def _area(owner_id: int | None) -> Path:
    base = output_base()
    try:
        return owner_folder(base, owner_id).resolve()
    except OSError as exc:
        raise ServiceError(f"The output base {base} cannot be used: {exc.strerror or exc}. An administrator can "
                           "change it on the Settings page.") from None


def resolve_output_dir(requested: str | None, owner_id: int | None, *, default_name: str | None = None,
                       create: bool = True) -> Path:
    """The resolved folder a project may write to, inside the owner's area of the output base.

    ``requested``: empty (then ``default_name``, chosen by the caller), a path relative to the area, or an
    absolute path inside it. Refused with the reason: ``..``, a path outside the area, a symbolic link on the
    way that leads out of it, a file, the area itself, a folder that is not writable, NUL bytes, over-long
    paths. Created when ``create`` and missing."""
    text = "" if requested is None else _checked_text(requested, "output_dir")
    if not text:
        if not default_name:
            raise ServiceError("output_dir: name a folder for the output.")
        text = _checked_text(default_name, "output_dir")
    wanted = Path(text)
    area = _area(owner_id)
    if ".." in wanted.parts:
        raise ServiceError(f"output_dir {text!r} holds '..': give a folder inside {area}.")
    if wanted.is_absolute():
        try:
            wanted = wanted.relative_to(area)
        except ValueError:
            raise ServiceError(f"output_dir {text!r} lies outside {area}, the output area it must be in (the "
                               "Output Directory Base, set on the Settings page).") from None
    relative = wanted.as_posix()
    if relative in ("", "."):
        raise ServiceError(f"output_dir must be a folder inside {area}, not the area itself.")
    try:
        target = resolve_inside(area, relative)
    except UnsafePathError:
        raise ServiceError(f"output_dir {text!r} leads outside {area}: a symbolic link on the way points "
                           "elsewhere.") from None
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ServiceError(f"output_dir {text!r} cannot be resolved: {exc}.") from None
    if target == area:
        raise ServiceError(f"output_dir must be a folder inside {area}, not the area itself.")
    if target.exists() and not target.is_dir():
        raise ServiceError(f"output_dir {target} is a file, not a folder.")
    _writable_folder(target, create=create, label="output_dir")
    return target


def _writable_folder(folder: Path, *, create: bool, label: str) -> None:
    """Create ``folder`` when asked and missing, then prove it writable; a ServiceError says why not."""
    prefix = f"{label} " if label else ""
    if create and not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServiceError(f"{prefix}{folder} does not exist and cannot be created: "
                               f"{exc.strerror or exc}.") from None
    writable, detail = probe_writable(folder)
    if not writable:
        raise ServiceError(f"{label}: {detail}" if label else detail)
