"""Checking and storing a large text file in bounded memory: the chunked counterpart of reading the file
whole and calling ``validate_bars``.

The file is read chunk by chunk (``chunked.ChunkedText``); each chunk is split per symbol and checked in
file order (``validation.stream.FileOrderChecks``). While a single-symbol file stays in time order its
chunks go straight into the symbol's output file (a temp file beside its final place, published by
the caller with one rename). A step back in time, or a second symbol, means the file needs sorting: it
is read again from the top, this time into a spill file that DuckDB sorts under a memory limit
(``validation.extsort``), and the sorted bars are then checked and written. Every finding carries the
file's row numbers and is merged across chunks (``validation.tally``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.durable import temp_path
from trading_pipeline.futures.stream import FuturesTally, futures_tally
from trading_pipeline.ingest.chunkedparquet import open_chunks
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.reader import resolve_layout
from trading_pipeline.ingest.symbols import normalise_symbol
from trading_pipeline.report import FileReport, Finding, SymbolResult, excerpt
from trading_pipeline.schema import TIMESTAMP_TYPE, conform
from trading_pipeline.validation import GAPS, MISSING_PRICES, TIME_RANGE, TIMESTAMPS, format_interval
from trading_pipeline.validation.bars import (
    SYMBOL,
    is_safe_symbol,
    shift_to_open,
    split_by_symbol,
    utc_datetime,
)
from trading_pipeline.validation.extsort import BarWriter, Spill
from trading_pipeline.validation.stream import FileOrderChecks, SortedChecks
from trading_pipeline.validation.tally import Tally

__all__ = ["Prepared", "check_in_chunks", "chunk_bytes_for", "should_chunk", "whole_read_bytes"]

REREPORTED_BY_READER = frozenset({MISSING_PRICES, TIMESTAMPS})
WHOLE_READ_FACTOR = 3.5


@dataclass
class Prepared:
    """One symbol's bars in a finished temp file (None for a dry run), waiting to be published."""

    tmp: Path | None
    result: SymbolResult


class _NeedsSort(Exception):
    """The file is not one symbol in time order: read it again into the sort."""


class _NeedsGapPass(Exception):
    """A later chunk had shorter steps than the first: read again with the interval known."""

    def __init__(self, intervals: dict[str, int]) -> None:
        super().__init__()
        self.intervals = intervals


@dataclass
class _Symbol:
    file_order: FileOrderChecks = field(default_factory=FileOrderChecks)
    in_time: SortedChecks = field(default_factory=SortedChecks)
    writer: BarWriter | None = None
    shift: int = 0
    futures: FuturesTally | None = None


@dataclass
class _Run:
    """One pass over the file."""

    path: Path
    options: IngestOptions
    memory_mb: int
    chunk_bytes: int
    out_dir: Path | None  # None: a dry run, nothing is written
    sort: bool
    whole_allowed: bool
    intervals: dict[str, int] = field(default_factory=dict)
    reader_tally: Tally = field(default_factory=Tally)
    symbols: dict[str, _Symbol] = field(default_factory=dict)
    profile: str = ""
    bar_label: str = "open"
    notes: dict[str, str] = field(default_factory=dict)
    """What the reader decided (delimiter, time format, zone and where it came from), as in a whole read."""
    from_column: bool = False
    reader_findings: list[Finding] = field(default_factory=list)
    short_run_min: float = 5.0

    def symbol(self, name: str) -> _Symbol:
        if name not in self.symbols:
            state = _Symbol(in_time=SortedChecks(threshold=self.intervals.get(name)))
            state.futures = futures_tally([name, self.options.symbol], self.memory_mb)
            if self.out_dir is not None and is_safe_symbol(name):
                state.writer = BarWriter(temp_path(self.out_dir / f"{name}.parquet"))
            self.symbols[name] = state
        return self.symbols[name]

    def read(self, spill: Spill | None) -> None:
        reader = open_chunks(self.path, self.options, self.chunk_bytes, self.whole_allowed)
        for parsed in reader:
            if not self.profile:
                self.profile, self.bar_label = parsed.profile, parsed.bar_label
            self.notes.update({k: str(v) for k, v in parsed.notes.items() if k not in self.notes})
            self.from_column |= SYMBOL in parsed.table.column_names
            self.reader_tally.add(parsed.findings)
            parts, problems = split_by_symbol(parsed.table, parsed.row_numbers, parsed.symbol, None)
            self.reader_tally.add(problems)
            new = any(p.symbol not in self.symbols for p in parts)
            if spill is None and (len(parts) > 1 or (new and self.symbols)):
                raise _NeedsSort
            for part in parts:
                state = self.symbol(part.symbol)
                fed = state.file_order.feed(part.table, part.rows)
                if fed is None:
                    continue
                table, ts, rows = fed
                if spill is not None:
                    spill.write(part.symbol, conform(table), rows)
                    continue
                if not state.file_order.in_order:
                    raise _NeedsSort
                self._keep(state, table, ts, rows)
        self.reader_findings = reader.findings
        if spill is not None:
            for name, table, ts, rows in spill.sorted():
                self._keep(self.symbols[name], table, ts, rows)

    def _keep(self, state: _Symbol, table: pa.Table, ts: np.ndarray, rows: np.ndarray) -> None:
        kept = state.in_time.feed(table, ts, rows)
        if state.futures is not None and state.in_time.kept is not None:
            state.futures.feed(kept, *state.in_time.kept)
        if state.writer is not None and not state.file_order.broken:
            state.writer.write(conform(kept))

    def discard(self) -> None:
        for state in self.symbols.values():
            if state.writer is not None:
                state.writer.discard()


