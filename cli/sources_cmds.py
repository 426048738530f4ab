"""`pipeline sources ...`: list, inspect, preview, add, upload, activate and remove data sources.

Every command reads and writes the shared repository in the data folder, so what one prints is what
the daemon, the workers and the UI see.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import TONE_STYLES, console, escape, exits_cleanly, load_settings, print_json, styled_status
from trading_pipeline import actions
from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.layout import load_layout
from trading_pipeline.report import FileReport
from trading_pipeline.settings import Settings
from trading_pipeline.sources import (
    DataSourceMetadata,
    DataSourceRepository,
    FileDataSource,
    SessionManager,
    StoredDataSource,
)
from trading_pipeline.sources.sync import ingest_source_files, unfinished_files
from trading_pipeline.views.sources import source_state

__all__ = ["register", "sources_app"]

sources_app = typer.Typer(
    name="sources", help="Data sources: folders, upload sessions, databases.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
Tz = Annotated[
    str | None,
    typer.Option("--tz", help="IANA zone of naive timestamps in these files, e.g. America/Chicago."),
]
BarLabelOpt = Annotated[
    str | None, typer.Option("--bar-label", help="'close' if bars are stamped with their close time.")
]
NoIngest = Annotated[bool, typer.Option("--no-ingest", help="Only register; the daemon ingests the files.")]
SourceId = Annotated[str, typer.Argument(help="Source id.")]
LayoutOpt = Annotated[
    Path | None,
    typer.Option("--layout", help="Layout TOML for these files, stored with the source (docs/formats.md)."),
]


def register(app: typer.Typer) -> None:
    """Add the `sources` group to `app`."""
    app.add_typer(sources_app, name="sources")


def _repo() -> tuple[Settings, DataSourceRepository]:
    settings = load_settings()
    return settings, DataSourceRepository(settings)


@sources_app.command("list")
@exits_cleanly
def list_sources(as_json: Json = False) -> None:
    """List every source with symbols, rows, range and validation state (read from the ledger)."""
    _, repo = _repo()
    listing, active = repo.list_sources(), repo.active_source_id()
    if as_json:
        print_json({"active": active, "sources": [_meta_json(m, active) for m in listing.values()]})
        return
    table = Table("id", "type", "symbols", "rows", "from", "to", "files", "state", title="data sources")
    for meta in listing.values():
        marker = " [bold green](active)[/]" if meta.source_id == active else ""
        start, end = meta.date_range or ("", "")
        table.add_row(
            f"{escape(meta.source_id)}{marker}",
            escape(meta.source_type),
            escape(_symbols_text(meta.symbols)),
            f"{meta.row_count:,}",
            start[:16],
            end[:16],
            str(meta.file_count),
            _state(meta),
        )
    console.print(table)


@sources_app.command("show")
@exits_cleanly
def show(source_id: SourceId, as_json: Json = False) -> None:
    """One source in detail: location, options, per-symbol ranges, validation errors."""
    _, repo = _repo()
    meta = repo.get_source(source_id).get_metadata()
    if as_json:
        print_json(_meta_json(meta, repo.active_source_id()))
        return
    console.print(
        f"[bold]{escape(meta.source_id)}[/] ({escape(meta.source_type)}) {escape(str(meta.location))}",
        highlight=False,
    )
    options = {k: v for k, v in meta.options.items() if v is not None and k != "raw_data_dir"}
    console.print(
        f"options: {escape(str(options or 'none'))}; files: {meta.file_count}, pending: {meta.pending_files}",
        highlight=False,
    )
    console.print(
        f"state: {_state(meta)}; columns: {escape(', '.join(meta.columns)) or '-'}", highlight=False
    )
    table = Table("symbol", "rows", "from", "to", "files")
    for symbol, info in meta.symbol_info.items():
        table.add_row(escape(symbol), f"{info.rows:,}", info.start or "", info.end or "", str(info.files))
    console.print(table)
    for error in meta.validation_errors:
        console.print(f"[red]error:[/] {escape(error)}", highlight=False)
    for warning in meta.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


@sources_app.command("preview")
@exits_cleanly
def preview(
    source_id: SourceId,
    symbol: Annotated[str, typer.Argument(help="Symbol to show.")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="How many bars.")] = 10,
    as_json: Json = False,
) -> None:
    """The first bars of a symbol, as the pipeline will load them."""
    _, repo = _repo()
    frame = repo.get_source(source_id).preview(symbol, rows)
    if as_json:
        print_json({"source": source_id, "symbol": symbol, "rows": _records(frame)})
        return
    table = Table(*(escape(str(c)) for c in frame.columns), title=escape(f"{source_id} {symbol}"))
    for record in frame.itertuples(index=False):
        table.add_row(*(escape(_cell(v)) for v in record))
    console.print(table)


@sources_app.command("remove")
@exits_cleanly
def remove(source_id: Annotated[str, typer.Argument(help="Source id (not 'default').")]) -> None:
    """Unregister a source and delete its stored bars (and an upload's session folder). No prompt."""
    settings, _ = _repo()
    removed = actions.remove_source(settings, source_id)
    console.print(
        f"removed source {escape(removed.source_id)} ({removed.source_type}): {removed.ledger_files}"
        f" ledger file(s), {removed.outputs} stored output(s)",
        highlight=False,
    )
    for folder in removed.folders:
        console.print(f"deleted {escape(str(folder))}", highlight=False)


@sources_app.command("cleanup")
@exits_cleanly
def cleanup(
    max_age_hours: Annotated[
        float | None, typer.Option("--max-age-hours", help="Default: PIPELINE_SESSION_MAX_AGE_H (24).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the removed session ids as JSON.")] = False,
) -> None:
    """Remove finished upload sessions older than the age limit (the daemon does this hourly).

    A session is kept while any of its files is not yet ingested, rejected or a duplicate, while an upload
    into it is in progress, and while it is the active source.
    """
    settings = load_settings()
    if max_age_hours is not None and max_age_hours < 0:
        raise UsageError("--max-age-hours must be zero or more")
    removed = SessionManager(settings).cleanup_old_sessions(max_age_hours)
    if as_json:
        print_json({"removed": removed})
        return
    for session_id in removed:
        console.print(f"removed session {session_id}", highlight=False)
    console.print(f"{len(removed)} session(s) removed", highlight=False)


@sources_app.command("activate")
@exits_cleanly
def activate(source_id: SourceId) -> None:
    """Make a source the one `pipeline run` reads when no --data-source is given."""
    settings, _ = _repo()
    actions.set_active_source(settings, source_id)
    console.print(f"active source: {escape(source_id)}", highlight=False)


@sources_app.command("add-dir")
@exits_cleanly
def add_dir(
    directory: Annotated[Path, typer.Argument(help="Folder of bar files (read recursively).")],
    source_id: Annotated[str, typer.Option("--id", help="New source id: letters, digits, '_' and '-'.")],
    tz: Tz = None,
    bar_label: BarLabelOpt = None,
    symbol_pattern: Annotated[
        str | None, typer.Option("--symbol-pattern", help="Regex with (?P<symbol>...) applied to file names.")
    ] = None,
    layout: LayoutOpt = None,
    no_ingest: NoIngest = False,
    as_json: Json = False,
) -> None:
    """Register a folder as a source, then ingest its files here (or leave them to the daemon).

    A ``--layout`` is stored with the source and applies to every file of the folder; a ``layout.toml``
    inside the folder wins for the files beside and below it.
    """
    _, repo = _repo()
    if not directory.is_dir():
        raise UsageError(f"not a directory: {directory}")
    declared = load_layout(layout).to_json() if layout is not None else None
    source = FileDataSource(
        source_id,
        directory,
        tz=tz,
        bar_label=bar_label,
        symbol_pattern=symbol_pattern,
        layout=declared,
        layout_path=str(layout.resolve()) if layout is not None else None,
    )
    repo.register_source(source_id, source)
    if not as_json:
        console.print(
            f"registered source {escape(source_id)} -> {escape(str(source.raw_data_dir))}", highlight=False
        )
    _finish(source, no_ingest, as_json)


@sources_app.command("upload")
@exits_cleanly
def upload(
    files: Annotated[list[Path], typer.Argument(help="Files to copy into a new upload session.")],
    tz: Tz = None,
    bar_label: BarLabelOpt = None,
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Symbol of every file in this session.")
    ] = None,
    layout: LayoutOpt = None,
    no_ingest: NoIngest = False,
    as_json: Json = False,
) -> None:
    """Create an upload session from local files (as the web UI does) and ingest it."""
    settings, repo = _repo()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UsageError(f"not a file: {', '.join(missing)}")
    declared = load_layout(layout).to_json() if layout is not None else None
    with contextlib.ExitStack() as stack:
        given = [actions.UploadFile(p.name, stack.enter_context(p.open("rb"))) for p in files]
        session_id = actions.upload_files(
            settings, given, tz=tz, bar_label=bar_label, symbol=symbol, layout=declared
        ).session_id
    if not as_json:
        console.print(f"upload session {session_id}: {len(files)} file(s)", highlight=False)
    source = repo.get_source(session_id)
    assert isinstance(source, StoredDataSource)
    _finish(source, no_ingest, as_json)


