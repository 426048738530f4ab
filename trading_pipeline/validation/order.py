"""Time order and duplicate timestamps: sort when needed, drop exact repeats, reject conflicts.

Sortedness is one block-wise pass (the smallest step between timestamps is positive exactly when the
bars are sorted with no repeated time); only unsorted input pays for a (stable) sort,
which keeps equal timestamps in file order so "the first of the duplicates" means the first in the file.
Duplicates are then the zero steps of the sorted timestamps: no hashing of rows, and only the few rows
that share a timestamp are compared value by value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from trading_pipeline.report import Finding
from trading_pipeline.validation.blocks import materialize, min_step, rows_at
from trading_pipeline.validation.interval import format_timestamp

__all__ = ["CONFLICTING_DUPLICATES", "DUPLICATE_ROWS", "UNSORTED", "Ordered", "order_bars"]

UNSORTED = "unsorted"
DUPLICATE_ROWS = "duplicate_rows"
CONFLICTING_DUPLICATES = "conflicting_duplicates"


@dataclass
class Ordered:
    """Bars sorted by time without exact duplicates; ``rows`` None means still 1..n in file order."""

    table: pa.Table
    ts: np.ndarray
    rows: np.ndarray | None
    findings: list[Finding] = field(default_factory=list)


def order_bars(table: pa.Table, ts: np.ndarray, rows: np.ndarray | None) -> Ordered:
    """Sort (warning), drop exact duplicate rows (warning), flag conflicting duplicates (error)."""
    out = Ordered(table, ts, rows)
    smallest = min_step(ts)
    if smallest is None or smallest > 0:  # sorted, and no timestamp repeats
        return out
    steps = np.diff(ts)
    back = np.flatnonzero(steps < 0)
    if back.size == ts.size - 1:
        what = "the file runs newest first; the bars were sorted by time"
        out.findings.append(Finding.at_rows(UNSORTED, what, (), severity="warning"))
    elif back.size:
        what = "earlier than the bar before it; the bars were sorted by time"
        out.findings.append(Finding.at_rows(UNSORTED, what, rows_at(rows, back + 1), severity="warning"))
    if back.size:
        order = np.argsort(ts, kind="stable")
        out = Ordered(table.take(order), ts[order], materialize(rows, ts.size)[order], out.findings)
        steps = np.diff(out.ts)
    same = np.flatnonzero(steps == 0)
    if same.size:
        _handle_duplicates(out, same)
    return out


def _handle_duplicates(out: Ordered, same: np.ndarray) -> None:
    """``same`` are positions i where bar i+1 has the timestamp of bar i."""
    exact = _equal_rows(out.table, same, same + 1)
    conflicts = same[~exact]
    if conflicts.size:
        first = format_timestamp(int(out.ts[conflicts[0]]))
        involved = np.unique(np.concatenate([rows_at(out.rows, conflicts), rows_at(out.rows, conflicts + 1)]))
        out.findings.append(
            Finding.at_rows(
                CONFLICTING_DUPLICATES,
                f"same timestamp as another row but different values (first at {first})",
                involved,
                hint="Remove the wrong rows; a file with several instruments needs a symbol column",
            )
        )
    dropped = same[exact] + 1
    if dropped.size:
        out.findings.append(
            Finding.at_rows(
                DUPLICATE_ROWS,
                "exact repeat of an earlier row; dropped",
                np.sort(rows_at(out.rows, dropped)),
                severity="warning",
            )
        )
        keep = np.ones(out.ts.size, dtype=bool)
        keep[dropped] = False
        out.table = out.table.filter(pa.array(keep))
        out.ts, out.rows = out.ts[keep], materialize(out.rows, keep.size)[keep]


def _equal_rows(table: pa.Table, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """For each pair, True when every column holds the same value (NaN and null equal themselves)."""
    a, b = table.take(left), table.take(right)
    equal = np.ones(left.size, dtype=bool)
    for name in table.column_names:
        x = a.column(name).to_numpy(zero_copy_only=False)
        y = b.column(name).to_numpy(zero_copy_only=False)
        same = x == y
        if x.dtype.kind == "f":
            same |= np.isnan(x) & np.isnan(y)
        equal &= np.asarray(same, dtype=bool)
    return equal
