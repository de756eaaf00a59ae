"""Deployed-model latency (issue 20; aim: the studio adds at most 10 % to time to first token and costs at most
5 % of tokens/s).

The bundled SmolLM2-135M-Instruct GGUF (Q4_1) registered as a version and deployed in a real studio process
(``flask_app.py``, loopback, HTTP): answers streamed through the studio's ``/v1/chat/completions`` (studio ->
llama.cpp server child -> studio -> client), against the same file loaded with llama_cpp in this process
(``load_llama``, the same chat template, the same greedy settings). Runs alternate between the two so that noise
hits both alike; time to first token is the first content delta, tokens/s counts content deltas after it. A third
row asks a llama.cpp server child of the same kind directly, to show which hop costs what.

    .venv/bin/python bench/deploy_latency.py [--runs 10] [--max-tokens 64]
"""
from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import requests

from _common import ROOT, percentile  # noqa: F401  (sets the path and offline mode)

MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Write a short paragraph about the sea."}]


def register_gguf(server, folder: Path) -> None:
    """The bundled GGUF as a completed export in the server's database, registered and deployed over HTTP."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from core.default_model import bundled_gguf_path
    from services.models.exports import ExportJob
    from services.models.training import TrainingSession

    session_id, export_id = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    target = folder / "exports" / session_id / export_id
    target.mkdir(parents=True)
    shutil.copy(bundled_gguf_path(), target / "SmolLM2-135M-Instruct-Q4_1.gguf")
    engine = create_engine(f"sqlite:///{folder / 'instance' / 'tunewright.db'}")
    with Session(engine) as db_session:
        db_session.add(TrainingSession(id=session_id, name="smol", config={}, status="completed",
                                       output_dir=str(folder / "outputs" / session_id), last_logs=[]))
        db_session.flush()
        db_session.add(ExportJob(id=export_id, session_id=session_id, format="gguf", status="completed",
                                 quantization="Q4_1", progress=1.0, export_dir=str(target), manifest={}))
        db_session.commit()
    engine.dispose()
    answer = requests.post(server.url + "/api/registry/register", json={"export_id": export_id, "name": "smol"},
                           timeout=120)
    assert answer.status_code in (200, 201), answer.text
    answer = requests.post(server.url + "/api/registry/models/smol/versions/1/deploy", timeout=300)
    assert answer.status_code == 200, answer.text


def through_studio(url: str, max_tokens: int, http=requests, model: str = "smol") -> tuple[float, float, int]:
    body = {"model": model, "messages": MESSAGES, "max_tokens": max_tokens, "temperature": 0, "stream": True}
    started = time.perf_counter()
    first = last = None
    tokens = 0
    with http.post(url + "/v1/chat/completions", json=body, stream=True, timeout=300) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith(b"data: {"):
                continue
            delta = json.loads(line[6:])["choices"][0]["delta"]
            if delta.get("content"):
                last = time.perf_counter()
                first = first or last
                tokens += 1
    return first - started, (tokens - 1) / (last - first) if tokens > 1 else 0.0, tokens


def direct(llm, max_tokens: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = last = None
    tokens = 0
    for chunk in llm.create_chat_completion(messages=MESSAGES, max_tokens=max_tokens, temperature=0, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            last = time.perf_counter()
            first = first or last
            tokens += 1
    return first - started, (tokens - 1) / (last - first) if tokens > 1 else 0.0, tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    from core.default_model import bundled_gguf_path
    from core.inference.llama_loader import load_llama
    from services.deploy.gguf import GGUFServer
    from tests.live_server import start_server, stop_server

    folder = Path(tempfile.mkdtemp(prefix="tunewright-deploy-bench-"))
    server = start_server(folder, TUNEWRIGHT_LOG_LEVEL="WARNING")
    try:
        register_gguf(server, folder)
        llm = load_llama(bundled_gguf_path(), n_ctx=2048)
        # The same kind of child the studio runs, asked directly: splits the cost between llama.cpp's own server
        # and the studio's hop in front of it.
        child = GGUFServer("smol:v1", str(bundled_gguf_path()), folder / "bench-child.log", n_ctx=2048,
                           start_seconds=120, time_limit=300, on_exit=lambda code: None)
        child.start()
        ask_child = functools.partial(through_studio, child.url, http=child._http, model="smol:v1")
        # One kept-alive connection per client, as the openai client (httpx's pool) and the studio's own proxy use.
        ask_studio = functools.partial(through_studio, server.url, http=requests.Session())
        ask_studio(8), direct(llm, 8), ask_child(8)  # warm all three (first-use allocations)
        studio, local, direct_child = [], [], []
        for _ in range(args.runs):
            studio.append(ask_studio(args.max_tokens))
            local.append(direct(llm, args.max_tokens))
            direct_child.append(ask_child(args.max_tokens))
        child.stop()
    finally:
        stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)

    def row(name: str, runs: list) -> tuple[float, float]:
        ttft = statistics.median(r[0] for r in runs) * 1000
        rate = statistics.median(r[1] for r in runs)
        print(f"{name:38} {ttft:9.1f} {percentile([r[0] * 1000 for r in runs], 95):9.1f} {rate:9.1f} "
              f"{statistics.median(r[2] for r in runs):7.0f}")
        return ttft, rate

    print(f"SmolLM2-135M-Instruct Q4_1, greedy, max_tokens {args.max_tokens}, {args.runs} runs each (alternating)")
    print(f"{'':38} {'TTFT p50':>9} {'TTFT p95':>9} {'tok/s p50':>9} {'tokens':>7}   (ms, ms, tokens/s)")
    base_ttft, base_rate = row("llama_cpp in one process", local)
    row("llama.cpp server child, asked directly", direct_child)
    ttft, rate = row("studio /v1 (HTTP, llama.cpp child)", studio)
    print(f"studio adds {ttft - base_ttft:+.1f} ms ({(ttft / base_ttft - 1) * 100:+.1f} %) to time to first token "
          f"(aim <= +10 %); tokens/s {(rate / base_rate - 1) * 100:+.1f} % (aim >= -5 %)")


if __name__ == "__main__":
    main()