def _finish(source: StoredDataSource, no_ingest: bool, as_json: bool) -> None:
    """Ingest in-process with a progress bar (unless --no-ingest), print the outcome, exit 1 on rejects."""
    reports = [] if no_ingest else _ingest_with_progress(source, quiet=as_json)
    if as_json:
        print_json({"source": _meta_json(source.get_metadata(), ""), "files": [r.to_json() for r in reports]})
    elif no_ingest:
        console.print(f"{len(unfinished_files(source))} file(s) left for the daemon (`pipeline up`)")
    else:
        _print_reports(reports)
    if any(r.failed for r in reports):
        raise typer.Exit(1)


def _ingest_with_progress(source: StoredDataSource, *, quiet: bool) -> list[FileReport]:
    todo = unfinished_files(source)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet or not todo, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(todo))

        def advance(path: Path, _report: FileReport) -> None:
            progress.update(task, advance=1, description=f"ingesting {escape(path.name)}")

        return ingest_source_files(source, todo, on_file=advance)


def _print_reports(reports: list[FileReport]) -> None:
    if not reports:
        console.print("nothing new to ingest")
        return
    table = Table("file", "status", "symbols", "rows", "reason")
    for report in reports:
        table.add_row(
            escape(Path(report.path).name),
            styled_status(report.status),
            escape(", ".join(report.symbols)),
            f"{report.total_rows:,}",
            escape(report.reason()),
        )
    console.print(table)


# --- formatting --------------------------------------------------------------------------------
def _meta_json(meta: DataSourceMetadata, active: str) -> dict[str, Any]:
    return {**meta.to_json(), "active": meta.source_id == active}


def _state(meta: DataSourceMetadata) -> str:
    tone, text = source_state(meta)
    return f"[{TONE_STYLES[tone]}]{escape(text)}[/]"


def _symbols_text(symbols: list[str], limit: int = 6) -> str:
    shown = ", ".join(symbols[:limit])
    return f"{shown} +{len(symbols) - limit}" if len(symbols) > limit else shown


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    out["datetime"] = out["datetime"].map(lambda t: t.isoformat())
    return [{str(k): _plain(v) for k, v in row.items()} for row in out.to_dict("records")]


def _plain(value: Any) -> Any:
    return None if value is pd.NA or (isinstance(value, float) and pd.isna(value)) else value


def _cell(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
