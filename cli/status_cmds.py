"""Looking at the service: `pipeline files` (the ledger on disk, works with Redis down) and
`pipeline jobs` (Redis, saying clearly when it cannot reach it).

Both are run often, so this module imports only what they need, when they need it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cli.common import console, escape, exits_cleanly, load_settings, print_json, styled_status
from trading_pipeline.errors import UsageError
from trading_pipeline.statuses import FileStatus
from trading_pipeline.views.files import reason_or_warning as plain_reason
from trading_pipeline.views.files import short_path

if TYPE_CHECKING:
    from trading_pipeline.ledger import FileRecord

__all__ = ["reason_or_warning", "register", "status_with_warnings"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("files")(files)
    app.command("jobs")(jobs)


@exits_cleanly
def files(
    source: Annotated[str | None, typer.Option("--source", help="Only this data source.")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only this status (repeatable).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="How many of the newest files the table shows.")
    ] = 50,
    show_all: Annotated[bool, typer.Option("--all", help="Show every file (--json always does).")] = False,
    history: Annotated[
        bool, typer.Option("--history", help="Every version of each file, not only its current one.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Every input file the system knows (from the ledger on disk; Redis is not needed).

    Each file shows its current version (a file rewritten ten times is one row); --history lists the
    older versions too. A file whose report holds warnings says so in every view."""
    from trading_pipeline.ledger import Ledger
    from trading_pipeline.views.files import file_listing

    settings = load_settings("cli", logs=False)
    unknown = [s for s in status or [] if s not in FileStatus.__members__.values()]
    if unknown:
        known = ", ".join(FileStatus)
        raise UsageError(f"unknown status {unknown[0]!r}; use one of {known}")
    current = not history
    if as_json:
        ledger = Ledger(settings)
        print_json({"files": [r.to_json() for r in ledger.files(source, status or None, current=current)]})
        return
    listing = file_listing(
        settings, source=source, statuses=status, limit=None if show_all else limit, current=current
    )
    console.print(_files_table(list(reversed(listing.records)), settings.data_dir))
    summary = listing.summary()
    if listing.warned:
        summary += f"; {listing.warned:,} shown with warnings (`pipeline validate FILE` lists them all)"
    if len(listing.records) < listing.total:
        summary += f" (the newest {len(listing.records):,} of {listing.total:,} shown; --all shows every one)"
    console.print(summary, highlight=False)


def _files_table(records: list[FileRecord], data_dir: Path) -> Table:
    table = Table(title=f"Files in {escape(str(data_dir))}", title_justify="left")
    for column in ("path", "source", "status", "symbols", "rows", "updated", "reason"):
        table.add_column(column, overflow="fold", justify="right" if column == "rows" else "left")
    for r in records:
        symbols = ", ".join(r.symbols[:3]) + (f" +{len(r.symbols) - 3}" if len(r.symbols) > 3 else "")
        table.add_row(
            escape(short_path(r.path, data_dir)),
            escape(r.source_id),
            status_with_warnings(r.status, r.warning_count),
            escape(symbols),
            f"{r.rows:,}" if r.rows else "",
            _local_time(r.updated_at),
            reason_or_warning(r.reason, r.first_warning, r.warning_count),
        )
    return table


def status_with_warnings(status: str, warnings: int) -> str:
    """``ingested ⚠ 2``: a status with doubts never looks like a clean one."""
    if not warnings:
        return styled_status(status)
    return f"{styled_status(status)} [yellow]⚠ {warnings}[/]"


def reason_or_warning(reason: str, first_warning: str, warnings: int) -> str:
    """The reason, else the first warning (and how many more), escaped for the terminal."""
    text = plain_reason(reason, first_warning, warnings)
    if reason or not warnings:
        return escape(text)
    return f"[yellow]warning:[/] {escape(text.removeprefix('warning: '))}"


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


@exits_cleanly
def jobs(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    failures: Annotated[int, typer.Option(min=0, help="How many recent failures to show.")] = 10,
) -> None:
    """Queues (queued/started/finished/failed/scheduled), workers and the latest failures, from Redis."""
    from jobqueue.connect import connect_settings, redacted, resolve_url
    from jobqueue.status import queue_summary

    settings = load_settings("cli", logs=False)
    connection = connect_settings(settings)
    summary = {
        "redis_url": redacted(resolve_url(settings) or ""),
        **queue_summary(connection, failures=failures),
    }
    if as_json:
        print_json(summary)
        return
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    columns = ("queued", "started", "scheduled", "deferred", "finished", "failed", "canceled")
    queues = Table(title=f"Queues at {escape(summary['redis_url'])}", title_justify="left")
    queues.add_column("queue")
    for column in columns:
        queues.add_column(column, justify="right")
    for row in summary["queues"]:
        queues.add_row(escape(row["queue"]), *(str(row[c]) for c in columns))
    console.print(queues)
    workers = Table(title=f"{len(summary['workers'])} worker(s)", title_justify="left")
    for column in ("name", "state", "queues", "current job", "ok", "failed"):
        workers.add_column(column)
    for w in summary["workers"]:
        workers.add_row(
            escape(w["name"]), w["state"], escape(",".join(w["queues"])), escape(w["current_job"] or ""),
            str(w["successful_jobs"]), str(w["failed_jobs"]),
        )  # fmt: skip
    console.print(workers)
    if summary["failures"]:
        failed = Table(title="Latest failures", title_justify="left")
        for column in ("ended", "queue", "job", "error"):
            failed.add_column(column, overflow="fold")
        for f in summary["failures"]:
            failed.add_row(
                _local_time(f["ended_at"] or ""),
                escape(f["queue"]),
                escape(f["description"] or f["job_id"]),
                escape(f["error"]),
            )
        console.print(failed)