def check_in_chunks(
    path: Path,
    options: IngestOptions,
    report: FileReport,
    *,
    memory_mb: int,
    chunk_bytes: int,
    out_dir: Path | None,
    whole_allowed: bool = False,
    short_run_min: float = 5.0,
) -> dict[str, Prepared]:
    """Fill ``report`` with the findings of ``path`` and return each symbol's prepared output (temp
    files in ``out_dir``; nothing is written without one). The caller publishes or deletes them."""
    sort, intervals = False, dict[str, int]()
    for _attempt in range(3):
        run = _Run(path, options, memory_mb, chunk_bytes, out_dir, sort, whole_allowed, intervals)
        run.short_run_min = short_run_min
        try:
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".ingest-sort-", dir=out_dir) as tmp:
                spill = Spill(Path(tmp), memory_mb) if sort else None
                try:
                    run.read(spill)
                finally:
                    if spill is not None:
                        spill.close()
            return _finish(run, report)
        except _NeedsSort:
            run.discard()
            sort = True
        except _NeedsGapPass as again:
            run.discard()
            intervals = again.intervals
        except BaseException:
            run.discard()
            raise
    raise AssertionError("unreachable: the third pass has the sort and the intervals")  # pragma: no cover


def _finish(run: _Run, report: FileReport) -> dict[str, Prepared]:
    for name, state in run.symbols.items():
        interval = state.in_time.interval_ns()
        if interval and name not in run.intervals and not state.in_time.complete(interval):
            raise _NeedsGapPass({n: s.in_time.interval_ns() or 0 for n, s in run.symbols.items()})
    report.profile = run.profile
    report.notes = {k: excerpt(v, 200) for k, v in run.notes.items()}
    reader = [*run.reader_findings, *run.reader_tally.findings()]
    report.extend(reader)
    said = {f.check for f in reader}
    skip = REREPORTED_BY_READER if any(f.severity == "error" for f in reader) else frozenset()
    if TIME_RANGE in said:
        skip |= {TIME_RANGE}
    names = _apply_symbol(run, report)
    several = len(names) > 1
    intervals: set[str] = set()
    prepared: dict[str, Prepared] = {}
    for name, stored_as in names.items():
        state = run.symbols[name]
        interval = state.in_time.interval_ns()
        findings = state.file_order.findings() + state.in_time.findings(interval)
        if interval:
            intervals.add(format_interval(interval))
        if not is_safe_symbol(stored_as):
            what = f"unusable symbol {stored_as!r}: use 1-64 letters, digits, '.', '_' or '-'"
            findings = [Finding.at_rows(SYMBOL, what, (), hint="Pass --symbol")]
        if run.bar_label == "close" and not any(f.severity == "error" for f in findings):
            findings.append(_shift(state, interval))
        findings, sessions = _futures_checks(run, state, stored_as, interval, findings)
        prefix = f"{stored_as}: " if several else ""
        report.extend(
            Finding(f.check, prefix + f.message, f.severity, f.rows, f.count, f.hint) if prefix else f
            for f in findings
            if f.check not in skip
        )
        if not any(f.severity == "error" for f in findings):
            prepared[stored_as] = _prepared(state)
            prepared[stored_as].result.sessions = sessions
    report.interval = ", ".join(sorted(intervals)) or None
    kept = {p.tmp for p in prepared.values()}
    for state in run.symbols.values():
        if state.writer is not None and state.writer.path in kept:
            state.writer.close()
        elif state.writer is not None:
            state.writer.discard()
    return prepared


