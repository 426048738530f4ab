"""The `pipeline` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import typer

from pipeline.cli import daemon_cmds, ingest_cmds, run_cmds, service_cmds, sources_cmds

__all__ = ["app", "main"]

app = typer.Typer(
    name="pipeline",
    help="Market-data ingestion and research pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Market-data ingestion and research pipeline. Settings come from PIPELINE_* environment variables."""


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("trading-pipeline"))


for module in (ingest_cmds, sources_cmds, daemon_cmds, service_cmds, run_cmds):
    module.register(app)


def main() -> None:
    app()
