"""`flask --app flask_app <command>` commands for set-up and operations."""
from __future__ import annotations

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("prepare-model")
    @click.option("--force", is_flag=True, help="Convert again even if already prepared.")
    def prepare_model(force: bool) -> None:
        """Convert the bundled SmolLM2 GGUF into a trainable safetensors folder (once)."""
        from services.default_model import prepare

        def echo(step: int, total: int, message: str) -> None:
            click.echo(f"[prepare-model {step}/{total}] {message}", err=True)

        info = prepare(progress=echo, force=force)
        click.echo(info["path"])
