"""``flask rank-file``: the matching engine on a benchmark-format JSON file, no database."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask

from .matching import PayloadError, rank_file_payload


def register(app: Flask) -> None:
    @app.cli.command("rank-file", with_appcontext=False)
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--top", default=20, show_default=True, type=click.IntRange(min=1),
                  help="Suppliers to list per challenge.")
    def rank_file(path: Path, top: int) -> None:
        """Rank the suppliers in PATH for each challenge in it and print the ranking JSON.

        PATH holds {"challenges": [...], "suppliers": [...]} in the benchmark format
        (marketplace/data/matching-bench/README.md). Uses exactly the web app's engine.
        """
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            raise click.ClickException(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise click.ClickException(f"{path}: cannot be read ({error})") from None
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as error:
            raise click.ClickException(
                f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: "
                f"{error.msg})"
            ) from None
        try:
            result = rank_file_payload(payload, top=top)
        except PayloadError as error:
            raise click.ClickException(f"{path}: {error}") from None
        click.echo(json.dumps(result, indent=1))