def _futures_checks(
    run: _Run, state: _Symbol, symbol: str, interval: int | None, findings: list[Finding]
) -> tuple[list[Finding], list[dict[str, Any]] | None]:
    """As in a whole read (``futures.checks``): a contract's session checks replace the gap warning."""
    if state.futures is None or any(f.severity == "error" for f in findings):
        return findings, None
    label_given = run.options.bar_label is not None
    futures = state.futures.checks(symbol, interval, state.shift, run.short_run_min, label_given)
    if futures.ran:
        findings = [f for f in findings if f.check != GAPS]
    return findings + futures.findings, futures.sessions


def _apply_symbol(run: _Run, report: FileReport) -> dict[str, str]:
    """Which symbols are kept and under which name: --symbol (or the layout's) names a file of one
    instrument, or picks its rows out of a file of several."""
    layout = resolve_layout(run.options)
    explicit = run.options.symbol or layout.symbol
    names = {name: name for name in sorted(run.symbols)}
    if not explicit or not run.from_column or not names:
        return names
    wanted = normalise_symbol(explicit) or explicit
    if len(names) == 1:
        return {next(iter(names)): wanted}
    if wanted not in names:
        what = f"--symbol {wanted} is not in the file; it holds {', '.join(names)}"
        report.add(Finding(SYMBOL, what))
        return {}
    kept = run.symbols[wanted].file_order.rows
    others = ", ".join(n for n in names if n != wanted)
    report.add(Finding(SYMBOL, f"kept the {kept} rows of {wanted}; the file also holds {others}", "warning"))
    return {wanted: wanted}


def _shift(state: _Symbol, interval: int | None) -> Finding:
    """Close-labelled bars moved to their open: the written file is rewritten with shifted times."""
    first = pa.table({"datetime": pa.array([state.in_time.first_ts or 0], pa.int64()).view(TIMESTAMP_TYPE)})
    note = shift_to_open(first, interval)[1]
    if note.severity == "error" or interval is None or "not moved" in note.message:
        return note
    state.shift = interval
    if state.writer is None or not state.writer.path.exists():
        return note
    state.writer.close()
    source = state.writer.path
    shifted = BarWriter(source.with_name(source.name + ".shifted"))
    for batch in pq.ParquetFile(source).iter_batches():
        shifted.write(conform(shift_to_open(pa.Table.from_batches([batch]), interval)[0]))
    shifted.close()
    shifted.path.replace(source)
    return note


def _prepared(state: _Symbol) -> Prepared:
    checks = state.in_time
    first = checks.first_ts
    last = checks.last[1] if checks.last is not None else None
    result = SymbolResult(
        rows=checks.rows,
        start=utc_datetime(first - state.shift) if first is not None else None,
        end=utc_datetime(last - state.shift) if last is not None else None,
    )
    return Prepared(state.writer.path if state.writer is not None else None, result)


def whole_read_bytes(memory_mb: int) -> int:
    """The most text a whole-file read may hold within ``memory_mb``: such a read peaks at about
    ``WHOLE_READ_FACTOR`` times the text's size."""
    return int((memory_mb << 20) * 0.6 / WHOLE_READ_FACTOR)


def should_chunk(size: int, compressed: bool, memory_mb: int) -> bool:
    """Whether reading the file whole could pass the memory limit; compressed text is usually about
    four times its file (a whole read of one that grows more switches to chunks as it does)."""
    return size * (4 if compressed else 1) > whole_read_bytes(memory_mb)


def chunk_bytes_for(memory_mb: int) -> int:
    """Text per chunk: a chunk's read, checks and write peak at several times its size."""
    return max(1 << 20, (memory_mb << 20) // 16)
