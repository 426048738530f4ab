"""Plausibility: bars that are each valid on their own but cannot be what the file meant.

* ``time_range`` (error): a time before 1980 or more than a day in the future. No market data file
  holds either: the time column was misread (a wrong epoch unit, a time of day read as a date).
* ``zero_volume_moves`` (warning): the price moved (high above low) on a bar with zero volume; the
  volume column may be another quantity, or the vendor writes 0 for "unknown" (FX quotes).
* ``one_row`` (warning): a single bar: no interval, no order, no gaps can be checked.
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from trading_pipeline.report import Finding
from trading_pipeline.validation.blocks import blocks, rows_at
from trading_pipeline.validation.interval import format_timestamp

__all__ = [
    "EARLIEST_NS",
    "ONE_ROW",
    "TIME_RANGE",
    "ZERO_VOLUME_MOVES",
    "latest_ns",
    "plausibility_findings",
    "time_range_finding",
    "zero_volume_words",
]

TIME_RANGE = "time_range"
ZERO_VOLUME_MOVES = "zero_volume_moves"
ONE_ROW = "one_row"
EARLIEST_NS = int(np.datetime64("1980-01-01", "ns").astype(np.int64))
DAY_NS = 86_400 * 10**9


def latest_ns() -> int:
    """Bars more than a day ahead of the clock cannot have happened yet."""
    return time.time_ns() + DAY_NS


def time_range_finding(ts: np.ndarray, rows: np.ndarray | None) -> Finding | None:
    """An error listing bars before 1980 or more than a day ahead of now."""
    latest = latest_ns()
    if ts.size == 0 or (int(ts.min()) >= EARLIEST_NS and int(ts.max()) <= latest):
        return None
    early = [np.flatnonzero(ts[a:b] < EARLIEST_NS) + a for a, b in blocks(ts.size)]
    late = [np.flatnonzero(ts[a:b] > latest) + a for a, b in blocks(ts.size)]
    positions = np.sort(np.concatenate(early + late)) if ts.size else np.zeros(0, dtype=np.int64)
    if positions.size == 0:
        return None
    first = int(ts[positions[0]])
    when = "before 1980" if first < EARLIEST_NS else "more than a day in the future"
    what = f"times {when} (first {format_timestamp(first)})"
    hint = (
        "The time column was misread: check its format (day-first? two-digit years?) or the epoch unit, "
        "and declare it in a layout"
    )
    return Finding.at_rows(TIME_RANGE, what, rows_at(rows, positions), hint=hint)


def plausibility_findings(table: pa.Table, rows: np.ndarray | None) -> list[Finding]:
    """Warnings about bars that moved on zero volume, and about a one-bar file."""
    findings = []
    if table.num_rows == 1:
        what = "the file holds a single bar: its interval, order and gaps cannot be checked"
        findings.append(Finding(ONE_ROW, what, "warning"))
    if "volume" in table.column_names:
        moved = _zero_volume_moves(table)
        if moved.size:
            findings.append(_zero_volume_finding(moved, table.num_rows, rows))
    return findings


def _zero_volume_moves(table: pa.Table) -> np.ndarray:
    """Positions of bars with volume 0 and high above low; a batch without zero volume costs one compare."""
    found: list[np.ndarray] = []
    offset = 0
    for batch in table.select(["high", "low", "volume"]).to_batches():
        zero = batch.column(2).to_numpy(zero_copy_only=False) == 0
        if zero.any():
            high, low = (batch.column(i).to_numpy(zero_copy_only=False) for i in (0, 1))
            found.append(np.flatnonzero(zero & (high > low)) + offset)
        offset += batch.num_rows
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def zero_volume_words(every: bool) -> tuple[str, str]:
    """(what, hint) of the zero-volume finding: on every bar, or on some."""
    if every:
        what = "the price moved on every bar, yet the volume is 0 on every bar"
        return what, "The file may carry no real volume (FX quotes), or the volume is in another column"
    what = "the price moved (high above low) on bars with zero volume"
    return what, "The volume column may hold another quantity, or 0 stands for unknown"


def _zero_volume_finding(moved: np.ndarray, total: int, rows: np.ndarray | None) -> Finding:
    what, hint = zero_volume_words(every=moved.size == total)
    return Finding.at_rows(ZERO_VOLUME_MOVES, what, rows_at(rows, moved), severity="warning", hint=hint)
