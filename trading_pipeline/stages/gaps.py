"""Breaks in a bar series: where the data stops for longer than ``max_gap``, or a session ends.

A *break* before bar i means that bar i does not continue bar i-1: more than the run's ``max_gap``
passed between bar i-1's close and bar i's open, or a session boundary lies between them. Labels never
look across a break (their window would silently stretch over the missing time), resampled bins cut
by one are partial, and the bad-tick filter does not judge the first bar after one (its move includes
whatever happened while nothing was recorded).

Session boundaries come from an optional ``SessionBoundaries`` hook on the stage context. Without one
(the default, and every symbol whose trading calendar is unknown), breaks are gaps in time only; a
session calendar (the futures issue's CME calendar) plugs in here and every stage that respects breaks
respects its closures too, with no other change.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["SessionBoundaries", "bars_since_break", "breaks", "segments"]


class SessionBoundaries(Protocol):
    """A trading calendar's view of a bar series (int64 ns bar opens, sorted)."""

    def boundaries(self, symbol: str, open_ns: np.ndarray) -> np.ndarray:
        """True at i when a session boundary (a closure, or the start of a new trading day) lies
        between the open of bar i-1 and the open of bar i; element 0 is ignored."""
        ...

    def trade_day_ns(self, open_ns: np.ndarray) -> np.ndarray:
        """00:00 UTC of each bar's trading day (the exchange's, not the UTC date), int64 ns."""
        ...

    def minutes_since_open(self, open_ns: np.ndarray) -> np.ndarray:
        """Whole minutes from the open of each bar's session to the bar's open."""
        ...

    def session_span(self, open_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Open and close (int64 ns) of each bar's session."""
        ...


def breaks(
    open_ns: np.ndarray,
    close_ns: np.ndarray,
    gap_ns: int | None,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """True at i when bar i follows a break: ``open_i - close_{i-1} > gap_ns`` or ``extra[i]``.

    The first bar never follows a break (there is nothing before it to continue).
    """
    out = np.zeros(len(open_ns), dtype=bool)
    if len(open_ns) > 1 and gap_ns is not None:
        out[1:] = (open_ns[1:] - close_ns[:-1]) > gap_ns
    if extra is not None and len(out):
        out |= extra.astype(bool)
        out[0] = False
    return out


def segments(gap_before: np.ndarray) -> np.ndarray:
    """A segment number per bar: it goes up by one at every break."""
    return np.cumsum(gap_before, dtype=np.int64)


def bars_since_break(gap_before: np.ndarray) -> np.ndarray:
    """0 at the first bar of the data and at each bar after a break, then 1, 2, ... (causal)."""
    n = len(gap_before)
    index = np.arange(n, dtype=np.int64)
    starts = np.where(gap_before, index, 0)
    starts[0] = 0
    return (index - np.maximum.accumulate(starts)).astype(np.int32)
