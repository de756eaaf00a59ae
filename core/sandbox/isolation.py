"""Can this machine isolate user code? bubblewrap (namespaces for mounts, network, PIDs, IPC, UTS, users), a seccomp
deny-list, and a system Python readable by an unprivileged user. Anything less and code rewards are refused with
the reason.

Only the Python runtime is visible inside: the interpreter, its standard library (with ``lib-dynload``) and the
shared libraries those link to, each bound read-only by itself. Nothing else under ``/usr`` is: a project (and
its database) installed under ``/usr/local`` or ``/usr/share`` stays out of reach.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.sandbox.seccomp import deny_list_program

NOBODY = 65534
SCRATCH_BYTES = 64 * 1024 * 1024
PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3")
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


@dataclass(frozen=True)
class Isolation:
    available: bool
    reason: str
    bwrap: str | None = None
    python: str | None = None
    as_user: int | None = None  # run the sandbox as this uid (nobody) when the server runs as root
    binds: tuple[tuple[str, str], ...] = ()  # (source, destination) bound read-only: the Python runtime only
    seccomp: bytes | None = None  # the BPF program bubblewrap loads (None: no syscall table for this machine)
    disable_userns: bool = False  # bubblewrap 0.8+: no user namespaces inside


def _python() -> str | None:
    wanted = os.environ.get("TUNEWRIGHT_SANDBOX_PYTHON")
    for candidate in ([wanted] if wanted else PYTHON_CANDIDATES):
        path = os.path.realpath(candidate)
        if path.startswith("/usr/") and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _real(path: str) -> str:
    """``path`` with its folders' symlinks resolved but its own name kept (``/lib/x/libc.so.6`` becomes
    ``/usr/lib/x/libc.so.6`` on a merged-/usr system): the name the loader asks for, where it really lives."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def runtime_binds(python: str) -> tuple[tuple[str, str], ...]:
    """What ``python -I -S`` needs: itself, its stdlib folders, and every shared library that it or a
    ``lib-dynload`` extension links to (as ``ldd`` lists them, the dynamic loader included)."""
    probe = subprocess.run([python, "-I", "-S", "-c", "import json, sysconfig; print(json.dumps(sorted({"
                            "sysconfig.get_path('stdlib'), sysconfig.get_path('platstdlib')})))"],
                           capture_output=True, text=True, timeout=30, env={}, stdin=subprocess.DEVNULL, check=True)
    folders = [os.path.realpath(p) for p in json.loads(probe.stdout)]
    binaries = [python] + sorted(str(p) for folder in folders for p in Path(folder, "lib-dynload").glob("*.so"))
    ldd = shutil.which("ldd") or "/usr/bin/ldd"
    listed = subprocess.run([ldd, *binaries], capture_output=True, text=True, timeout=60, env={"LC_ALL": "C"},
                            stdin=subprocess.DEVNULL)
    libraries = sorted({match.group(1) for match in _LDD_PATH.finditer(listed.stdout)})
    if not libraries:
        raise RuntimeError(f"ldd listed no libraries for {python}: {(listed.stderr or listed.stdout)[:200]}")
    binds = {python: python, **{folder: folder for folder in folders}}
    for library in libraries:
        if not library.startswith(tuple(folders)):  # stdlib extensions are inside the bound folders already
            binds[os.path.realpath(library)] = _real(library)
    return tuple(sorted((source, target) for source, target in binds.items()))


def bwrap_command(iso: Isolation, program: list[str], seccomp_fd: int | None = None) -> list[str]:
    """The bubblewrap command line: the Python runtime read-only, a minimal /dev, a size-limited tmpfs scratch
    folder; fresh namespaces of every kind (no network devices), no nested user namespaces, the seccomp filter
    read from ``seccomp_fd``, no capabilities, a clean environment, dies with its parent, and a new session (no
    access to the controlling terminal)."""
    args = [iso.bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if iso.disable_userns:
        args.append("--disable-userns")
    for source, target in iso.binds:
        args += ["--ro-bind", source, target]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    args += ["--dev", "/dev", "--size", str(SCRATCH_BYTES), "--tmpfs", "/scratch", "--remount-ro", "/",
             "--hostname", "sandbox", "--clearenv", "--setenv", "HOME", "/scratch", "--setenv", "TMPDIR", "/scratch",
             "--setenv", "PATH", "/usr/bin", "--setenv", "LANG", "C.UTF-8", "--chdir", "/scratch"]
    return args + program


def spawn(iso: Isolation, program: list[str], **popen: Any) -> subprocess.Popen:
    """Start ``program`` in the sandbox (as ``iso.as_user``, empty environment, own session). The seccomp program
    travels in a memfd that only bubblewrap inherits; it is closed here once bubblewrap has started."""
    seccomp_fd = None
    if iso.seccomp is not None:
        seccomp_fd = os.memfd_create("tunewright-seccomp", 0)  # no CLOEXEC: pass_fds keeps it for bubblewrap
        os.write(seccomp_fd, iso.seccomp)
        os.lseek(seccomp_fd, 0, os.SEEK_SET)
    try:
        return subprocess.Popen(bwrap_command(iso, program, seccomp_fd), env={}, start_new_session=True,
                                close_fds=True, pass_fds=() if seccomp_fd is None else (seccomp_fd,),
                                user=iso.as_user, group=iso.as_user,
                                extra_groups=[] if iso.as_user is not None else None, **popen)
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)


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
    try:
        binds = runtime_binds(python)
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as exc:
        return Isolation(False, f"cannot list what the sandbox's Python ({python}) needs: {exc}")
    seccomp = deny_list_program()
    reason = "bubblewrap with a seccomp deny-list" if seccomp else \
        "bubblewrap (no seccomp table for this CPU architecture: namespaces and rlimits only)"
    try:
        options = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        options = ""
    iso = Isolation(True, reason, bwrap, python, NOBODY if os.geteuid() == 0 else None, binds, seccomp,
                    "--disable-userns" in options)
    try:
        probe = spawn(iso, [python, "-I", "-S", "-c", "print('ok')"], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        out, err = probe.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate()
        return Isolation(False, "bubblewrap did not start within 30 s")
    except (OSError, subprocess.SubprocessError) as exc:
        return Isolation(False, f"bubblewrap cannot start here: {exc}")
    if probe.returncode != 0 or out.strip() != "ok":
        detail = (err or out).strip()[:300]
        return Isolation(False, f"bubblewrap cannot create its namespaces here (user namespaces disabled?): {detail}")
    return iso
