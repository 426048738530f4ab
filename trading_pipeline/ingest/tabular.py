"""Rows that arrive as values, not text: JSON payloads and spreadsheet sheets.

The container readers turn their payload into ``Cells`` (column names or none, column-major values,
and what the payload says about itself: symbol, zone); from there the way is the text table's way:
a sample for detection (profile, column plan, time and number formats), then the shared ``assemble``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.assemble import assemble, choose_profile, number_format, time_format
from trading_pipeline.ingest.columns import TIME_ROLES, plan_columns
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.profiles import get_profile
from trading_pipeline.ingest.rawtable import RawTable
from trading_pipeline.ingest.textsniff import TextSniff
from trading_pipeline.report import Finding

__all__ = ["Cells", "read_cells", "text_of"]

SAMPLE_ROWS = 300
GENERIC = ("generic_header", "generic_noheader", "yahoo")
"""Text profiles that say nothing a JSON payload or a sheet would not: reported as 'json'/'spreadsheet'."""


@dataclass
class Cells:
    """A table of values: ``names`` (None: positional), ``columns`` (column-major), and metadata."""

    names: list[str] | None
    columns: list[list[Any]]
    symbol: str | None = None
    zone: str | None = None
    notes: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    row_numbers: np.ndarray | None = None
    profile: str | None = None

    @property
    def num_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def text_of(value: Any) -> str:
    """A cell as the text a CSV export would hold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):  # a time of day stored as a duration
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value).strip()


def _arrow(values: list[Any], role: str) -> pa.Array:
    """One column as Arrow: numbers stay numbers, times stay times, anything mixed becomes text."""
    kinds = {type(v) for v in values if v is not None and v != ""}
    if role in TIME_ROLES and kinds <= {datetime, date} and kinds:
        stamps = [
            None if v in (None, "") else datetime.combine(v, time()) if type(v) is date else v for v in values
        ]
        return pa.array(stamps, pa.timestamp("ns"))
    if kinds and kinds <= {int, float} and role not in ("date", "time"):
        numbers = [None if v in (None, "") else v for v in values]
        if kinds == {int}:
            return pa.array(numbers, pa.int64())
        if role in TIME_ROLES and all(v is None or float(v).is_integer() for v in numbers):
            return pa.array([None if v is None else int(v) for v in numbers], pa.int64())
        return pa.array(numbers, pa.float64())
    return pa.array([None if (t := text_of(v)) == "" else t for v in values], pa.string())


def _sniff(cells: Cells, name: str) -> TextSniff:
    width = len(cells.columns)
    rows = [[text_of(col[i]) for col in cells.columns] for i in range(min(cells.num_rows, SAMPLE_ROWS))]
    return TextSniff(name, "", cells.names, rows, width, notes=dict(cells.notes))


def read_cells(
    cells: Cells, name: str, path: str, options: IngestOptions, layout: Layout, container: str
) -> ParsedFile:
    """Standardised bars from a table of values."""
    if cells.num_rows == 0 or not cells.columns:
        raise IngestError(path=path, reason="no rows of bars", check="non_empty")
    sniff = _sniff(cells, name)
    if cells.profile and not (options.profile or layout.profile):
        profile = get_profile(cells.profile)
    else:
        profile = choose_profile(sniff, options, layout, path)
        if profile.name in GENERIC and not (options.profile or layout.profile):
            profile = get_profile(container)  # 'json' or 'spreadsheet': says where the rows came from
    plan = plan_columns(sniff, profile, path, layout)
    fmt = time_format(sniff, plan, layout)
    columns = {plan.roles[i]: _arrow(cells.columns[i], plan.roles[i]) for i in plan.used}
    numeric_time = "datetime" in columns and (
        pa.types.is_integer(columns["datetime"].type) or pa.types.is_floating(columns["datetime"].type)
    )
    if fmt is not None and fmt.kind != "epoch" and numeric_time:  # 20240102 as a number: a date
        columns["datetime"] = columns["datetime"].cast(pa.string())
    raw = RawTable(
        columns,
        fmt,
        list(cells.findings) + list(plan.findings),
        {plan.roles[i]: plan.labels[i] for i in plan.used},
        row_numbers=cells.row_numbers,
        numbers=number_format(sniff, plan, layout),
        zone=cells.zone,
        symbol=cells.symbol,
    )
    return assemble(raw, sniff=sniff, plan=plan, profile=profile, options=options, layout=layout, path=path)
