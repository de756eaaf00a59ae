"""The program that runs *inside* the sandbox (stdlib only; its source is passed to ``python -I -S -c``).

Protocol on stdin/stdout, one JSON line each: first ``{"code", "timeout", "memory_mb"}``, then per batch
``{"items": [{"prompt", "completion", "fields"}]}`` answered by ``{"results": [[score, error], ...]}``.
Each batch runs in a forked child with hard limits (address space, CPU seconds, no new processes, small
files, few descriptors); a per-sample timer and the parent's watch catch hangs. When the child dies the
sample it was on scores None with the reason, and a fresh child continues with the next sample.
"""
import json
import math
import os
import resource
import select
import signal
import sys
import traceback

MAX_LINE = 65536


def _limit(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


def _no_processes(*_args, **_kwargs):
    raise PermissionError("starting processes is disabled in the reward sandbox")


def _child(code, items, start, timeout, memory_mb, out_fd):
    _limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CPU, int(math.ceil(timeout * (len(items) - start))) + 1)
    _limit(resource.RLIMIT_NPROC, 0)  # the kernel refuses fork/clone to this non-root user from here on
    _limit(resource.RLIMIT_FSIZE, 16 * 1024 * 1024)
    _limit(resource.RLIMIT_CORE, 0)
    for name in ("system", "fork", "forkpty", "popen", "execv", "execve", "execl", "execle", "execlp", "execvp",
                 "execvpe", "spawnl", "spawnv", "spawnve", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, _no_processes)
    out = os.fdopen(out_fd, "w")

    def report(index, score, error):
        out.write(json.dumps([index, score, error]) + "\n")
        out.flush()

    def on_alarm(_signum, _frame):
        raise TimeoutError(f"timed out after {timeout:g} s")

    namespace = {"__name__": "reward_module"}
    try:
        exec(compile(code, "<reward>", "exec"), namespace)
        reward = namespace["reward"]
        if not callable(reward):
            raise TypeError("'reward' is not a function")
    except BaseException:
        error = "the code does not load: " + traceback.format_exc(limit=-3)[-2000:]
        for index in range(start, len(items)):
            report(index, None, error)
        os._exit(0)
    signal.signal(signal.SIGALRM, on_alarm)
    for index in range(start, len(items)):
        item = items[index]
        score, error = None, None
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
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
        report(index, score, error)
    out.close()
    os._exit(0)


def _reason(status, timeout):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {signal.SIGXCPU: "stopped: CPU time limit reached", signal.SIGKILL: "killed (timeout or limit)",
                signal.SIGSEGV: "crashed (segmentation fault)"}.get(sig, f"killed by signal {sig}")
    return f"exited with status {os.WEXITSTATUS(status)} before returning a score"


def run_batch(code, items, timeout, memory_mb, protected):
    results = [None] * len(items)
    start = 0
    while start < len(items):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            for fd in protected:
                os.close(fd)
            try:
                _child(code, items, start, timeout, memory_mb, write_fd)
            finally:
                os._exit(70)
        os.close(write_fd)
        buffer, current, dead = b"", start, None
        while current < len(items):
            ready, _, _ = select.select([read_fd], [], [], timeout + 2.0)
            if not ready:
                dead = f"timed out after {timeout:g} s"
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    index, score, error = json.loads(line)
                    if index != current:
                        raise ValueError
                except (ValueError, TypeError):
                    dead = "the sandbox returned a malformed answer"
                    break
                results[current] = [score, error]
                current += 1
            if dead or len(buffer) > MAX_LINE:
                dead = dead or "the result was too large"
                os.kill(pid, signal.SIGKILL)
                break
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
        if current < len(items):
            results[current] = [None, dead or _reason(status, timeout)]
            current += 1
        start = current
    return results


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
