"""The `pipeline` entry point: every command is reachable, and each run loads only what it needs."""

from __future__ import annotations

import importlib
import subprocess
import sys

import typer

from cli import COMMAND_MODULES, build_app


def _registered(module: str) -> set[str]:
    app = typer.Typer()
    importlib.import_module(f"cli.{module}").register(app)
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    return {n for n in names if n}


def test_the_command_map_matches_what_modules_register() -> None:
    """Each module registers exactly the top-level commands the lazy map sends to it."""
    for module in set(COMMAND_MODULES.values()):
        expected = {cmd for cmd, mod in COMMAND_MODULES.items() if mod == module}
        assert _registered(module) == expected, module


def test_help_lists_every_command() -> None:
    """`pipeline --help` loads every group."""
    app = build_app()
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert set(COMMAND_MODULES) | {"version"} <= names


def test_ingest_does_not_import_the_queue_or_pandas() -> None:
    """Running `pipeline ingest` pays only for ingest: no Redis client, no pandas, no stages."""
    code = (
        "import sys; from cli import build_app; build_app('ingest'); "
        "print(sorted(m for m in ('redis', 'rq', 'pandas', 'trading_pipeline.stages') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
