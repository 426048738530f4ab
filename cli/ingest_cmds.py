"""`pipeline ingest` and `pipeline validate`: run the DataIngestor in this process, no Redis needed.

A PATH may be a folder: every supported file under it is taken (recursively, sorted, skipping hidden and
temporary names such as ``.x.csv`` or ``x.csv.part``). Supported means a data suffix
(``trading_pipeline.names.DATA_SUFFIXES``: text, compressed text, JSON, spreadsheets, Parquet, zip, DBN).
Files given by name are always taken, whatever their suffix: detection is by content. A ``layout.toml``
beside a file applies to it unless ``--layout`` is given.

Exit codes: 0 nothing rejected, 1 a file was rejected, 2 a usage error (unknown zone, missing path...).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from cli.common import console, err_console, exits_cleanly, load_settings, print_json, styled_status
from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.layout import load_layout, with_folder_layout
from trading_pipeline.ingest.options import BarLabel, IngestOptions
from trading_pipeline.ingest.suggest import suggest_layout
from trading_pipeline.ingest.symbols import normalise_symbol
from trading_pipeline.ingest.timeparse import zone
from trading_pipeline.names import candidate_files, check_source_id
from trading_pipeline.report import FileReport

__all__ = ["collect_files", "register"]


class BarLabelChoice(StrEnum):
    open = "open"
    close = "close"


PathsArg = Annotated[
    list[Path], typer.Argument(help="Files or folders to read.", metavar="PATH", show_default=False)
]
SymbolOpt = Annotated[
    str | None, typer.Option("--symbol", help="Symbol of the bars (else from the data or the file name).")
]
TzOpt = Annotated[
    str | None, typer.Option("--tz", help="IANA zone of naive timestamps, e.g. America/Chicago.")
]
LabelOpt = Annotated[
    BarLabelChoice | None,
    typer.Option("--bar-label", help="'close' if bars are stamped with their close time (moved to open)."),
]
SourceOpt = Annotated[str, typer.Option("--source", help="Data source id the bars belong to.")]
LayoutOpt = Annotated[
    Path | None,
    typer.Option(
        "--layout",
        help="A layout TOML saying what the file is (columns, time format, zone...); see docs/formats.md.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def register(app: typer.Typer) -> None:
    """Add `ingest` and `validate` to `app`."""
    app.command("ingest")(ingest)
    app.command("validate")(validate)


@exits_cleanly
def ingest(
    paths: PathsArg,
    symbol: SymbolOpt = None,
    tz: TzOpt = None,
    bar_label: LabelOpt = None,
    source: SourceOpt = "default",
    layout: LayoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate bar files and store the accepted ones as canonical UTC Parquet."""
    _run(paths, _options(symbol, tz, bar_label, source, layout), dry_run=False, as_json=as_json)


