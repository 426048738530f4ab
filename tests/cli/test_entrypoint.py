"""The `pipeline` entry point: every command is reachable, and each run loads only what it needs."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import typer

from cli import COMMAND_MODULES, COMMANDS, build_app


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


def _summaries(module: str) -> dict[str, str]:
    """Each registered command's help as `--help` shows it: the first paragraph, on one line."""
    app = typer.Typer()
    importlib.import_module(f"cli.{module}").register(app)
    found = {c.name: c.help or inspect.getdoc(c.callback) or "" for c in app.registered_commands}
    found |= {g.name: g.typer_instance.info.help or "" for g in app.registered_groups}  # type: ignore[union-attr]
    return {name: " ".join(text.split("\n\n")[0].split()) for name, text in found.items() if name}


def test_the_overview_shows_each_command_with_its_own_summary() -> None:
    """`pipeline --help` imports no command module, so its summaries must match the commands' help."""
    for module in set(COMMAND_MODULES.values()):
        for name, summary in _summaries(module).items():
            assert COMMANDS[name].summary == summary, name


def test_the_overview_imports_no_command_module() -> None:
    """`pipeline --help` starts fast: no command module, no settings, no pandas."""
    code = (
        "import sys; from cli import build_app; build_app(None); "
        "print(sorted(m for m in sys.modules"
        " if m.startswith(('cli.', 'pandas', 'pydantic', 'trading_pipeline'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    names = {c.name for c in build_app().registered_commands}
    assert set(COMMANDS) | {"version"} == names


def test_ingest_does_not_import_the_queue_or_pandas() -> None:
    """Running `pipeline ingest` pays only for ingest: no Redis client, no pandas, no stages."""
    code = (
        "import sys; from cli import build_app; build_app('ingest'); "
        "print(sorted(m for m in ('redis', 'rq', 'pandas', 'trading_pipeline.stages') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
