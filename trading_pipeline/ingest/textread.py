"""Reading delimited text (plain, gzip, zstd, or bytes from an archive) with pyarrow.csv.

Fast path: every column gets its final type up front (float64 prices, the time column as timestamp or
int), so pyarrow's parallel C++ reader does all the work. The plan comes from the head (``TextSniff``):
encoding, lines to skip, number format. Only when a conversion fails does the slow path re-read the
used columns as strings, to name the offending rows and values, drop repeated header lines (two exports
joined with ``cat``), and parse numbers written the local way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.columns import NUMERIC_ROLES, ColumnPlan
from trading_pipeline.ingest.numbers import PLACEHOLDERS, NumberFormat
from trading_pipeline.ingest.rawtable import RawTable, guard_read
from trading_pipeline.ingest.textsniff import TextSniff, looks_like_data
from trading_pipeline.ingest.timeformats import TimeFormat
from trading_pipeline.report import Finding

__all__ = ["ReadPlan", "junk_finding", "read_delimited"]

BLOCK_SIZE = 16 << 20
NOT_UTF8 = "the file is not UTF-8 text: read as Windows-1252 (Latin-1); check any text columns"
NULL_VALUES = ["", *sorted(PLACEHOLDERS)]


@dataclass(frozen=True)
class ReadPlan:
    """How to read the body, decided from the head: time format, number format, rows to drop at the end."""

    time_format: TimeFormat | None
    numbers: NumberFormat = field(default_factory=NumberFormat)
    skip_bottom: int = 0


@dataclass
class _Ragged:
    """pyarrow's invalid-row handler: lines with another number of fields than the table."""

    delimiter: str
    skip_rows: int
    rows: list[int] = field(default_factory=list)
    unnumbered: int = 0
    junk: list[str] = field(default_factory=list)
    tail: list[int] = field(default_factory=list)

    def __call__(self, row: pv.InvalidRow) -> str:
        if not any(looks_like_data(part) for part in row.text.split(self.delimiter) if part.strip()):
            self.junk.append(row.text.strip())  # a footer or credit line: no data to lose
            if row.number is not None:
                self.tail.append(row.number - self.skip_rows)
            return "skip"
        if row.number is None:
            self.unnumbered += 1
        else:
            self.rows.append(row.number - self.skip_rows)
        return "skip"


def _types(plan: ColumnPlan, read: ReadPlan, strict: bool) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    fmt = read.time_format
    for i in plan.used:
        role, name = plan.roles[i], f"c{i}"
        if not strict:
            types[name] = pa.string()
        elif role in NUMERIC_ROLES:
            types[name] = pa.float64() if read.numbers.plain else pa.string()
        elif role == "datetime" and fmt is not None and fmt.kind == "iso" and fmt.fast:
            types[name] = pa.timestamp("ns", "UTC") if fmt.aware else pa.timestamp("ns")
        elif role == "datetime" and fmt is not None and fmt.kind == "epoch":
            types[name] = pa.int64()
        elif role == "time" and fmt is None:
            types[name] = pa.int64()  # LEAN milliseconds since midnight
        else:
            types[name] = pa.string()
    return types


@dataclass
class _Attempt:
    """How one pass over the text reads it; a failed pass tells the next one what to change."""

    strict: bool = True  # final column types; False reads strings to name the bad values
    threads: bool = True  # threaded reads lose the row numbers of ragged rows
    encoding: str = "utf8"


def _read(
    open_source: Callable[[], pa.NativeFile | pa.Buffer],
    sniff: TextSniff,
    plan: ColumnPlan,
    read: ReadPlan,
    ragged: _Ragged,
    attempt: _Attempt,
) -> pa.Table:
    width = len(plan.roles)
    options = pv.ReadOptions(
        column_names=[f"c{i}" for i in range(width)],
        skip_rows=sniff.skip_rows,
        use_threads=attempt.threads,
        block_size=BLOCK_SIZE,
        encoding=attempt.encoding,
    )
    parse = pv.ParseOptions(delimiter=sniff.delimiter, invalid_row_handler=ragged)
    convert = pv.ConvertOptions(
        column_types=_types(plan, read, attempt.strict),
        include_columns=[f"c{i}" for i in plan.used],
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        decimal_point=read.numbers.decimal if read.numbers.plain else ".",
    )
    return pv.read_csv(open_source(), read_options=options, parse_options=parse, convert_options=convert)


