"""Checks of each bar on its own: prices present, positive and OHLC-consistent, volume not negative.

They run block by block on zero-copy numpy views of the Arrow buffers, so a 5M-row table is never
copied per column and every temporary is small (see ``blocks``). Each block first takes a cheap
reduction (a sum is finite only if every price is; a minimum is positive only if every price is); the
exact offending rows are computed only in blocks that fail one.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from trading_pipeline.report import Finding
from trading_pipeline.validation.blocks import blocks, rows_at

__all__ = [
    "MISSING_PRICES",
    "NON_NEGATIVE_VOLUME",
    "OHLC",
    "POSITIVE_PRICES",
    "value_findings",
]

MISSING_PRICES = "missing_prices"
OHLC = "ohlc"
POSITIVE_PRICES = "positive_prices"
NON_NEGATIVE_VOLUME = "non_negative_volume"

# (check, what the rows show, how to fix it), in the order findings are reported
_PROBLEMS: dict[str, tuple[str, str, str]] = {
    "missing": (MISSING_PRICES, "price missing or not a number", "Fill or remove these bars"),
    "high_low": (OHLC, "high below low", "The high and low columns may be swapped"),
    "high_oc": (OHLC, "high below open or close", "Check the column order (open, high, low, close)"),
    "low_oc": (OHLC, "low above open or close", "Check the column order (open, high, low, close)"),
    "non_positive": (POSITIVE_PRICES, "price zero or negative", "Prices must be above zero"),
    "negative_volume": (NON_NEGATIVE_VOLUME, "negative volume", "Volume must be zero or more"),
}

Positions = defaultdict[str, list[np.ndarray]]


def value_findings(table: pa.Table, rows: np.ndarray | None) -> list[Finding]:
    """Error findings for the bars of ``table`` (canonical float64 columns) that fail a value check."""
    hits: Positions = defaultdict(list)
    offset = 0
    has_volume = "volume" in table.column_names
    for batch in table.select(
        ["open", "high", "low", "close", *(["volume"] if has_volume else [])]
    ).to_batches():
        if batch.num_rows == 0:
            continue
        arrays = [col.to_numpy(zero_copy_only=False) for col in batch.columns]
        for start, stop in blocks(batch.num_rows):
            o, h, lo, c, *volume = (array[start:stop] for array in arrays)
            _check_prices(o, h, lo, c, offset + start, hits)
            if volume:
                _check_volume(volume[0], offset + start, hits)
        offset += batch.num_rows
    findings = []
    for key, (check, what, hint) in _PROBLEMS.items():
        if hits[key]:
            positions = np.concatenate(hits[key])
            findings.append(Finding.at_rows(check, what, rows_at(rows, positions), hint=hint))
    return findings


def _check_prices(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, offset: int, hits: Positions
) -> None:
    """Fast path: a consistent bar has low <= min(open, close) <= max(open, close) <= high, so then a
    positive low means all four prices are positive; np.maximum passes NaN on, so one finite sum covers
    open and close too. Only a batch that fails gets the exact, per-row masks."""
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    if (
        np.isfinite(h.sum() + lo.sum() + top.sum())
        and not (h < top).any()
        and not (lo > bottom).any()
        and lo.min() > 0
    ):
        return
    _record(hits, "missing", ~(np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)), offset)
    high_low = h < lo
    _record(hits, "high_low", high_low, offset)
    _record(hits, "high_oc", (h < top) & ~high_low, offset)
    _record(hits, "low_oc", (lo > bottom) & ~high_low, offset)
    _record(hits, "non_positive", (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), offset)


def _check_volume(volume: np.ndarray, offset: int, hits: Positions) -> None:
    _record(hits, "negative_volume", volume < 0, offset)


def _record(hits: Positions, key: str, mask: np.ndarray, offset: int) -> None:
    found = np.flatnonzero(mask)
    if found.size:
        hits[key].append(found + offset)
