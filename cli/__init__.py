"""The `pipeline` command. Each command group lives in its own module and registers itself here.

Start-up time is part of every command (and of the ingest benchmark), so ``main`` imports only the
module of the command being run; ``pipeline --help`` and unknown commands load them all.
"""

from __future__ import annotations

import importlib
import sys

import typer

__all__ = ["COMMAND_MODULES", "build_app", "main"]

COMMAND_MODULES: dict[str, str] = {
    "ingest": "ingest_cmds",
    "validate": "ingest_cmds",
    "sources": "sources_cmds",
    "daemon": "daemon_cmds",
    "up": "service_cmds",
    "worker": "service_cmds",
    "files": "service_cmds",
    "jobs": "service_cmds",
    "run": "run_cmds",
    "status": "run_cmds",
    "rerun": "run_cmds",
}
"""Top-level command -> the module that defines it (tests check this matches what modules register)."""


def _version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("trading-pipeline"))


def _root() -> None:
    """Market-data ingestion and research pipeline. Settings come from PIPELINE_* environment variables."""


def build_app(command: str | None = None) -> typer.Typer:
    """The Typer app with the modules needed for ``command`` (all of them when None or unknown)."""
    app = typer.Typer(
        name="pipeline",
        help="Market-data ingestion and research pipeline.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    app.command("version")(_version)
    wanted = COMMAND_MODULES.get(command or "")
    names = [wanted] if wanted else sorted(set(COMMAND_MODULES.values()))
    if command == "version":
        names = []
    for name in names:
        importlib.import_module(f"cli.{name}").register(app)
    return app


def main() -> None:
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    build_app(command)()
