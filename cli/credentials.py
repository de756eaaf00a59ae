"""Tokens stored by ``tunewright login``: ``$XDG_CONFIG_HOME/tunewright/token`` (default ``~/.config``), a JSON file
readable by its owner only (0600, in a 0700 folder), one entry per server, so a token is only ever sent to the
server that issued it. ``local`` is this machine's own database (commands run without ``--server``).

Which token a command sends: ``--token``; else ``TUNEWRIGHT_TOKEN`` when it holds a personal access token (tw_…)
or a JWT; else the stored login for that server; else ``TUNEWRIGHT_TOKEN`` as the studio's access token (the
single-user token, or the bootstrap token before the first account exists). On a server machine
``TUNEWRIGHT_TOKEN`` is often the server's own config, which stops being a credential once accounts exist: a
stored login therefore goes before it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LOCAL = "local"


def token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tunewright" / "token"


def server_key(server: str | None) -> str:
    return server.rstrip("/").lower() if server else LOCAL


def is_user_credential(token: str | None) -> bool:
    """A personal access token or a JWT (as opposed to the studio's access token)."""
    return bool(token) and (token.startswith("tw_") or token.count(".") == 2)


def _read() -> dict[str, Any]:
    try:
        data = json.loads(token_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("servers"), dict) else {}


def stored(server: str | None) -> dict[str, Any] | None:
    """``{token, token_id, username, created_at}`` stored for this server, or None."""
    entry = _read().get("servers", {}).get(server_key(server))
    return entry if isinstance(entry, dict) and isinstance(entry.get("token"), str) else None


def _write(data: dict[str, Any]) -> Path:
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    # Created 0600 from the start (no moment where another user could read it), then moved into place.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(temporary, 0o600)  # an older file of the same name keeps its mode through O_TRUNC
    os.replace(temporary, path)
    return path


def store(server: str | None, entry: dict[str, Any]) -> Path:
    data = _read() or {"servers": {}}
    data["servers"][server_key(server)] = entry
    return _write(data)


def forget(server: str | None) -> dict[str, Any] | None:
    """Remove this server's entry (the file goes when it was the last); returns the entry."""
    data = _read()
    entry = data.get("servers", {}).pop(server_key(server), None)
    if entry is None:
        return None
    if data["servers"]:
        _write(data)
    else:
        token_file().unlink(missing_ok=True)
    return entry


def resolve(explicit: str | None, server: str | None) -> str | None:
    """The token a command sends to ``server`` (None: this machine's database); see the module docstring."""
    if explicit:
        return explicit
    environment = os.environ.get("TUNEWRIGHT_TOKEN") or None
    if is_user_credential(environment):
        return environment
    entry = stored(server)
    return entry["token"] if entry else environment
