"""Bar interval inference and its human spelling ("1min", "5min", "1h", "1D").

The interval is the median positive step between consecutive bars: robust to session breaks, weekends
and the odd missing bar, which only ever make steps longer. On large inputs a fixed-seed random sample
of the steps gives the same median at a fraction of the cost (a strided sample could alias with a
daily pattern, a random one cannot).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

__all__ = [
    "DAY_NS",
    "HOUR_NS",
    "MINUTE_NS",
    "format_duration",
    "format_interval",
    "format_timestamp",
    "infer_interval_ns",
]

SECOND_NS = 1_000_000_000
MINUTE_NS = 60 * SECOND_NS
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS
EXACT_MEDIAN_MAX = 1_000_000
SAMPLE_SIZE = 200_001
_UNITS: tuple[tuple[int, str], ...] = (
    (DAY_NS, "D"),
    (HOUR_NS, "h"),
    (MINUTE_NS, "min"),
    (SECOND_NS, "s"),
    (1_000_000, "ms"),
    (1_000, "us"),
    (1, "ns"),
)


def infer_interval_ns(ts: np.ndarray) -> int | None:
    """Median of the positive steps between sorted int64 ns timestamps; None with fewer than two bars."""
    if ts.size - 1 > EXACT_MEDIAN_MAX:
        at = np.random.default_rng(0).integers(0, ts.size - 1, SAMPLE_SIZE)
        steps = ts[at + 1] - ts[at]
    else:
        steps = np.diff(ts)
    positive = steps[steps > 0]
    if positive.size == 0:
        return None
    middle = (positive.size - 1) // 2  # the lower median is always a step that really occurs
    return int(np.partition(positive, middle)[middle])


def format_interval(ns: int) -> str:
    """The largest unit that divides the interval exactly: 60e9 -> '1min', 90e9 -> '90s'."""
    for size, name in _UNITS:
        if ns % size == 0:
            return f"{ns // size}{name}"
    return f"{ns}ns"  # pragma: no cover - the ns unit always divides


def format_duration(ns: int) -> str:
    """A span for people: '2D 1h', '45min', '90s'; at most the two largest non-zero units."""
    parts: list[str] = []
    rest = ns
    for size, name in _UNITS[:4]:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{name}")
    return " ".join(parts[:2]) if parts else format_interval(ns)


def format_timestamp(ns: int) -> str:
    """A bar time for messages: '2024-01-02 14:30 UTC' (seconds only when they are not zero)."""
    when = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC" if when.second else "%Y-%m-%d %H:%M UTC")
