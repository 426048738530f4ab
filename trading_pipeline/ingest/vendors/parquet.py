"""Parquet inputs: a colleague's pandas/polars dump or Nautilus Trader's fixed-point bar catalog.

Column naming follows the same alias table as text files; ``ts_event`` with integer prices is the
Nautilus layout (1e-9 fixed point, close-labelled per Nautilus' convention that bar times are closes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.columns import ColumnPlan, plan_columns
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.limits import check_columns, check_rows, current_limits
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.profiles import Profile, get_profile
from trading_pipeline.ingest.rawtable import RawTable
from trading_pipeline.ingest.standardise import standardise
from trading_pipeline.ingest.symbols import normalise_symbol
from trading_pipeline.ingest.textsniff import TextSniff
from trading_pipeline.ingest.timeformats import TimeFormat, detect_format, format_from_layout
from trading_pipeline.ingest.timeparse import Carry
from trading_pipeline.safeio import open_regular

__all__ = ["ParquetPlan", "check_parquet_size", "parse_parquet", "plan_parquet", "read_parquet"]


def _load(path: Path) -> pa.Table:
    try:
        with open_regular(path) as handle:
            parquet = pq.ParquetFile(handle)
            check_parquet_size(parquet.metadata, str(path))
            return parquet.read()
    except (FileNotFoundError, PermissionError):
        raise  # the caller classifies a vanished or unreadable file
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise IngestError(
            path=str(path), reason=f"the Parquet file is truncated or corrupt ({exc})", check="parquet"
        ) from exc


def check_parquet_size(meta: pq.FileMetaData, path: str) -> None:
    """Rows, columns and decompressed size from the footer, before a byte of data is decompressed."""
    check_rows(meta.num_rows, path)
    check_columns(meta.num_columns, path)
    limits = current_limits()
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > limits.max_bytes:
        raise limits.too_big(path, size)


def _profile(table: pa.Table, options: IngestOptions, layout: Layout) -> Profile:
    if options.profile or layout.profile:
        return get_profile(str(options.profile or layout.profile))
    names = {n.lower() for n in table.column_names}
    ints = "close" in names and pa.types.is_integer(
        table.schema.field(table.column_names[[n.lower() for n in table.column_names].index("close")]).type
    )
    return get_profile("nautilus_parquet" if "ts_event" in names and ints else "parquet")


def _time_format(column: pa.ChunkedArray) -> TimeFormat | None:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return detect_format([v for v in column.slice(0, 300).to_pylist() if v])
    if pa.types.is_date(column.type):
        return TimeFormat("iso", has_time=False)
    if pa.types.is_timestamp(column.type):
        return TimeFormat("iso", aware=column.type.tz is not None)
    return TimeFormat("epoch") if pa.types.is_integer(column.type) else None


def _sniff(table: pa.Table, path: Path) -> TextSniff:
    """The column names and a few rows as text, for the column plan (a layout may name columns)."""
    head = table.slice(0, 50).to_pylist()
    rows = [["" if v is None else str(v) for v in row.values()] for row in head]
    names = list(table.column_names)
    return TextSniff(path.name, "", names, rows, len(names))


@dataclass
class ParquetPlan:
    """What the first rows of a Parquet file decide for all of it: profile, columns, time format."""

    profile: Profile
    plan: ColumnPlan
    time_format: TimeFormat | None
    symbol: str | None


def plan_parquet(table: pa.Table, options: IngestOptions, layout: Layout, path: Path) -> ParquetPlan:
    """The plan from the file's first rows (all of them for a whole read)."""
    profile = _profile(table, options, layout)
    plan = plan_columns(_sniff(table, path), profile, str(path), layout)
    columns = _columns(table, plan, path)
    if "date" in columns and "time" in columns:
        dates, times = (columns[r].slice(0, 300).to_pylist() for r in ("date", "time"))
        fmt = detect_format([f"{d} {t}" for d, t in zip(dates, times, strict=True) if d and t])
    else:
        time_role = "datetime" if "datetime" in columns else "date"
        fmt = _time_format(table.column(plan.roles.index(time_role)))
    fmt = format_from_layout(layout, "date" in columns and "time" in columns) or fmt
    return ParquetPlan(profile, plan, fmt, _metadata_symbol(table))


def _columns(table: pa.Table, plan: ColumnPlan, path: Path) -> dict[str, pa.ChunkedArray]:
    columns = {plan.roles[i]: _in_ns(table.column(i), plan.labels[i], path) for i in plan.used}
    if "date" in columns and "time" in columns:
        # Separate date and time columns: read as text joined by a space, exactly like a text file.
        for role in ("date", "time"):
            columns[role] = table.column(plan.roles.index(role)).cast(pa.string())
    return columns


def parse_parquet(
    table: pa.Table,
    planned: ParquetPlan,
    options: IngestOptions,
    layout: Layout,
    path: Path,
    *,
    first_row: int = 1,
    carry: Carry | None = None,
) -> ParsedFile:
    """Rows of the file (all, or one batch starting at data row ``first_row``) as canonical bars."""
    plan = planned.plan
    labels = {plan.roles[i]: plan.labels[i] for i in plan.used}
    raw = RawTable(_columns(table, plan, path), planned.time_format, [], labels, carry=carry)
    if carry is not None:
        raw.row_numbers = np.arange(first_row, first_row + table.num_rows)
    result = standardise(raw, planned.profile, options, str(path), layout=layout)
    return ParsedFile(
        table=result.table,
        profile=planned.profile.name,
        symbol=planned.symbol,
        findings=result.findings,
        row_numbers=result.row_numbers,
        bar_label=options.bar_label or layout.bar_label or planned.profile.bar_label,
        notes=result.notes,
    )


def read_parquet(path: Path, options: IngestOptions, layout: Layout | None = None) -> ParsedFile:
    """Read, map columns by name, convert to canonical bars (file order kept)."""
    layout = layout or Layout()
    table = _load(path)
    if table.num_rows == 0:
        raise IngestError(path=str(path), reason="the Parquet file has no rows", check="non_empty")
    return parse_parquet(table, plan_parquet(table, options, layout, path), options, layout, path)


def _in_ns(column: pa.ChunkedArray, label: str, path: Path) -> pa.ChunkedArray:
    """Dates and timestamps at nanosecond resolution, which holds the years 1677-2262 only."""
    try:
        if pa.types.is_date(column.type):
            return column.cast(pa.timestamp("ns"))
        if pa.types.is_timestamp(column.type):
            return column.cast(pa.timestamp("ns", column.type.tz))
    except pa.ArrowInvalid as exc:
        raise IngestError(
            path=str(path),
            reason=f"column `{label}` holds times outside the years 1677-2262 ({exc})",
            check="timestamps",
        ) from exc
    return column


def _metadata_symbol(table: pa.Table) -> str | None:
    """Nautilus stores the instrument in the schema metadata: 'EUR/USD.SIM' -> 'EURUSD'."""
    meta = table.schema.metadata or {}
    raw = meta.get(b"instrument_id")
    if not raw:
        return None
    head = raw.decode("utf-8", "replace").split(".")[0].replace("/", "")
    return normalise_symbol(head)
