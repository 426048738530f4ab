"""Looking at the service: `pipeline files` (the ledger on disk, works with Redis down) and
`pipeline jobs` (Redis, saying clearly when it cannot reach it).

Both are run often, so this module imports only what they need, when they need it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import exits_cleanly, load_settings, print_json, status_text
from cli.table import Cell, TextTable
from trading_pipeline.errors import UsageError
from trading_pipeline.statuses import FileStatus, Tone, tone

if TYPE_CHECKING:
    from trading_pipeline.ledger import FileRecord

__all__ = ["register"]


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
    _files_table(list(reversed(listing.records)), settings.data_dir).print()
    summary = listing.summary()
    if listing.warned:
        summary += f"; {listing.warned:,} shown with warnings (`pipeline validate FILE` lists them all)"
    if len(listing.records) < listing.total:
        summary += f" (the newest {len(listing.records):,} of {listing.total:,} shown; --all shows every one)"
    print(summary)


def _files_table(records: list[FileRecord], data_dir: Path) -> TextTable:
    from trading_pipeline.views.files import reason_or_warning, short_path

    columns = ["path", "source", "status", "symbols", "rows", "updated", "reason"]
    table = TextTable(columns, title=f"Files in {data_dir}", right={"rows"})
    for r in records:
        symbols = ", ".join(r.symbols[:3]) + (f" +{len(r.symbols) - 3}" if len(r.symbols) > 3 else "")
        table.add_row(
            short_path(r.path, data_dir),
            r.source_id,
            Cell(status_text(r.status, r.warning_count), Tone.BUSY if r.warning_count else tone(r.status)),
            symbols,
            f"{r.rows:,}" if r.rows else "",
            _local_time(r.updated_at),
            Cell(reason_or_warning(r.reason, r.first_warning, r.warning_count), _reason_tone(r)),
        )
    return table


def _reason_tone(record: FileRecord) -> Tone | None:
    return Tone.BUSY if record.warning_count and not record.reason else None


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
    columns = ["queued", "started", "scheduled", "deferred", "finished", "failed", "canceled"]
    queues = TextTable(["queue", *columns], title=f"Queues at {summary['redis_url']}", right=set(columns))
    for row in summary["queues"]:
        queues.add_row(row["queue"], *(str(row[c]) for c in columns))
    queues.print()
    workers = TextTable(
        ["name", "state", "queues", "current job", "ok", "failed"],
        title=f"{len(summary['workers'])} worker(s)",
        right={"ok", "failed"},
    )
    for w in summary["workers"]:
        workers.add_row(
            w["name"], Cell(w["state"], tone(w["state"])), ",".join(w["queues"]), w["current_job"] or "",
            str(w["successful_jobs"]), str(w["failed_jobs"]),
        )  # fmt: skip
    workers.print()
    if summary["failures"]:
        failed = TextTable(["ended", "queue", "job", "error"], title="Latest failures")
        for f in summary["failures"]:
            failed.add_row(
                _local_time(f["ended_at"] or ""), f["queue"], f["description"] or f["job_id"], f["error"]
            )
        failed.print()
