"""Bad ticks: bars whose prices are internally consistent but displaced, such as a 10x print.

The rule is causal (a bar is judged from itself and the bars before it, never later ones), so
cleaning never lets the future decide what a feature at time t sees. A bar is a bad tick when its
whole range (low to high) lies more than ``threshold`` robust sigmas away from BOTH

* the previous bar's close: a genuine fast move trades through from there, a bad print jumps; and
* the median close of the previous ``window`` bars: the bar after a bad tick, back at the old level,
  is far from the bad close but not from the median, so it is kept.

The robust sigma is 1.4826 times the median absolute 1-bar log return over the previous ``window``
bars, leaving out zero returns: on an illiquid contract most bars do not move, which would make the
plain median absolute deviation 0 and every move "infinite". Bars after a break are not judged (their
move includes the closure), nor are bars before ``window // 2`` earlier bars exist. A genuine jump
whose bar opens already at the new level is dropped as one bad tick (its move survives in the next
bar's return, and run.json lists it); a wick spike (only the high or low displaced) is not detected.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["MAD_TO_SIGMA", "MAX_LISTED", "bad_tick_mask", "trailing_median"]

MAD_TO_SIGMA = 1.4826
"""For normal returns the median absolute return is 0.6745 sigma."""
MAX_LISTED = 1000
"""run.json lists at most this many bad ticks per symbol (the count is always exact)."""
BLOCK_ROWS = 65_536
"""Candidate rows per block of window copies (~30 MB with a 60-bar window)."""


def trailing_median(values: np.ndarray, window: int, rows: np.ndarray) -> np.ndarray:
    """At each of ``rows``: the median of the ``window`` values before it (NaN skipped; NaN when fewer
    than ``window // 2`` are there). Equal, bit for bit, to pandas' rolling median shifted by one row.

    Only candidate rows are computed, in blocks: a full rolling median costs ~0.3 s per million bars,
    while the bars that can be bad ticks at all (their range leaves the last close) are usually few.
    """
    minimum = max(2, window // 2)
    padded = np.r_[np.full(window, np.nan), values]
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    out = np.full(len(rows), np.nan)
    for start in range(0, len(rows), BLOCK_ROWS):
        block = windows[rows[start : start + BLOCK_ROWS]]
        enough = (~np.isnan(block)).sum(axis=1) >= minimum
        if enough.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are masked by `enough`
                out[start : start + BLOCK_ROWS][enough] = np.nanmedian(block[enough], axis=1)
    return out


def bad_tick_mask(
    frame: pd.DataFrame, gap_before: np.ndarray, window: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(bad, reference close) per bar; the reference is the trailing median close a bar was judged by
    (NaN where the bar was not compared with it)."""
    log_close = np.log(frame["close"].to_numpy("float64"))
    log_low = np.log(frame["low"].to_numpy("float64"))
    log_high = np.log(frame["high"].to_numpy("float64"))
    previous = np.r_[np.nan, log_close[:-1]]
    with np.errstate(invalid="ignore"):
        from_previous = np.maximum(np.maximum(log_low - previous, previous - log_high), 0.0)
    bad = np.zeros(len(frame), dtype=bool)
    reference = np.full(len(frame), np.nan)
    # A bar whose range includes the last close is 0 away from it, so it cannot be a bad tick.
    rows = np.flatnonzero((from_previous > 0) & ~gap_before)
    if not len(rows):
        return bad, reference
    moves = np.abs(np.diff(log_close, prepend=np.nan))
    moves[moves == 0] = np.nan
    limit = threshold * MAD_TO_SIGMA * trailing_median(moves, window, rows)
    with np.errstate(invalid="ignore"):
        far = from_previous[rows] > limit
    rows, limit = rows[far], limit[far]
    median = trailing_median(log_close, window, rows)
    from_median = np.maximum(np.maximum(log_low[rows] - median, median - log_high[rows]), 0.0)
    with np.errstate(invalid="ignore"):
        bad[rows[from_median > limit]] = True
    reference[rows] = np.exp(median)
    return bad, reference
