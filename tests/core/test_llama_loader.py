"""Quantised GGUFs decode on whatever CPU the suite runs on, through the one llama.cpp loader.

Each load runs in a child process: a crash inside llama.cpp (the AMX repacking SIGSEGV) then fails one test with
its signal instead of killing the whole run. Every case runs twice: on this CPU's own path, and on the path of a
CPU without AMX (the loader's ``TUNEWRIGHT_LLAMA_REPACK=no-amx``: AMX refused to the child by seccomp, repacking on),
so one machine checks both kinds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import gguf_tools
from core.default_model import bundled_gguf_path
from core.inference import llama_loader

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

DECODE = """
import json, sys
from core.inference.llama_loader import load_llama
path, prompt = sys.argv[1:3]
llm = load_llama(path, n_ctx=128, seed=0)
out = llm(prompt, max_tokens=8, temperature=0.0, top_k=1)
print(json.dumps({"text": out["choices"][0]["text"], "tokens": out["usage"]["completion_tokens"]}))
"""

ENGINE = """
import json, sys
from core.training.rollout.llama_cpp_engine import LlamaCppEngine, Sampling
path = sys.argv[1]
engine = LlamaCppEngine(path, n_parallel=2, max_sequence_length=64, threads=1)
ids, logprobs = engine.generate([[1, 2, 3], [1, 2, 3]], Sampling(max_new_tokens=6, greedy=True), set())
print(json.dumps({"tokens": ids}))
"""

# On this CPU: the loader's own rule. Without AMX: what an AVX2/AVX-512 machine does (repacking on).
MODES = {"this-cpu": "auto", "cpu-without-amx": "no-amx"}


def run_child(code: str, *args: str, repack: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TUNEWRIGHT_LLAMA_REPACK=repack, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=ROOT)


def answer(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, (f"llama.cpp child exited with {result.returncode} "
                                    f"(-11 is the AMX repacking crash):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tiny_quantised(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tiny-gguf")
    f16 = gguf_tools.convert_hf_to_gguf(tiny_model_dir, folder / "tiny-F16.gguf", "f16")
    return {quant: gguf_tools.quantize(f16, folder / f"tiny-{quant}.gguf", quant) for quant in ("Q8_0", "Q4_K_M")}


def test_repacking_follows_the_cpu_unless_the_switch_says_otherwise(monkeypatch):
    flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0] \
        if Path("/proc/cpuinfo").is_file() else ""
    assert llama_loader.cpu_has_amx() == ("amx_tile" in flags.split() or "amx_int8" in flags.split()
                                          or "amx_bf16" in flags.split())
    monkeypatch.delenv("TUNEWRIGHT_LLAMA_REPACK", raising=False)
    assert llama_loader.repack_weights() is (not llama_loader.cpu_has_amx())
    monkeypatch.setenv("TUNEWRIGHT_LLAMA_REPACK", "off")
    assert llama_loader.repack_weights() is False and llama_loader.model_params().use_extra_bufts is False
    monkeypatch.setenv("TUNEWRIGHT_LLAMA_REPACK", "on")
    assert llama_loader.repack_weights() is True and llama_loader.model_params(vocab_only=True).vocab_only is True


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("quant", ["Q8_0", "Q4_K_M"])
def test_a_quantised_tiny_gguf_decodes(tiny_quantised, quant, mode):
    result = answer(run_child(DECODE, str(tiny_quantised[quant]), "What is 2 + 2?", repack=MODES[mode]))
    assert result["tokens"] >= 1


@pytest.mark.parametrize("mode", MODES)
def test_the_bundled_quantised_smollm2_answers(mode):
    """The real 135 M model as shipped (Q4_1): a wrong kernel would not name Paris."""
    result = answer(run_child(DECODE, str(bundled_gguf_path()), "The capital of France is", repack=MODES[mode]))
    assert "Paris" in result["text"]


@pytest.mark.parametrize("mode", MODES)
def test_the_rollout_engine_samples_from_a_quantised_gguf(tiny_quantised, mode):
    result = answer(run_child(ENGINE, str(tiny_quantised["Q8_0"]), repack=MODES[mode]))
    assert [len(ids) for ids in result["tokens"]] == [6, 6]


@pytest.mark.skipif(not llama_loader.cpu_has_amx(), reason="the crash the loader avoids needs a CPU with AMX")
def test_on_this_amx_cpu_repacking_is_what_crashes():
    """Why the loader exists; when a llama.cpp upgrade fixes the crash this fails: drop the workaround then."""
    result = run_child(DECODE, str(bundled_gguf_path()), "The capital of France is", repack="on")
    assert result.returncode == -11
