"""The child process that serves one deployed GGUF: llama-cpp-python's OpenAI-compatible server on a socket the
studio opened for it. Run as ``python -m core.deploy.gguf_server --model <file> --alias <name:vN> --fd <n>``.

Why a child: llama.cpp holds the model's memory until the process ends (undeploy frees it exactly), a crash in a
native kernel cannot take the studio down, and the server already speaks the OpenAI wire format, SSE included.
The studio opens the listening socket and passes its descriptor (no port race); the API key comes through the
environment (``TUNEWRIGHT_DEPLOY_KEY``, not argv: other users of the machine can read argv) so that only the
studio can call the port. The child ends itself when the studio dies (it watches its parent's pid; not
``PR_SET_PDEATHSIG``, which fires when the *thread* that started the child ends, i.e. after the deploy request),
so a studio crash leaves no server serving behind its back.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time


def _die_with_parent(parent: int, interval: float = 1.0) -> None:
    """A daemon thread that ends this process (SIGTERM: uvicorn shuts down) once ``parent`` is no longer its
    parent (it died; the child was re-parented)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--fd", type=int, required=True, help="a listening TCP socket opened by the studio")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--parent", type=int, default=0, help="the studio's pid: exit if it is already gone")
    args = parser.parse_args(argv)
    if args.parent:
        if os.getppid() != args.parent:
            return 1  # the studio is gone already
        _die_with_parent(args.parent)
    import uvicorn

    from core.inference.llama_loader import llama_server_app

    app = llama_server_app(args.model, args.alias, os.environ.pop("TUNEWRIGHT_DEPLOY_KEY"), n_ctx=args.n_ctx)
    sock = socket.socket(fileno=args.fd)
    # ws="none": no WebSockets here, and this project's own websockets/ package would shadow the library's
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=30, ws="none")
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
