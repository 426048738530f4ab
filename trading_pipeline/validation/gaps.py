"""Gaps: steps between bars longer than the inferred interval, told apart from expected closures.

A market that is closed produces no bars, so not every long step is missing data. Three kinds of step
are expected and only counted, never warned about:

* **weekends**: for intraday bars, a step that spans a whole UTC Saturday or Sunday. CME futures close
  Friday afternoon and reopen Sunday evening Chicago time, FX closes Friday 17:00 and reopens Sunday 17:00
  New York time, equities sit out Saturday and Sunday: in every case a full UTC weekend day falls inside
  the step (Sunday covers markets east of UTC and files whose zone was mislabelled by a few hours).
  Long weekends (a Friday or Monday holiday) are covered too.
* **daily session breaks**: for intraday bars, a step of at least 30 minutes shorter than a day that
  starts or ends at a time of day (UTC) where another such step also starts or ends. That is the CME
  maintenance hour, an equity market's overnight close, a vendor's daily cut-off. Matching the time of day
  rather than a calendar keeps this exchange-agnostic; DST moves the break by an hour in UTC, but each
  DST period holds many days, so both positions recur.
* **daily bars**: steps that skip only Saturday and Sunday, or a single weekday (an exchange holiday).

Anything else (a missing stretch inside a session, a closure of two or more weekdays, an unusual early
close) is reported in one warning with counts, the largest gap and the rows right after each gap.
"""

from __future__ import annotations

import numpy as np

from trading_pipeline.report import Finding
from trading_pipeline.validation.blocks import rows_at, steps_above
from trading_pipeline.validation.interval import (
    DAY_NS,
    MINUTE_NS,
    format_duration,
    format_interval,
    format_timestamp,
)

__all__ = ["GAPS", "gap_finding", "gap_finding_of"]

GAPS = "gaps"
SATURDAY = 5  # Monday is 0
SUNDAY = 6
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
MIN_SESSION_BREAK_NS = 30 * MINUTE_NS


def gap_finding(ts: np.ndarray, interval_ns: int, rows: np.ndarray | None) -> Finding | None:
    """One warning for the unexpected gaps of sorted, de-duplicated bars; None when there are none.

    ``ts`` holds int64 ns timestamps and ``rows`` the file row number of each bar (None: 1..n).
    """
    where = steps_above(ts, interval_ns)
    return gap_finding_of(ts[where], ts[where + 1], rows_at(rows, where + 1), interval_ns)


def gap_finding_of(
    start: np.ndarray, end: np.ndarray, rows_after: np.ndarray, interval_ns: int
) -> Finding | None:
    """The gap warning from steps already found: each from ``start`` to ``end`` (in time order), and the
    file row of the bar after it. Steps not longer than the interval are ignored."""
    longer = end - start > interval_ns
    start, end, rows_after = start[longer], end[longer], rows_after[longer]
    if start.size == 0:
        return None
    expected = _expected(start, end, interval_ns)
    unexpected = np.flatnonzero(~expected)
    if unexpected.size == 0:
        return None
    spans = end[unexpected] - start[unexpected]
    missing_bars = int(np.maximum(np.rint(spans / interval_ns) - 1, 1).sum())
    largest = int(np.argmax(spans))
    what = (
        f"{_plural(unexpected.size, 'gap')} longer than the {format_interval(interval_ns)} interval "
        f"({_plural(missing_bars, 'missing bar')}); the largest is {format_duration(int(spans[largest]))} "
        f"after {format_timestamp(int(start[unexpected[largest]]))}"
    )
    closed = int(expected.sum())
    hint = (
        f"Not counted: {_plural(closed, 'expected closure')} (weekends, holidays, session breaks)"
        if closed
        else ""
    )
    return Finding.at_rows(GAPS, what, rows_after[unexpected], severity="warning", hint=hint)


def _expected(start: np.ndarray, end: np.ndarray, interval_ns: int) -> np.ndarray:
    """Which of the gaps (bar at ``start``, next bar at ``end``) are market closures, not missing data."""
    if interval_ns == DAY_NS:
        first_missing = (start // DAY_NS + 1).astype("datetime64[D]")
        weekdays_skipped = np.busday_count(first_missing, (end // DAY_NS).astype("datetime64[D]"))
        return np.asarray(weekdays_skipped <= 1)
    if interval_ns > DAY_NS:
        return np.zeros(start.size, dtype=bool)
    weekend = _spans_a_weekend_day(start + interval_ns, end)
    closed_ns = end - start - interval_ns
    candidate = ~weekend & (closed_ns >= MIN_SESSION_BREAK_NS) & (closed_ns < DAY_NS)
    session = np.zeros(start.size, dtype=bool)
    if candidate.any():
        session[candidate] = _recurs(start[candidate] % DAY_NS) | _recurs(end[candidate] % DAY_NS)
    return weekend | session


def _spans_a_weekend_day(first_missing: np.ndarray, end: np.ndarray) -> np.ndarray:
    """True where a whole UTC Saturday or Sunday lies in [first_missing, end)."""
    first_day = -(-first_missing // DAY_NS)  # first midnight at or after the first missing bar
    full_days = end // DAY_NS - first_day
    weekday = (first_day + EPOCH_WEEKDAY) % 7
    to_saturday = (SATURDAY - weekday) % 7
    return np.asarray((full_days > 0) & ((weekday == SUNDAY) | (to_saturday < full_days)))


def _recurs(values: np.ndarray) -> np.ndarray:
    """True for each value that occurs at least twice."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return np.asarray(counts[inverse] >= 2)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
