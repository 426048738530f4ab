"""`pipeline daemon`: the watched-folder process (its code lives in the top-level ``daemon`` package)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, exits_cleanly, load_settings, print_json


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("daemon")(daemon_command)


@exits_cleanly
def daemon_command(
    once: Annotated[
        bool, typer.Option("--once", help="Reconcile the folders with the ledger once, then exit.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="With --once: print one JSON summary on stdout.")
    ] = False,
) -> None:
    """Watch data/raw, upload sessions and folder sources; enqueue an ingest job per finished file.

    Needs PIPELINE_REDIS_URL (or REDIS_URL). SIGTERM/SIGINT stop it cleanly, SIGHUP forces a rescan.
    """
    from daemon import connect, run_once, serve

    settings = load_settings("daemon")
    connection = connect(settings)
    if not once:
        serve(settings, connection)
        return
    tally = run_once(settings, connection)
    if json_out:
        print_json(tally.to_json())
    else:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(tally.skipped.items())) or "none"
        console.print(f"enqueued {len(tally.enqueued)} file(s); skipped: {skipped}")
