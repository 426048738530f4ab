"""Running the service and looking at it: `pipeline up`, `pipeline worker`, `pipeline files`, `pipeline jobs`.

`files` reads only the ledger on disk (works with Redis down); `jobs` reads Redis and says clearly
when it cannot reach it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, get_args

import typer
from rich.table import Table

from cli.common import console, exits_cleanly, load_settings, print_json
from jobqueue.connect import connect, connect_settings, redacted, resolve_url
from jobqueue.names import DEFAULT_QUEUES
from stack.embedded_redis import EmbeddedRedis
from stack.supervisor import Supervisor, stack_services
from trading_pipeline.errors import UsageError
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.report import FileStatus
from trading_pipeline.settings import Settings

__all__ = ["register"]

STATUS_STYLE = {
    "ingested": "green",
    "rejected": "red",
    "duplicate": "cyan",
    "superseded": "dim",
    "ingesting": "yellow",
    "queued": "blue",
    "pending": "magenta",
}


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("up")(up)
    app.command("worker")(worker)
    app.command("files")(files)
    app.command("jobs")(jobs)


@exits_cleanly
def up(
    workers: Annotated[int, typer.Option("--workers", "-w", min=0, help="RQ worker processes.")] = 2,
    redis_port: Annotated[
        int,
        typer.Option(
            envvar="PIPELINE_REDIS_PORT", min=0, help="Port of the embedded Redis; 0 picks a free one."
        ),
    ] = 0,
) -> None:
    """Run everything: Redis (embedded unless REDIS_URL is set), the folder daemon and the workers."""
    settings = load_settings("up")
    settings.ensure_dirs()
    embedded: EmbeddedRedis | None = None
    if settings.redis_url:
        connect(settings.redis_url, timeout_s=10).close()  # fail now, clearly, rather than restart-loop
        url = settings.redis_url
    else:
        embedded = EmbeddedRedis(settings, port=redis_port)
        embedded.prepare()
        url = embedded.url
    supervisor = Supervisor(stack_services(settings, url, workers=workers, embedded=embedded))
    supervisor.install_signal_handlers()
    _banner(settings, url, embedded is not None, workers)
    try:
        supervisor.run()
    finally:
        if embedded is not None:
            embedded.unpublish()


def _banner(settings: Settings, url: str, embedded: bool, workers: int) -> None:
    where = f"embedded, data in {settings.redis_dir}" if embedded else "from REDIS_URL"
    console.print(
        f"[bold]pipeline up[/]: daemon + {workers} worker(s)\n"
        f"  data folder  {settings.data_dir}\n"
        f"  drop files   {settings.raw_dir}\n"
        f"  redis        {url} ({where})\n"
        f"  watch        pipeline files  ·  pipeline jobs  ·  rq info -u {url} --interval 1\n"
        f"  stop         Ctrl-C (twice to stop without waiting for running jobs)",
        highlight=False,
        soft_wrap=True,
    )


@exits_cleanly
def worker(
    queues: Annotated[list[str] | None, typer.Argument(help="Queues in priority order.")] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Exit once the queues are empty.")] = False,
    name: Annotated[str | None, typer.Option(help="Worker name (default host.pid.random).")] = None,
    scheduler: Annotated[
        bool,
        typer.Option("--with-scheduler/--without-scheduler", help="Run RQ's scheduler (Retry needs it)."),
    ] = True,
    max_jobs: Annotated[int | None, typer.Option(min=1, help="Exit after this many jobs.")] = None,
    redis_wait_s: Annotated[
        float, typer.Option(min=0, help="Wait this long for Redis at start (Procfile/systemd start order).")
    ] = 30.0,
) -> None:
    """Run one RQ worker (forking, warm parent, JSON serializer) on the given queues."""
    from workers.worker import run_worker  # imports pandas: only this command pays for it

    settings = load_settings("worker")
    connection = connect_settings(settings, timeout_s=None, wait_s=redis_wait_s)
    run_worker(
        connection,
        settings,
        queues or list(DEFAULT_QUEUES),
        burst=burst,
        name=name,
        with_scheduler=scheduler,
        max_jobs=max_jobs,
    )


@exits_cleanly
def files(
    source: Annotated[str | None, typer.Option("--source", help="Only this data source.")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only this status (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Every input file the system knows (from the ledger on disk; Redis is not needed)."""
    settings = load_settings("cli")
    known = set(get_args(FileStatus))
    unknown = [s for s in status or [] if s not in known]
    if unknown:
        raise UsageError(f"unknown status {unknown[0]!r}; use one of {', '.join(sorted(known))}")
    records = Ledger(settings.ledger_path).files(source, status or None)
    if as_json:
        print_json({"files": [r.to_json() for r in records]})
        return
    console.print(_files_table(records, settings.data_dir))
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no files yet", highlight=False)


def _files_table(records: list[FileRecord], data_dir: Path) -> Table:
    table = Table(title=f"Files in {data_dir}", title_justify="left")
    for column in ("path", "source", "status", "symbols", "rows", "updated", "reason"):
        table.add_column(column, overflow="fold", justify="right" if column == "rows" else "left")
    for r in records:
        style = STATUS_STYLE.get(r.status, "")
        symbols = ", ".join(r.symbols[:3]) + (f" +{len(r.symbols) - 3}" if len(r.symbols) > 3 else "")
        table.add_row(
            _short_path(r.path, data_dir),
            r.source_id,
            f"[{style}]{r.status}[/]" if style else r.status,
            symbols,
            f"{r.rows:,}" if r.rows else "",
            _local_time(r.updated_at),
            r.reason,
        )
    return table


def _short_path(path: str, data_dir: Path) -> str:
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return path


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
    from jobqueue.status import queue_summary

    settings = load_settings("cli")
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
    queues = Table(title=f"Queues at {summary['redis_url']}", title_justify="left")
    queues.add_column("queue")
    for column in columns:
        queues.add_column(column, justify="right")
    for row in summary["queues"]:
        queues.add_row(row["queue"], *(str(row[c]) for c in columns))
    console.print(queues)
    workers = Table(title=f"{len(summary['workers'])} worker(s)", title_justify="left")
    for column in ("name", "state", "queues", "current job", "ok", "failed"):
        workers.add_column(column)
    for w in summary["workers"]:
        workers.add_row(
            w["name"], w["state"], ",".join(w["queues"]), w["current_job"] or "",
            str(w["successful_jobs"]), str(w["failed_jobs"]),
        )  # fmt: skip
    console.print(workers)
    if summary["failures"]:
        failed = Table(title="Latest failures", title_justify="left")
        for column in ("ended", "queue", "job", "error"):
            failed.add_column(column, overflow="fold")
        for f in summary["failures"]:
            failed.add_row(
                _local_time(f["ended_at"] or ""), f["queue"], f["description"] or f["job_id"], f["error"]
            )
        console.print(failed)
