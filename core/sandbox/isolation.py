"""Can this machine isolate user code? bubblewrap (namespaces for mounts, network, PIDs, IPC, UTS, users) plus a
system Python readable by an unprivileged user. Anything less and code rewards are refused with the reason."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

NOBODY = 65534
SCRATCH_BYTES = 64 * 1024 * 1024
PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3")


@dataclass(frozen=True)
class Isolation:
    available: bool
    reason: str
    bwrap: str | None = None
    python: str | None = None
    as_user: int | None = None  # run the sandbox as this uid (nobody) when the server runs as root


def _python() -> str | None:
    wanted = os.environ.get("TUNEWRIGHT_SANDBOX_PYTHON")
    for candidate in ([wanted] if wanted else PYTHON_CANDIDATES):
        path = os.path.realpath(candidate)
        if path.startswith("/usr/") and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def bwrap_command(iso: Isolation, program: list[str]) -> list[str]:
    """The bubblewrap command line: only /usr (read-only), a minimal /dev, a size-limited tmpfs scratch folder;
    fresh namespaces of every kind (no network devices but loopback-less), no capabilities, a clean environment,
    dies with its parent, and a new session (no access to the controlling terminal)."""
    args = [iso.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    args += ["--dev", "/dev", "--size", str(SCRATCH_BYTES), "--tmpfs", "/scratch", "--remount-ro", "/",
             "--hostname", "sandbox", "--clearenv", "--setenv", "HOME", "/scratch", "--setenv", "TMPDIR", "/scratch",
             "--setenv", "PATH", "/usr/bin", "--setenv", "LANG", "C.UTF-8", "--chdir", "/scratch"]
    return args + program


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Probe once per process: is bubblewrap here, and does a trial run work (user namespaces allowed)?"""
    if os.environ.get("TUNEWRIGHT_SANDBOX", "").lower() in ("0", "off", "false", "no"):
        return Isolation(False, "the reward sandbox is turned off (TUNEWRIGHT_SANDBOX=off), so code rewards "
                                "cannot run")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation(False, "bubblewrap is not installed (Debian: apt-get install bubblewrap, or run "
                                "scripts/setup_sandbox.sh): code rewards are refused rather than run unconfined")
    python = _python()
    if python is None:
        return Isolation(False, "no system Python under /usr for the sandbox (set TUNEWRIGHT_SANDBOX_PYTHON)")
    as_user = NOBODY if os.geteuid() == 0 else None
    iso = Isolation(True, "bubblewrap", bwrap, python, as_user)
    try:
        probe = subprocess.run(bwrap_command(iso, [python, "-I", "-S", "-c", "print('ok')"]), capture_output=True,
                               text=True, timeout=30, user=as_user, group=as_user, extra_groups=[] if as_user else None,
                               env={}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return Isolation(False, f"bubblewrap cannot start here: {exc}")
    if probe.returncode != 0 or probe.stdout.strip() != "ok":
        detail = (probe.stderr or probe.stdout).strip()[:300]
        return Isolation(False, f"bubblewrap cannot create its namespaces here (user namespaces disabled?): {detail}")
    return iso
