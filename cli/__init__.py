"""The `pipeline` command. Each command group lives in its own module and registers itself here.

Start-up time is part of every command, so ``main`` imports only the module of the command being
run, and the overview (`pipeline`, `pipeline --help`, an unknown command) imports none: it is drawn
from ``COMMANDS``, whose one-line summaries a test keeps equal to the commands' own help.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

import typer

__all__ = ["COMMANDS", "COMMAND_MODULES", "build_app", "main"]


class Command(NamedTuple):
    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "ingest": Command(
        "ingest_cmds", "Validate bar files and store the accepted ones as canonical UTC Parquet."
    ),
    "validate": Command(
        "ingest_cmds",
        "Check bar files and report what ingest would do; writes nothing (and does not look for duplicates).",
    ),
    "sources": Command("sources_cmds", "Data sources: folders, upload sessions, databases."),
    "files": Command(
        "status_cmds", "Every input file the system knows (from the ledger on disk; Redis is not needed)."
    ),
    "jobs": Command(
        "status_cmds",
        "Queues (queued/started/finished/failed/scheduled), workers and the latest failures, from Redis.",
    ),
    "up": Command(
        "service_cmds",
        "Run everything: Redis (embedded unless REDIS_URL is set), the daemon, the workers and the web UI.",
    ),
    "ui": Command(
        "ui_cmds",
        "Serve the web UI (Trading Pipeline Manager): upload, sources, configure, monitor, queue health.",
    ),
    "daemon": Command(
        "daemon_cmds",
        "Watch data/raw, upload sessions and folder sources; enqueue an ingest job per finished file.",
    ),
    "worker": Command(
        "service_cmds", "Run one RQ worker (forking, warm parent, JSON serializer) on the given queues."
    ),
    "db": Command(
        "db_cmds",
        "The database of the ledger and the source registry: migrate its schema, copy it elsewhere.",
    ),
    "doctor": Command(
        "doctor_cmds",
        "Check this host's deployment (Redis, database, data folder, watches, workers, daemon) and say"
        " what to fix.",
    ),
    "run": Command(
        "run_cmds", "Start a research run: load, clean, features, labels, splits for each symbol."
    ),
    "status": Command("run_cmds", "List runs, or show one run's stages, timings, row counts and failure."),
    "continuous": Command(
        "futures_cmds", "Continuous futures: stitch a root's contracts at their rolls, with a roll log."
    ),
    "rerun": Command(
        "run_cmds",
        "Repeat a run with the same config under a new run id, reusing outputs of stages before"
        " --from-stage.",
    ),
}
"""Top-level command -> its module and the summary `pipeline --help` shows, in the order shown."""
COMMAND_MODULES: dict[str, str] = {name: command.module for name, command in COMMANDS.items()}


def _version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("trading-pipeline"))


def _root() -> None:
    """Market-data ingestion and research pipeline. Settings come from PIPELINE_* environment variables."""


def _overview_only() -> None:
    """Never runs: the overview lists commands without importing them."""


def build_app(command: str | None = None) -> typer.Typer:
    """The Typer app with the module of ``command``; for no or an unknown command, the overview."""
    wanted = COMMANDS.get(command or "")
    overview = wanted is None and command != "version"
    app = typer.Typer(
        name="pipeline",
        help="Market-data ingestion and research pipeline.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # The overview is a plain list: rich's help renderer alone costs more start-up than the rest.
        rich_markup_mode=None if overview else "rich",
    )
    app.callback()(_root)
    app.command("version")(_version)
    if command == "version":
        return app
    if wanted is None:
        for name, entry in COMMANDS.items():
            app.command(name, help=entry.summary, short_help=entry.summary)(_overview_only)
        return app
    importlib.import_module(f"cli.{wanted.module}").register(app)
    return app


def main() -> None:
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    build_app(command)()
