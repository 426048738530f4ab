"""`pipeline doctor`: what is wrong with this host's deployment, one line per finding, and what to fix."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, escape, exits_cleanly, load_settings, print_json

__all__ = ["register"]

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("doctor")(doctor_command)


@exits_cleanly
def doctor_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of lines.")] = False,
) -> None:
    """Check this host's deployment (Redis, database, data folder, watches, workers, daemon) and say
    what to fix.

    Exit 0 when nothing failed, 1 otherwise. Run it as the user the services run as."""
    from daemon.doctor import Level, run_checks

    findings = run_checks(load_settings(logs=False))
    failed = any(f.level == Level.FAIL for f in findings)
    if json_out:
        print_json({"ok": not failed, "findings": [f.to_json() for f in findings]})
    else:
        for f in findings:
            fix = f" -> {escape(f.fix)}" if f.fix else ""
            console.print(
                f"[{STYLES[f.level]}]{f.level:<4}[/] {escape(f.check)}: {escape(f.message)}{fix}",
                highlight=False,
                soft_wrap=True,
            )
    if failed:
        raise typer.Exit(1)
