"""`pipeline db migrate` and `pipeline db copy`: the schema of the ledger and the source registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, escape, exits_cleanly, load_settings, print_json

__all__ = ["db_app", "register"]

db_app = typer.Typer(
    name="db",
    help="The database of the ledger and the source registry: migrate its schema, copy it elsewhere.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of lines.")]


def register(app: typer.Typer) -> None:
    """Add the `db` group to `app`."""
    app.add_typer(db_app, name="db")


@db_app.command("migrate")
@exits_cleanly
def migrate_command(json_out: Json = False) -> None:
    """Create or upgrade the schema (PIPELINE_DATABASE_URL, else SQLite in data/state); twice is a no-op."""
    from trading_pipeline.dbadmin import migrate_all

    states = migrate_all(load_settings(logs=False))
    if json_out:
        print_json({"stores": [s.to_json() for s in states]})
        return
    for state in states:
        done = "; ".join(state.applied) if state.applied else "already up to date"
        console.print(f"{state.component}: version {state.version} ({escape(done)}) in {escape(state.where)}")


@db_app.command("copy")
@exits_cleanly
def copy_command(
    source: Annotated[str, typer.Option("--from", help="sqlite:///path/to/data or postgresql://...")],
    destination: Annotated[str, typer.Option("--to", help="postgresql://... (or sqlite:///path/to/data)")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The data folder the rows belong to (default PIPELINE_DATA_DIR)."),
    ] = None,
    json_out: Json = False,
) -> None:
    """Copy every row of the ledger and the registry into an empty database, then count both sides.

    Stop the daemon and the workers first: rows written during the copy would be missed."""
    from trading_pipeline.dbadmin import copy_database
    from trading_pipeline.urls import redacted

    settings = load_settings(logs=False)
    results = copy_database(source, destination, (data_dir or settings.data_dir).resolve())
    if json_out:
        print_json({"to": redacted(destination), "tables": {r.table: r.rows for r in results}})
        return
    for result in results:
        console.print(f"{result.table}: {result.rows} row(s) copied")
    console.print(f"set PIPELINE_DATABASE_URL={escape(redacted(destination))} on every host to use it")