@exits_cleanly
def validate(
    paths: PathsArg,
    symbol: SymbolOpt = None,
    tz: TzOpt = None,
    bar_label: LabelOpt = None,
    source: SourceOpt = "default",
    layout: LayoutOpt = None,
    suggest: Annotated[
        bool,
        typer.Option(
            "--suggest-layout", help="Print a starting layout TOML for FILE (edit it, pass --layout)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check bar files and report what ingest would do; writes nothing (and does not look for duplicates)."""
    options = _options(symbol, tz, bar_label, source, layout)
    if suggest:
        if len(paths) != 1 or not paths[0].is_file():
            raise UsageError("--suggest-layout takes exactly one file")
        sys.stdout.write(suggest_layout(paths[0], _folder_layout(options, paths[0], paths[0].parent)))
        return
    _run(paths, options, dry_run=True, as_json=as_json)


def _options(
    symbol: str | None,
    tz: str | None,
    bar_label: BarLabelChoice | None,
    source: str,
    layout_file: Path | None = None,
) -> IngestOptions:
    """Usage errors surface before any file is touched."""
    if tz is not None:
        zone(tz)
    if symbol is not None and normalise_symbol(symbol) is None:
        raise UsageError(f"invalid symbol {symbol!r}: use letters, digits, '.', '_' or '-'")
    check_source_id(source)
    label: BarLabel | None = None
    if bar_label is not None:
        label = "close" if bar_label is BarLabelChoice.close else "open"
    declared = load_layout(layout_file).to_json() if layout_file is not None else None
    return IngestOptions(
        symbol=symbol,
        tz=tz,
        bar_label=label,
        source_id=source,
        layout=declared,
        layout_path=str(layout_file) if layout_file is not None else None,
    )


def collect_files(paths: list[Path]) -> list[Path]:
    """The files to process, in the order given; folders expand to their supported files."""
    return [path for path, _root, _found in _collect(paths)]


def _folder_layout(options: IngestOptions, path: Path, root: Path) -> IngestOptions:
    """--layout wins; without it a ``layout.toml`` beside the file applies, as in a watched folder."""
    return options if options.layout is not None else with_folder_layout(options, path, root)


def _collect(paths: list[Path]) -> list[tuple[Path, Path, bool]]:
    """(file, the folder it was found under, whether a folder was given) for every file to process.
    Nothing is opened here: a FIFO or a link out of the folder is listed, and the ingestor refuses it
    with the reason."""
    files: list[tuple[Path, Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found = candidate_files(path)
            if not found:
                raise UsageError(f"no supported bar files in folder {path}")
            files.extend((f, path, True) for f in found)
        elif path.exists() or path.is_symlink():
            files.append((path, path.parent, False))
        else:
            raise UsageError(f"no such file or folder: {path}")
    return files


def _run(paths: list[Path], options: IngestOptions, *, dry_run: bool, as_json: bool) -> None:
    files = _collect(paths)
    ingestor = DataIngestor(load_settings())
    action = ingestor.validate if dry_run else ingestor.ingest
    reports: list[FileReport] = []
    with _FileProgress(len(files), show=len(files) > 1 and not as_json) as progress:
        for path, root, found_in_folder in files:
            opts = _folder_layout(options, path, root)
            if found_in_folder:  # a link leading out of a folder given to us is never followed
                opts = replace(opts, root=str(root))
            reports.append(action(path, opts, progress=progress.callback(path)))
            progress.advance()
    if as_json:
        print_json({"files": [report.to_json() for report in reports]})
    else:
        render_reports(reports)
    raise typer.Exit(1 if any(report.failed for report in reports) else 0)


class _FileProgress:
    """A bar on stderr (stdout stays clean for pipes) showing the file and the ingest stage."""

    def __init__(self, total: int, *, show: bool) -> None:
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} files"),
            console=err_console,
            transient=True,
            disable=not show,
        )
        self.task = self.bar.add_task("", total=total)

    def __enter__(self) -> _FileProgress:
        self.bar.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.bar.stop()

    def callback(self, path: Path) -> Callable[[str, int], None]:
        def update(stage: str, _percent: int) -> None:
            self.bar.update(self.task, description=f"{path.name}: {stage}")

        return update

    def advance(self) -> None:
        self.bar.advance(self.task)


# --- the human summary -------------------------------------------------------------------------------


def render_reports(reports: list[FileReport]) -> None:
    """A summary table, then each file's errors and warnings (with rows and hints), then a count."""
    base = _common_folder(reports)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("file", overflow="fold", ratio=3)
    table.add_column("status", no_wrap=True)
    table.add_column("profile", overflow="fold", ratio=2)
    table.add_column("interval", no_wrap=True)
    table.add_column("symbols", overflow="fold", ratio=1)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("range (UTC)", overflow="fold", ratio=2)
    for report in reports:
        table.add_row(
            escape(str(Path(report.path).relative_to(base)) if base != Path("/") else report.path),
            styled_status(report.status),
            escape(report.profile or "-"),
            escape(report.interval or "-"),
            escape(", ".join(report.symbols)) or "-",
            f"{report.total_rows:,}",
            _time_range(report),
        )
    console.print(table)
    for report in reports:
        if report.errors or report.warnings:
            console.print(f"[bold]{escape(_display(report.path))}[/]")
            for finding in report.errors:
                console.print(
                    f"  [red]error[/]   {escape(finding.check)}: {escape(finding.message)}", highlight=False
                )
            for finding in report.warnings:
                console.print(
                    f"  [yellow]warning[/] {escape(finding.check)}: {escape(finding.message)}",
                    highlight=False,
                )
    counts = Counter(report.status for report in reports)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    warned = sum(1 for report in reports if report.warnings)
    if warned:
        summary += f"; {warned} with warnings"
    console.print(summary, highlight=False)


def _common_folder(reports: list[FileReport]) -> Path:
    """The table shows paths below the folder all files share; the findings below show them in full."""
    folders = [str(Path(report.path).parent) for report in reports]
    return Path(os.path.commonpath(folders)) if folders else Path("/")


def _display(path: str) -> str:
    """Relative to the working folder when inside it: shorter and what the user typed."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _time_range(report: FileReport) -> str:
    """Compact: dates only for daily bars, one date when the file covers a single day."""
    starts = [s.start for s in report.symbols.values() if s.start]
    ends = [s.end for s in report.symbols.values() if s.end]
    if not starts or not ends:
        return "-"
    first, last = min(starts), max(ends)
    if first.time() == last.time() == time(0):
        return f"{first:%Y-%m-%d} → {last:%Y-%m-%d}"
    if first.date() == last.date():
        return f"{first:%Y-%m-%d %H:%M}–{last:%H:%M}"
    return f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M}"
