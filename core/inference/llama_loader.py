"""The one way this project opens a GGUF with llama.cpp, so a CPU-specific workaround applies everywhere.

Why it exists: on CPUs with AMX (Intel Sapphire Rapids and later, the common server CPU), llama.cpp moves the
weights of a quantised GGUF (Q4_0/Q4_1/Q8_0/k-quants) into its AMX "extra buffer type" while loading, and the first
decode then dies with SIGSEGV (ggml-org/llama.cpp#20824, unfixed in the llama-cpp-python 0.3.36 we pin; F16 is not
repacked and works). Loading with the model parameter ``use_extra_bufts = False`` skips every weight repacking and
the same file answers normally. Elsewhere (AVX2/AVX-512 without AMX) repacking is safe and may speed kernels up, so
it stays on there; ``bench/llama_repack.py`` measures both on one machine (on the development CPU repacking is
worth at most 2 %, so the workaround costs next to nothing).

``TUNEWRIGHT_LLAMA_REPACK`` chooses: ``auto`` (default: off exactly when the CPU reports AMX), ``off``, ``on``, or
``no-amx``: repacking on in a process that AMX is refused to, i.e. the path of an AVX2/AVX-512 CPU, simulated on an
AMX machine (run the llama.cpp tests under it to check the other kind of machine).
When this llama.cpp is fixed upstream, change :func:`repack_weights` alone.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
from pathlib import Path
from typing import Any

AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")
_CONSTRUCT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The first CPU's feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_amx() -> bool:
    return any(flag in cpu_flags() for flag in AMX_FLAGS)


def repack_weights() -> bool:
    """May llama.cpp repack weights into its extra (AMX / AVX) buffer types on this machine?"""
    choice = os.environ.get("TUNEWRIGHT_LLAMA_REPACK", "auto").strip().lower()
    if choice == "no-amx":
        _simulate_cpu_without_amx()
        return True
    if choice in ("on", "1", "true", "yes"):
        return True
    if choice in ("off", "0", "false", "no"):
        return False
    return not cpu_has_amx()


def model_params(**fields: Any):
    """``llama_model_params`` for the low-level API (the rollout engine), with the repacking rule applied."""
    import llama_cpp

    params = llama_cpp.llama_model_default_params()
    params.use_extra_bufts = repack_weights()
    for name, value in fields.items():
        setattr(params, name, value)
    return params


@contextlib.contextmanager
def _defaults_with_repacking_rule():
    """llama-cpp-python's ``Llama`` builds its model parameters from ``llama_model_default_params()`` inside its
    constructor and exposes no ``use_extra_bufts`` argument, so the default is swapped for the constructor's
    duration. The lock makes concurrent loads in one process safe; nothing else here reads the defaults."""
    import llama_cpp.llama_cpp as native

    original = native.llama_model_default_params

    def defaults():
        params = original()
        params.use_extra_bufts = repack_weights()
        return params

    with _CONSTRUCT_LOCK:
        native.llama_model_default_params = defaults
        try:
            yield
        finally:
            native.llama_model_default_params = original


def load_llama(path: str | os.PathLike, n_ctx: int = 2048, **kwargs: Any):
    """A ``llama_cpp.Llama`` for ``path`` (plus ``lora_path`` etc. in ``kwargs``), safe on every CPU."""
    from llama_cpp import Llama

    kwargs.setdefault("verbose", False)
    kwargs.setdefault("n_threads", max(1, os.cpu_count() or 1))
    with _defaults_with_repacking_rule():
        return Llama(model_path=str(Path(path)), n_ctx=n_ctx, **kwargs)


def llama_server_app(path: str | os.PathLike, alias: str, api_key: str, n_ctx: int = 2048, **model_fields: Any):
    """llama-cpp-python's OpenAI-compatible server app (``llama_cpp.server.app.create_app``) serving ``path`` as
    ``alias``, its model built under the same repacking rule as :func:`load_llama` (``create_app`` constructs
    the ``Llama`` at once, inside the swapped defaults). ``interrupt_requests`` is off: the server would otherwise
    end a streaming answer when the next request arrives; the studio queues requests itself."""
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    threads = max(1, os.cpu_count() or 1)  # load_llama's default, so a served model runs like a loaded one
    model = ModelSettings(model=str(Path(path)), model_alias=alias, n_ctx=n_ctx, n_threads=threads,
                          n_threads_batch=threads, verbose=False, **model_fields)
    server = ServerSettings(host="127.0.0.1", api_key=api_key, interrupt_requests=False)
    with _defaults_with_repacking_rule():
        app = create_app(server_settings=server, model_settings=[model])
    from llama_cpp.server import app as server_module

    proxy = getattr(server_module, "_llama_proxy", None)
    served = getattr(proxy, "_current_model", None)
    if served is not None:
        reproducible_greedy(served)
    return app


def reproducible_greedy(model) -> None:
    """Make a greedy (temperature 0) answer the same whatever was asked before it.

    Why: llama-cpp-python reuses the prompt prefix left in the KV cache by the previous request and evaluates only
    the rest, often just the last prompt token, alone. Whether a token's logits come out bit-identical alone and
    inside a batch depends on the CPU's kernels: on an AVX2-only AMD EPYC they differ in the last bits, and the
    second of two identical greedy requests answered differently (seen in tests/routes/test_openai_v1_live.py;
    on an AMX CPU, with repacking off, they matched). So a greedy request clears the cache and evaluates its
    whole prompt, as a fresh model would; sampled requests keep the prefix cache (they differ anyway)."""
    generate = model.generate

    def generate_reproducibly(tokens, *args, **kwargs):
        if kwargs.get("temp", 1.0) <= 0 and kwargs.get("reset", True):
            model.reset()
        return generate(tokens, *args, **kwargs)

    model.generate = generate_reproducibly


@functools.lru_cache(maxsize=1)
def _simulate_cpu_without_amx() -> None:
    if not refuse_amx_to_this_process():
        raise RuntimeError("TUNEWRIGHT_LLAMA_REPACK=no-amx needs Linux on x86-64 (a seccomp filter)")


def refuse_amx_to_this_process() -> bool:
    """Make this process take the path of a CPU without AMX: a seccomp filter refuses the
    ``arch_prctl(ARCH_REQ_XCOMP_PERM)`` call that ggml (and oneDNN) must make before using AMX tiles, so llama.cpp
    registers no AMX buffer type and repacks for AVX-512/AVX2 instead. For tests and ``bench/llama_repack.py``:
    it lets one AMX machine check the other machines' path. Irreversible for the process; Linux x86-64 only
    (returns False elsewhere). Call it before llama.cpp or torch first uses the CPU backend."""
    import ctypes
    import errno
    import platform

    from core.sandbox.seccomp import (ARCH, ARG0, AUDIT_ARCH_X86_64, JEQ_K, LD_W_ABS, NR, RET_K, SECCOMP_RET_ALLOW,
                                      SECCOMP_RET_ERRNO, assemble)

    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    sys_arch_prctl, arch_req_xcomp_perm = 158, 0x1023
    program = assemble([
        (LD_W_ABS, ARCH), (JEQ_K, AUDIT_ARCH_X86_64, None, "allow"),
        (LD_W_ABS, NR), (JEQ_K, sys_arch_prctl, None, "allow"),
        (LD_W_ABS, ARG0), (JEQ_K, arch_req_xcomp_perm, "deny", "allow"),
        "deny", (RET_K, SECCOMP_RET_ERRNO | errno.EPERM),
        "allow", (RET_K, SECCOMP_RET_ALLOW)])
    instructions = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    fprog = SockFprog(len(program) // 8, ctypes.addressof(instructions))
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) == 0
