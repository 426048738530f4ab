"""Validation of one symbol's canonical bars (level 1: structure; level 2: values, order, gaps), in a
fixed order.

Structure checks come first (required columns, at least one row, column types, timestamps present): if
they fail, nothing later can be computed and the result carries just those errors. Then every bar is
checked on its own, then the file for plausibility (times between 1980 and tomorrow, price moves on zero
volume, a single bar), then the bars are ordered and de-duplicated, then the interval is inferred and
the gaps are summarised. Any error rejects the file; warnings only inform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.report import Finding
from trading_pipeline.schema import PRICE_COLUMNS, REQUIRED_COLUMNS, TIMESTAMP_TYPE
from trading_pipeline.validation.blocks import materialize, rows_at
from trading_pipeline.validation.gaps import gap_finding
from trading_pipeline.validation.interval import format_interval, infer_interval_ns
from trading_pipeline.validation.order import order_bars
from trading_pipeline.validation.plausible import plausibility_findings, time_range_finding
from trading_pipeline.validation.values import value_findings

__all__ = ["COLUMNS", "NON_EMPTY", "NUMBERS", "TIMESTAMPS", "ValidationResult", "validate_bars"]

COLUMNS = "columns"
NON_EMPTY = "non_empty"
NUMBERS = "numbers"
TIMESTAMPS = "timestamps"


@dataclass
class ValidationResult:
    """Sorted, de-duplicated bars with what was found.

    ``row_numbers`` are the file rows of ``table``'s rows; None when they are simply 1..n (the table is
    the file, in order), which spares a 5M-element array in the common case.
    """

    table: pa.Table
    findings: list[Finding]
    interval_ns: int | None
    row_numbers: np.ndarray | None

    @property
    def interval(self) -> str | None:
        return format_interval(self.interval_ns) if self.interval_ns else None

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def validate_bars(table: pa.Table, row_numbers: np.ndarray | None = None) -> ValidationResult:
    """Validate bars of ONE symbol given in file order; ``row_numbers`` default to 1..n."""
    rows = None if row_numbers is None else np.asarray(row_numbers)
    structural = _structure_findings(table)
    if structural:
        return ValidationResult(table, structural, None, rows)
    table, findings = _coerce(table)
    if findings:
        return ValidationResult(table, findings, None, rows)
    table, rows, findings = _drop_missing_timestamps(table, rows)
    findings += value_findings(table, rows)
    ts = _timestamps(table)
    implausible = time_range_finding(ts, rows)
    findings += [implausible] if implausible else []
    findings += plausibility_findings(table, rows)
    ordered = order_bars(table, ts, rows)
    findings += ordered.findings
    interval_ns = infer_interval_ns(ordered.ts)
    if interval_ns:
        gaps = gap_finding(ordered.ts, interval_ns, ordered.rows)
        findings += [gaps] if gaps else []
    return ValidationResult(ordered.table, findings, interval_ns, ordered.rows)


def _structure_findings(table: pa.Table) -> list[Finding]:
    missing = [name for name in REQUIRED_COLUMNS if name not in table.column_names]
    if missing:
        found = ", ".join(table.column_names) or "nothing"
        noun = "column" if len(missing) == 1 else "columns"
        return [Finding(COLUMNS, f"required {noun} {', '.join(missing)} missing; found: {found}")]
    if table.num_rows == 0:
        return [Finding(NON_EMPTY, "no data rows: the file holds no bars")]
    return []


def _coerce(table: pa.Table) -> tuple[pa.Table, list[Finding]]:
    """Cast to the canonical types; a column that cannot be cast is an error naming its type."""
    findings: list[Finding] = []
    targets = {"datetime": TIMESTAMP_TYPE, **dict.fromkeys(PRICE_COLUMNS, pa.float64())}
    if "volume" in table.column_names:
        targets["volume"] = pa.float64()
    for name, target in targets.items():
        column = table.column(name)
        if column.type == target:
            continue
        if name == "datetime" and not pa.types.is_timestamp(column.type):
            findings.append(
                Finding(TIMESTAMPS, f"column datetime holds {column.type} values, not timestamps")
            )
            continue
        try:
            table = table.set_column(table.column_names.index(name), name, column.cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            check = TIMESTAMPS if name == "datetime" else NUMBERS
            findings.append(
                Finding(check, f"column {name} ({column.type}) cannot be read as {target}: {exc}")
            )
    return table, findings


def _drop_missing_timestamps(
    table: pa.Table, rows: np.ndarray | None
) -> tuple[pa.Table, np.ndarray | None, list[Finding]]:
    """Bars without a time cannot be placed: an error, and they leave the later checks."""
    column = table.column("datetime")
    if column.null_count == 0:
        return table, rows, []
    missing = np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
    what = "timestamp missing"
    finding = Finding.at_rows(
        TIMESTAMPS, what, rows_at(rows, np.flatnonzero(missing)), hint="Every bar needs a time"
    )
    keep = ~missing
    return table.filter(pa.array(keep)), materialize(rows, keep.size)[keep], [finding]


def _timestamps(table: pa.Table) -> np.ndarray:
    """int64 ns since the epoch, one contiguous array (a copy only when the column is chunked)."""
    column = table.column("datetime")
    values = column.chunk(0).to_numpy() if column.num_chunks == 1 else column.to_numpy()
    return np.asarray(values).view(np.int64)
