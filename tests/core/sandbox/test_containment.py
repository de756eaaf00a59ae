"""Hostile reward code, each case in its own sandbox: every one scores None with a reason, and this process
(standing in for the server and the trainer) is untouched. The batch child runs under tight rlimits (128 MB,
1 s per sample, no new processes), so even a failed isolation could not harm the machine."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
import threading
import time

import pytest

from core.sandbox import Sandbox, SandboxUnavailable, isolation

pytestmark = pytest.mark.skipif(not isolation().available and not os.environ.get("CI"),
                        reason=isolation().reason)  # CI must have the sandbox: fail there, never skip


def run_code(body: str, fields: dict | None = None, count: int = 1):
    code = "import os, sys\ndef reward(prompt, completion, **fields):\n" + \
        "".join(f"    {line}\n" for line in body.strip().splitlines())
    sandbox = Sandbox(code, per_sample_timeout=1.0, memory_mb=128)
    try:
        return sandbox.run([{"prompt": "p", "completion": "c", "fields": fields or {}}] * count)
    finally:
        sandbox.close()


def assert_refused(results, *fragments):
    for score, error in results:
        assert score is None, error
        assert error and any(f in error for f in fragments), error


def test_a_plain_reward_runs_and_sees_its_fields():
    assert run_code("return len(completion) + fields['extra']", {"extra": 1}) == [(2.0, None)]


def test_reading_etc_passwd_fails():
    assert_refused(run_code("return len(open('/etc/passwd').read())"), "No such file")


def test_reading_the_apps_database_fails(tmp_path):
    database = tmp_path / "tunewright.db"
    database.write_text("secret rows")
    assert_refused(run_code("return len(open(fields['path']).read())", {"path": str(database)}), "No such file")


def test_writing_outside_the_scratch_folder_fails(tmp_path):
    target = tmp_path / "escaped.txt"
    assert_refused(run_code("open(fields['path'], 'w').write('x')\nreturn 1.0", {"path": str(target)}),
                   "No such file", "Read-only")
    assert_refused(run_code("open('/usr/escaped', 'w').write('x')\nreturn 1.0"), "Read-only", "Permission")
    assert not target.exists()
    assert run_code("open('/scratch/ok.txt', 'w').write('x')\nreturn 1.0") == [(1.0, None)]  # scratch is fine


def test_a_socket_cannot_reach_the_host():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    accepted = []
    threading.Thread(target=lambda: accepted.append(_accept(server)), daemon=True).start()
    port = server.getsockname()[1]
    results = run_code("import socket\nsocket.create_connection(('127.0.0.1', fields['port']), timeout=1)\n"
                       "return 1.0", {"port": port})
    assert_refused(results, "Connection refused", "unreachable", "Network", "not permitted")
    server.close()
    assert accepted in ([], [None])


def _accept(server):
    try:
        return server.accept()
    except OSError:
        return None


def test_os_system_is_refused():
    assert_refused(run_code("os.system('echo hi > /scratch/x')\nreturn 1.0"), "disabled")


def test_subprocess_is_refused():
    assert_refused(run_code("import subprocess\nsubprocess.run(['/usr/bin/true'])\nreturn 1.0"),
                   "disabled", "Resource temporarily unavailable", "BlockingIOError")


def test_ctypes_cannot_fork_and_a_segfault_is_contained():
    # The kernel refuses the fork (RLIMIT_NPROC 0 for the sandbox's unprivileged user): fork() returns -1.
    [(score, error)] = run_code("import ctypes\nlibc = ctypes.CDLL(None)\npid = libc.fork()\n"
                                "if pid == 0:\n    libc._exit(0)\nreturn float(pid)")
    assert score == -1.0, error
    assert_refused(run_code("import ctypes\nctypes.memset(8, 0, 8)\nreturn 1.0"), "segmentation", "signal")


def test_an_infinite_loop_times_out():
    assert_refused(run_code("while True:\n    pass"), "timed out", "CPU")


def test_a_signal_proof_infinite_loop_is_killed():
    body = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"
    assert_refused(run_code(body), "timed out", "CPU", "killed")


def test_a_memory_hog_fails():
    assert_refused(run_code("x = bytearray(4 * 1024 ** 3)\nreturn 1.0"), "MemoryError")
    assert_refused(run_code("x = []\nwhile True:\n    x.append(b'x' * 10 ** 6)"), "MemoryError", "killed")


def test_a_fork_bomb_fails():
    assert_refused(run_code("while True:\n    os.fork()"), "disabled")


def test_a_huge_return_value_is_not_a_score():
    assert_refused(run_code("return 10 ** 100000"), "Overflow", "too large", "Exceeds")
    assert_refused(run_code("return 'x' * 10 ** 7"), "not a number")


def test_killing_the_parent_only_loses_that_batch():
    results = run_code("import signal\nos.kill(os.getppid(), signal.SIGKILL)\nreturn 1.0", count=3)
    assert_refused(results, "stopped", "killed")
    assert_refused(run_code("os.kill(fields['pid'], 9)\nreturn 1.0", {"pid": os.getpid()}), "ProcessLookupError",
                   "No such process")
    assert os.getpid() and run_code("return 0.5") == [(0.5, None)]  # still here, and new workers start


def test_one_bad_sample_does_not_spoil_the_batch():
    sandbox = Sandbox("def reward(prompt, completion, **f):\n    return 1 / int(completion)\n", 1.0, 128)
    try:
        results = sandbox.run([{"prompt": "", "completion": c, "fields": {}} for c in ("2", "0", "4")])
        assert results[0] == (0.5, None) and results[2] == (0.25, None)
        assert results[1][0] is None and "ZeroDivisionError" in results[1][1]
        pid = sandbox.pid
        assert sandbox.run([{"prompt": "", "completion": "1", "fields": {}}]) == [(1.0, None)]
        assert sandbox.pid == pid  # the same long-lived worker
    finally:
        sandbox.close()


def test_without_isolation_code_is_refused_not_run(monkeypatch):
    monkeypatch.setenv("TUNEWRIGHT_SANDBOX", "off")
    isolation.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="TUNEWRIGHT_SANDBOX"):
            Sandbox("def reward(p, c, **f):\n    return 1.0\n").run([{"prompt": "", "completion": "", "fields": {}}])
    finally:
        monkeypatch.delenv("TUNEWRIGHT_SANDBOX")
        isolation.cache_clear()


SYSCALL = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"


@pytest.mark.parametrize("call", [
    "libc.ptrace(0, 0, 0, 0)",  # PTRACE_TRACEME: allowed to any process without the filter
    "libc.unshare(0x10000000)",  # CLONE_NEWUSER
    "libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)",  # clone(CLONE_NEWUSER | SIGCHLD)
    "libc.syscall(321, 0, 0, 0)",  # bpf
    "libc.syscall(425, 1, 0)",  # io_uring_setup
    "libc.personality(0xffffffff)",  # allowed to any process without the filter (it only reads)
])
def test_the_seccomp_filter_denies_kernel_surfaces(call):
    [(score, error)] = run_code(SYSCALL + f"result = {call}\nreturn float(ctypes.get_errno() if result == -1 else 1000)")
    assert score == 1.0, error  # -1 with EPERM


def test_only_unix_sockets_can_be_made():
    [(score, error)] = run_code("import socket\nsocket.socket(socket.AF_UNIX).close()\nreturn 1.0")
    assert score == 1.0, error
    assert_refused(run_code("import socket\nsocket.socket(socket.AF_NETLINK, socket.SOCK_RAW)\nreturn 1.0"),
                   "not permitted")


def test_only_the_python_runtime_of_usr_is_visible():
    """A project (and its database) installed under /usr must not be readable from inside."""
    planted = [tempfile.mkdtemp(prefix="tunewright-planted-", dir=folder)
               for folder in ("/usr/local", "/usr/share") if os.access(folder, os.W_OK)]
    if not planted:
        pytest.skip("cannot write under /usr here")
    try:
        for folder in planted:
            os.chmod(folder, 0o755)
            with open(os.path.join(folder, "tunewright.db"), "w") as handle:
                handle.write("secret rows")
            os.chmod(os.path.join(folder, "tunewright.db"), 0o644)
            assert_refused(run_code("return len(open(fields['path']).read())",
                                    {"path": os.path.join(folder, "tunewright.db")}), "No such file")
        [(listed, error)] = run_code("return float(len(os.listdir('/usr/share')) + len(os.listdir('/usr/local')))")
        assert listed in (0.0, None), error  # neither folder is bound at all
        assert run_code("import json, re, decimal, sqlite3, hashlib, zlib\nreturn 1.0") == [(1.0, None)]
    finally:
        for folder in planted:
            shutil.rmtree(folder, ignore_errors=True)


def _zombie_children() -> list[int]:
    zombies = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as handle:
                state, parent = handle.read().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError, IndexError):
            continue
        if state == "Z" and int(parent) == os.getpid():
            zombies.append(int(stat.split("/")[2]))
    return zombies


def test_finished_sandbox_processes_are_reaped():
    """Workers that end any way (closed, evicted, crashed, killed while idle) leave no zombie behind."""
    from core.sandbox import shared_sandbox

    before = set(_zombie_children())
    item = [{"prompt": "", "completion": "", "fields": {}}]
    idle = []
    for n in range(12):  # more codes than the shared pool keeps: the oldest workers are closed
        sandbox = shared_sandbox(f"def reward(prompt, completion, **fields):\n    return {n}\n", 1.0)
        assert sandbox.run(item) == [(float(n), None)]
        idle.append(sandbox)
    crashing = Sandbox("import os\ndef reward(prompt, completion, **fields):\n    os.kill(os.getppid(), 9)\n", 1.0)
    assert crashing.run(item)[0][0] is None
    for sandbox in idle[-4:]:  # the OOM killer (say) ends idle workers nobody asks for again
        os.kill(sandbox.pid, 9)
    deadline = time.monotonic() + 10
    while set(_zombie_children()) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(_zombie_children()) - before == set()
    crashing.close()
