"""Reading delimited text (plain, gzip, zstd, or bytes from an archive) with pyarrow.csv.

Fast path: every column gets its final type up front (float64 prices, the time column as timestamp or
int), so pyarrow's parallel C++ reader does all the work. Only when that conversion fails does the slow
path re-read the used columns as strings to name the offending rows and values.
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
from trading_pipeline.ingest.sniff import TextSniff
from trading_pipeline.ingest.timeformats import TimeFormat, detect_format
from trading_pipeline.report import Finding

__all__ = ["RawTable", "read_delimited"]

BLOCK_SIZE = 16 << 20
FOOTER_PREFIXES = ("downloaded from", '"downloaded from')
NOT_UTF8 = "the file is not UTF-8 text: read as Latin-1 (Windows-1252); check any text columns"


@dataclass
class RawTable:
    """Columns by role, still in file units (naive times, unscaled prices), plus what went wrong."""

    columns: dict[str, pa.Array | pa.ChunkedArray]
    time_format: TimeFormat | None
    findings: list[Finding] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    row_numbers: np.ndarray | None = None


@dataclass
class _Ragged:
    header_lines: int
    rows: list[int] = field(default_factory=list)
    unnumbered: int = 0
    footer: bool = False

    def __call__(self, row: pv.InvalidRow) -> str:
        if row.text.strip().lower().startswith(FOOTER_PREFIXES):
            self.footer = True
            return "skip"
        if row.number is None:
            self.unnumbered += 1
        else:
            self.rows.append(row.number - self.header_lines)
        return "skip"


def _time_format(sniff: TextSniff, plan: ColumnPlan) -> TimeFormat | None:
    dt, date, time = plan.index("datetime"), plan.index("date"), plan.index("time")
    if dt is not None:
        return detect_format(sniff.column(dt))
    if date is not None and time is not None:
        pairs = zip(sniff.column(date), sniff.column(time), strict=False)
        return detect_format([f"{d} {t}" for d, t in pairs])
    return None


def _types(plan: ColumnPlan, fmt: TimeFormat | None, strict: bool) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for i in plan.used:
        role, name = plan.roles[i], f"c{i}"
        if not strict:
            types[name] = pa.string()
        elif role in NUMERIC_ROLES:
            types[name] = pa.float64()
        elif role == "datetime" and fmt is not None and fmt.kind == "iso":
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
    types: dict[str, pa.DataType],
    ragged: _Ragged,
    attempt: _Attempt,
) -> pa.Table:
    width = len(plan.roles)
    read = pv.ReadOptions(
        column_names=[f"c{i}" for i in range(width)],
        skip_rows=1 if sniff.header is not None else 0,
        use_threads=attempt.threads,
        block_size=BLOCK_SIZE,
        encoding=attempt.encoding,
    )
    parse = pv.ParseOptions(delimiter=sniff.delimiter, invalid_row_handler=ragged)
    convert = pv.ConvertOptions(
        column_types=types,
        include_columns=[f"c{i}" for i in plan.used],
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return pv.read_csv(open_source(), read_options=read, parse_options=parse, convert_options=convert)


def read_delimited(
    open_source: Callable[[], pa.NativeFile | pa.Buffer], sniff: TextSniff, plan: ColumnPlan, path: str
) -> RawTable:
    """Read the planned columns; ``open_source()`` returns a fresh pyarrow stream or buffer each call."""
    fmt = _time_format(sniff, plan)
    table, ragged, attempt = _read_passes(open_source, sniff, plan, fmt, path)
    columns = {plan.roles[i]: table.column(f"c{i}") for i in plan.used}
    if sniff.skip_initial_space or not attempt.strict:
        columns = {k: _trim(v) for k, v in columns.items()}
    labels = {plan.roles[i]: plan.labels[i] for i in plan.used}
    raw = RawTable(columns, fmt, list(plan.findings), labels)
    if attempt.encoding != "utf8":
        raw.findings.append(Finding("encoding", NOT_UTF8, "warning"))
    if ragged.rows:
        raw.findings.append(_ragged_finding(ragged.rows, len(plan.roles)))
        total = table.num_rows + len(ragged.rows)
        raw.row_numbers = np.delete(np.arange(1, total + 1), np.array(ragged.rows) - 1)
    return raw


def _read_passes(
    open_source: Callable[[], pa.NativeFile | pa.Buffer],
    sniff: TextSniff,
    plan: ColumnPlan,
    fmt: TimeFormat | None,
    path: str,
) -> tuple[pa.Table, _Ragged, _Attempt]:
    """The table, its ragged rows and the pass that read it.

    The first pass is the fast one. A value that does not convert means a pass over strings (so the
    report can name rows and values), bytes that are not UTF-8 a pass decoded as Latin-1 (what Windows
    tools write), and ragged rows met by the threaded reader a single-threaded pass that knows their
    row numbers. Each retry changes one setting for good, so there are at most four passes.
    """
    attempt = _Attempt()
    header_lines = 1 if sniff.header is not None else 0
    while True:
        ragged = _Ragged(header_lines)
        types = _types(plan, fmt, attempt.strict)
        try:
            table = _guard(path, functools.partial(_read, open_source, sniff, plan, types, ragged, attempt))
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc) and attempt.encoding == "utf8":
                attempt.encoding = "latin1"
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


def _guard(path: str, read: Callable[[], pa.Table]) -> pa.Table:
    """Turn pyarrow's I/O and parse failures into IngestErrors with a readable reason."""
    try:
        table = read()
    except pa.ArrowInvalid as exc:
        if "conversion error" in str(exc).lower() or "In CSV column" in str(exc):
            raise  # the caller retries with strings or another encoding
        raise IngestError(path=path, reason=f"cannot parse the text table: {exc}", check="format") from exc
    except OSError as exc:
        text = str(exc)
        if "compress" in text.lower() or "truncated" in text.lower() or "inflate" in text.lower():
            raise IngestError(
                path=path,
                reason=f"the compressed data is truncated or corrupt ({text}); copy or download it again",
                check="compression",
            ) from exc
        raise IngestError(path=path, reason=f"cannot read the file: {text}", check="readable") from exc
    assert isinstance(table, pa.Table)
    return table
