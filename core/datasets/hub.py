"""Hugging Face Hub datasets through the ``datasets`` library, failing fast when the Hub cannot be reached.

``load_dataset`` against an unreachable Hub can spend a long time in retries;
we check reachability first (offline mode, then a TCP connect with a short
timeout, cached for a minute) and, when offline, only read what is cached.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from core.datasets.spec import DatasetSpec, DatasetUnavailableError

REACHABILITY_TTL = 60.0
CONNECT_TIMEOUT = 2.0
OFFLINE_HELP = "cached Hub datasets, your uploads and the built-in sets still work"

# owner/name, as the Hub spells repository ids. Never a path: see ``check_hub_id``.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")

_lock = threading.Lock()
_last_check: tuple[float, str, bool, str] | None = None  # (when, endpoint, online, reason)


def _offline_flag() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("HF_DATASETS_OFFLINE") or ""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _connect(host: str, port: int, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout):
        pass


def hub_status(timeout: float = CONNECT_TIMEOUT, refresh: bool = False) -> tuple[bool, str]:
    """``(online, reason)``: never takes much longer than ``timeout`` (DNS included)."""
    global _last_check
    if _offline_flag():
        return False, f"The Hugging Face Hub is off (offline mode, HF_HUB_OFFLINE=1): {OFFLINE_HELP}."
    url = urlparse(endpoint())
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    with _lock:
        if (not refresh and _last_check and _last_check[1] == endpoint()
                and time.monotonic() - _last_check[0] < REACHABILITY_TTL):
            return _last_check[2], _last_check[3]
    outcome: dict[str, BaseException | None] = {}

    def attempt() -> None:
        try:
            _connect(host, port, timeout)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - reported, not raised
            outcome["error"] = exc

    # getaddrinfo has no timeout of its own: run the connect in a thread and stop waiting for it.
    worker = threading.Thread(target=attempt, daemon=True, name="hub-reachability")
    worker.start()
    worker.join(timeout + 0.5)
    if "error" not in outcome:
        online, reason = False, f"No answer from {host} within {timeout:.0f} s: {OFFLINE_HELP}."
    elif outcome["error"] is not None:
        online, reason = False, f"Cannot reach {host} ({outcome['error']}): {OFFLINE_HELP}."
    else:
        online, reason = True, f"{host} is reachable."
    with _lock:
        _last_check = (time.monotonic(), endpoint(), online, reason)
    return online, reason


def datasets_cache_dir(cache_dir: str | None = None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    import datasets.config

    return Path(datasets.config.HF_DATASETS_CACHE)


def is_cached(hub_id: str, config_name: str | None = None, cache_dir: str | None = None) -> bool:
    """Whether ``load_dataset`` can build this dataset without the network (its prepared Arrow files)."""
    folder = datasets_cache_dir(cache_dir) / hub_id.replace("/", "___")
    if not folder.is_dir():
        return False
    if config_name:
        return (folder / config_name).is_dir()
    return any(folder.iterdir())


@contextlib.contextmanager
def _offline_mode(enabled: bool) -> Iterator[None]:
    """Make ``datasets`` read only its cache while the Hub is unreachable (no retries against the network)."""
    if not enabled:
        yield
        return
    import datasets.config
    import huggingface_hub.constants as hub_constants

    saved = datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE = saved


def check_hub_id(name: str) -> str:
    """``name`` if it is a Hub repository id that cannot be read as a local path, else DatasetUnavailableError.

    ``datasets.load_dataset`` loads a folder when one exists under the given name (relative to the server's
    working directory), so an id like ``demo/secret`` could read server files: local data comes only
    through uploads."""
    if not isinstance(name, str) or not HUB_ID.match(name) or ".." in name:
        raise DatasetUnavailableError(f"{name!r} is not a Hub dataset id (owner/name: letters, digits, '-', "
                                      "'_', '.'). Local files are not read by path: upload them instead.")
    if os.path.lexists(name):
        raise DatasetUnavailableError(f"{name!r} names a local path on the server, which is never read as a Hub "
                                      "dataset: upload the files on the Datasets page instead.")
    return name


def load_hub_dataset(spec: DatasetSpec):
    """A ``datasets.Dataset`` for a Hub id: from the Hub when it is reachable, else from the local cache."""
    import datasets

    check_hub_id(spec.name)
    online, reason = hub_status()
    if not online and not is_cached(spec.name, spec.config_name, spec.cache_dir):
        raise DatasetUnavailableError(f"{spec.name} is not cached on this server. {reason}")
    label = spec.name + (f" ({spec.config_name})" if spec.config_name else "")
    try:
        with _offline_mode(not online):
            return datasets.load_dataset(spec.name, spec.config_name,
                                         split=spec.split, cache_dir=spec.cache_dir)
    except DatasetUnavailableError:
        raise
    except (ConnectionError, TimeoutError) as exc:
        raise DatasetUnavailableError(f"Could not download {label}: {exc}") from exc
    except ValueError as exc:  # unknown split or config
        raise DatasetUnavailableError(f"Could not load {label}: {exc}") from exc
    except FileNotFoundError as exc:
        raise DatasetUnavailableError(f"{label} was not found on the Hub ({exc})") from exc
    except Exception as exc:  # DatasetNotFoundError, gated or private repos, broken builders...
        raise DatasetUnavailableError(f"Could not load {label}: {type(exc).__name__}: {exc}") from exc
