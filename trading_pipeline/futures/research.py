"""The CME session calendar as the research stages see it (``stages.gaps.SessionBoundaries``).

With it, a futures symbol's bars break at every closure (weekend, holiday, early close, the daily
maintenance hour, a halt) and at every new session, so labels never look across one; daily bars are
binned by CME trade date (the session that opens 17:00 CT belongs to the next day, a holiday-halt
session to the trade date CME books it to); the time-of-day features count minutes since the session
opened and the day-of-week features use the trade date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.calendar import Sessions, session_calendar
from trading_pipeline.futures.products import PRODUCTS
from trading_pipeline.futures.symbols import contract_root

__all__ = ["TIME_BASIS", "CmeSessionClock", "clock_for"]

NS_PER_DAY = 86_400 * 1_000_000_000
NS_PER_MINUTE = 60 * 1_000_000_000

TIME_BASIS = {
    "calendar": "cme",
    "days": "CME trade dates: a session opening 17:00 CT belongs to the next trade date; daily bins sit "
    "at 00:00 UTC of the trade date",
    "time_of_day": "tod_sin/tod_cos: minutes since the CME Globex session opened (period 1,440 minutes)",
    "day_of_week": "dow_sin/dow_cos: the weekday of the CME trade date",
    "sessions": "CME Globex sessions (pandas_market_calendars with the project's overrides): every closure "
    "(weekend, holiday, early close, 16:00-17:00 CT maintenance, halts) and every new session is a break; "
    "a label whose horizon would cross one is dropped and counted",
}
"""How a run reads days and times of day for a futures symbol: stated in run.json."""


class CmeSessionClock:
    """Session boundaries, trade dates and minutes since the open for one product's bars."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._span: tuple[int, int] | None = None
        self._sessions: Sessions | None = None

    def sessions(self, open_ns: np.ndarray) -> Sessions:
        """The sessions around ``open_ns`` (sorted int64 ns); cached while the span stays inside."""
        lo, hi = (int(open_ns[0]), int(open_ns[-1])) if len(open_ns) else (0, 0)
        if self._sessions is None or self._span is None or lo < self._span[0] or hi > self._span[1]:
            first = pd.Timestamp(lo, tz="UTC").date() - dt.timedelta(days=7)
            last = pd.Timestamp(hi, tz="UTC").date() + dt.timedelta(days=7)
            self._sessions = session_calendar(self.root).sessions(first, last)
            self._span = (lo, hi)
        return self._sessions

    def boundaries(self, symbol: str, open_ns: np.ndarray) -> np.ndarray:
        """True at i when a closure or a new session lies between bar i-1 and bar i (bars outside
        every session break too)."""
        window = self.sessions(open_ns).window_of(open_ns)
        out = np.zeros(len(open_ns), dtype=bool)
        if len(open_ns) > 1:
            out[1:] = (window[1:] != window[:-1]) | (window[1:] < 0)
        return out

    def _session_index(self, open_ns: np.ndarray) -> np.ndarray:
        """The session of each bar; a bar outside every session goes to the session after it."""
        sessions = self.sessions(open_ns)
        i = sessions.locate(open_ns)
        after = np.minimum(np.searchsorted(sessions.open_ns, open_ns, side="right"), len(sessions) - 1)
        return np.where(i >= 0, i, after)

    def trade_day_ns(self, open_ns: np.ndarray) -> np.ndarray:
        """00:00 UTC of each bar's CME trade date, as int64 ns (the daily bin key)."""
        sessions = self.sessions(open_ns)
        days = sessions.trade_date[self._session_index(open_ns)]
        return np.asarray(days.astype("datetime64[ns]").astype(np.int64))

    def minutes_since_open(self, open_ns: np.ndarray) -> np.ndarray:
        sessions = self.sessions(open_ns)
        opened = sessions.open_ns[self._session_index(open_ns)]
        return np.asarray(np.maximum(open_ns - opened, 0) // NS_PER_MINUTE)

    def session_span(self, open_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Open and close (int64 ns) of each bar's session."""
        sessions = self.sessions(open_ns)
        i = self._session_index(open_ns)
        return sessions.open_ns[i], sessions.close_ns[i]


def clock_for(symbol: str, *, continuous: bool = False, forced: bool = False) -> CmeSessionClock | None:
    """The clock of ``symbol`` when its product is known: a dated contract (``MESH5``), the root of a
    continuous run, or any symbol starting with a known root when the run asks for ``calendar = "cme"``."""
    root = contract_root(symbol)
    if root is None and (continuous or forced):
        root = symbol.upper() if symbol.upper() in PRODUCTS else None
        if root is None:
            raise FuturesError(f"{symbol} is no root of the product table ({', '.join(sorted(PRODUCTS))})")
    return CmeSessionClock(root) if root else None
