"""The program that runs *inside* the sandbox (stdlib only; its source is passed to ``python -I -S -c``).

Protocol on stdin/stdout, one JSON line each: first ``{"code", "timeout", "memory_mb"}``, then per batch
``{"items": [{"prompt", "completion", "fields"}]}`` answered by ``{"results": [[score, error], ...]}``.
Every sample runs in its own forked child with hard limits (address space, CPU seconds, no new processes, small
files, few descriptors), loading the reward code afresh: whatever one sample changes (``builtins.compile``, a
module, a global) dies with its child and cannot touch the next sample. A per-sample timer and the parent's
watch catch hangs; a child that dies scores None with the reason.
"""
import json
import math
import os
import resource
import select
import signal
import traceback

MAX_LINE = 65536


def _limit(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


def _no_processes(*_args, **_kwargs):
    raise PermissionError("starting processes is disabled in the reward sandbox")


def _child(code, item, timeout, memory_mb, out_fd):
    _limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CPU, int(math.ceil(timeout)) + 1)
    _limit(resource.RLIMIT_NPROC, 0)  # the kernel refuses fork/clone to this non-root user from here on
    _limit(resource.RLIMIT_FSIZE, 16 * 1024 * 1024)
    _limit(resource.RLIMIT_CORE, 0)
    for name in ("system", "fork", "forkpty", "popen", "execv", "execve", "execl", "execle", "execlp", "execvp",
                 "execvpe", "spawnl", "spawnv", "spawnve", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, _no_processes)
    out, dumps = os.fdopen(out_fd, "w"), json.dumps  # bound before the user's code can patch the json module

    def report(score, error):
        out.write(dumps([score, error]) + "\n")
        out.flush()

    def on_alarm(_signum, _frame):
        raise TimeoutError(f"timed out after {timeout:g} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)  # loading the code counts against the sample's time too
    namespace = {"__name__": "reward_module"}
    try:
        exec(compile(code, "<reward>", "exec"), namespace)
        reward = namespace["reward"]
        if not callable(reward):
            raise TypeError("'reward' is not a function")
    except BaseException:
        signal.setitimer(signal.ITIMER_REAL, 0)
        report(None, "the code does not load: " + traceback.format_exc(limit=-3)[-2000:])
        os._exit(0)
    score, error = None, None
    try:
        value = reward(item.get("prompt", ""), item.get("completion", ""), **(item.get("fields") or {}))
        signal.setitimer(signal.ITIMER_REAL, 0)
        if value is None:
            error = "returned None (not applicable)"
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            error = f"returned {type(value).__name__}, not a number"
        else:
            score = float(value)
            if not math.isfinite(score):
                score, error = None, f"returned {score}, not a finite number"
    except BaseException:
        signal.setitimer(signal.ITIMER_REAL, 0)
        score, error = None, traceback.format_exc(limit=-4)[-2000:]
    report(score, error)
    out.close()
    os._exit(0)


def _reason(status, timeout):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {signal.SIGXCPU: "stopped: CPU time limit reached", signal.SIGKILL: "killed (timeout or limit)",
                signal.SIGSEGV: "crashed (segmentation fault)",
                signal.SIGSYS: "killed: a forbidden system call"}.get(sig, f"killed by signal {sig}")
    return f"exited with status {os.WEXITSTATUS(status)} before returning a score"


def run_sample(code, item, timeout, memory_mb, protected):
    """[score, error] for one item, from a fresh child that is always waited for."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        for fd in protected:
            os.close(fd)
        try:
            _child(code, item, timeout, memory_mb, write_fd)
        finally:
            os._exit(70)
    os.close(write_fd)
    buffer, dead = b"", None
    try:
        while b"\n" not in buffer:
            ready, _, _ = select.select([read_fd], [], [], timeout + 2.0)
            if not ready:
                dead = f"timed out after {timeout:g} s"
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > MAX_LINE:
                dead = "the result was too large"
                break
    finally:
        os.close(read_fd)
        if dead:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if dead:
        return [None, dead]
    if b"\n" not in buffer:
        return [None, _reason(status, timeout)]
    try:
        score, error = json.loads(buffer.split(b"\n", 1)[0])
        return [score, error]
    except (ValueError, TypeError):
        return [None, "the sandbox returned a malformed answer"]


def run_batch(code, items, timeout, memory_mb, protected):
    return [run_sample(code, item, timeout, memory_mb, protected) for item in items]


def main():
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    _limit(resource.RLIMIT_CORE, 0)
    config = json.loads(proto_in.readline())
    protected = (proto_in.fileno(), proto_out.fileno())
    for line in proto_in:
        request = json.loads(line)
        results = run_batch(config["code"], request["items"], float(config["timeout"]), int(config["memory_mb"]),
                            protected)
        proto_out.write(json.dumps({"results": results}) + "\n")
        proto_out.flush()


main()