def read_delimited(
    open_source: Callable[[], pa.NativeFile | pa.Buffer],
    sniff: TextSniff,
    plan: ColumnPlan,
    read: ReadPlan,
    path: str,
    offset: int = 0,
) -> RawTable:
    """Read the planned columns; ``open_source()`` returns a fresh pyarrow stream or buffer each call.

    ``offset``: data rows of the file before this text (a chunk of a larger file), so that row numbers
    and findings count from the top of the file.
    """
    table, ragged, attempt = _read_passes(open_source, sniff, plan, read, path)
    ragged.rows = [r + offset for r in ragged.rows]
    ragged.tail = [r + offset for r in ragged.tail]
    columns = {plan.roles[i]: table.column(f"c{i}") for i in plan.used}
    if sniff.skip_initial_space or not attempt.strict or not read.numbers.plain:
        columns = {k: _trim(v) for k, v in columns.items()}
    labels = {plan.roles[i]: plan.labels[i] for i in plan.used}
    raw = RawTable(columns, read.time_format, list(plan.findings), labels, numbers=read.numbers)
    if attempt.encoding != sniff.encoding and sniff.encoding == "utf8":
        raw.findings.append(Finding("encoding", NOT_UTF8, "warning"))
    total = table.num_rows + len(ragged.rows)
    raw.total_rows, raw.junk = total, ragged.junk
    if ragged.rows:
        raw.row_numbers = np.delete(
            np.arange(offset + 1, offset + total + 1), np.array(ragged.rows) - 1 - offset
        )
    elif offset:
        raw.row_numbers = np.arange(offset + 1, offset + total + 1)
    if ragged.junk:
        raw.findings.append(junk_finding(ragged.junk, "lines without data", "skipped"))
    if ragged.rows:
        forgiven = _trailing(ragged, offset + total, read.skip_bottom)
        kept = [r for r in ragged.rows if r not in forgiven]
        if kept:
            raw.findings.append(_ragged_finding(kept, len(plan.roles)))
    if read.skip_bottom:
        _drop_bottom(
            raw,
            read.skip_bottom - len(ragged.tail) - len(_trailing(ragged, offset + total, read.skip_bottom)),
        )
    if not attempt.strict and sniff.header is not None:
        _drop_repeated_headers(raw, plan)
    return raw


def _trailing(ragged: _Ragged, total: int, skip_bottom: int) -> set[int]:
    """Ragged rows among the last ``skip_bottom`` rows the layout says to drop."""
    return {r for r in ragged.rows if r > total - skip_bottom} if skip_bottom else set()


def _drop_bottom(raw: RawTable, count: int) -> None:
    if count <= 0:
        return
    keep = max(raw.num_rows - count, 0)
    raw.columns = {k: v.slice(0, keep) for k, v in raw.columns.items()}
    if raw.row_numbers is not None:
        raw.row_numbers = raw.row_numbers[:keep]
    raw.notes["skip_bottom"] = str(count)


def _drop_repeated_headers(raw: RawTable, plan: ColumnPlan) -> None:
    """Rows that repeat the header (two exports joined with ``cat``): dropped with a warning."""
    repeat = None
    for i in plan.used:
        role = plan.roles[i]
        same = pc.equal(pc.utf8_lower(raw.columns[role]), plan.labels[i].strip().lower())
        repeat = same if repeat is None else pc.and_(repeat, same)
    if repeat is None:
        return
    mask = np.asarray(pc.fill_null(repeat, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not mask.any():
        return
    rows = raw.rows(mask)
    raw.keep(~mask)
    what = "the header line repeats here (files joined with cat?); dropped"
    raw.findings.append(Finding.at_rows("repeated_header", what, rows, severity="warning"))


def _read_passes(
    open_source: Callable[[], pa.NativeFile | pa.Buffer],
    sniff: TextSniff,
    plan: ColumnPlan,
    read: ReadPlan,
    path: str,
) -> tuple[pa.Table, _Ragged, _Attempt]:
    """The table, its ragged rows and the pass that read it.

    The first pass is the fast one. A value that does not convert means a pass over strings (so the
    report can name rows and values), bytes that are not UTF-8 a pass decoded as Latin-1 (what Windows
    tools write), and ragged rows met by the threaded reader a single-threaded pass that knows their
    row numbers. Each retry changes one setting for good, so there are at most four passes.
    """
    attempt = _Attempt(encoding=sniff.encoding, threads=not read.skip_bottom)
    while True:
        ragged = _Ragged(sniff.delimiter, sniff.skip_rows)
        try:
            table = guard_read(
                path, functools.partial(_read, open_source, sniff, plan, read, ragged, attempt)
            )
        except pa.ArrowInvalid as exc:
            if ("UTF8" in str(exc) or "decode" in str(exc)) and attempt.encoding not in ("latin1", "latin-1"):
                attempt.encoding = "latin1"  # every byte is a Latin-1 character: this pass cannot fail
            elif attempt.strict:
                attempt.strict = attempt.threads = False
            else:
                reason = f"cannot parse the text table: {exc}"
                raise IngestError(path=path, reason=reason, check="format") from exc
            continue
        if not (ragged.unnumbered and attempt.threads):
            return table, ragged, attempt
        attempt.threads = False


def _trim(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_trim_whitespace(values) if pa.types.is_string(values.type) else values


def _ragged_finding(rows: list[int], width: int) -> Finding:
    return Finding.at_rows(
        "ragged_rows",
        f"a different number of fields than the {width} columns of the first rows",
        rows,
        hint="Fix or remove these lines; a shifted field would put a price into the wrong column",
    )


def junk_finding(lines: list[str] | tuple[str, ...], what: str, verb: str) -> Finding:
    shown = "; ".join(repr(line[:60]) for line in lines[:2])
    more = f" and {len(lines) - 2} more" if len(lines) > 2 else ""
    noun, _, rest = what.partition(" ")
    count = f"{len(lines)} {what}" if len(lines) > 1 else f"1 {noun.removesuffix('s')} {rest}"
    return Finding("junk_lines", f"{verb} {count}: {shown}{more}", "warning")
