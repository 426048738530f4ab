"""CME trade dates: the business days contract rules count in (last trade, first notice, roll offsets).

pandas_market_calendars' ``CME_TradeDate`` calendar marks every US exchange holiday as no trade date,
which is what CME's "business day" means in its contract rules. Trade dates are loaded once per
process for a fixed span and kept as a sorted array of ``datetime64[D]``, so rule arithmetic is a
``searchsorted``, never a calendar call.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

__all__ = ["TRADE_DATE_SPAN", "is_trade_date", "next_trade_date", "shift_trade_dates", "trade_dates"]

TRADE_DATE_SPAN = ("1995-01-01", "2045-12-31")
"""Contracts outside this span cannot be resolved; the calendar's own rules extrapolate the future."""


@lru_cache(maxsize=1)
def trade_dates() -> np.ndarray:
    """Every CME trade date in ``TRADE_DATE_SPAN``, sorted, as ``datetime64[D]``."""
    import pandas_market_calendars as mcal

    days = mcal.get_calendar("CME_TradeDate").valid_days(*TRADE_DATE_SPAN)
    return np.asarray(days.tz_localize(None).to_numpy().astype("datetime64[D]"))


def _day(value: dt.date) -> np.datetime64:
    return np.datetime64(value.isoformat(), "D")


def is_trade_date(value: dt.date) -> bool:
    days = trade_dates()
    i = int(np.searchsorted(days, _day(value)))
    return i < len(days) and days[i] == _day(value)


def next_trade_date(value: dt.date) -> dt.date:
    """``value`` when it is a trade date, else the first trade date after it."""
    days = trade_dates()
    i = int(np.searchsorted(days, _day(value)))
    return _date(days[min(i, len(days) - 1)])


def shift_trade_dates(value: dt.date, n: int) -> dt.date:
    """The trade date ``n`` trade dates after (n > 0) or before (n < 0) ``value``.

    ``value`` need not be a trade date: n = -1 is the last trade date strictly before it, n = 1 the
    first strictly after it; n = 0 is ``value`` itself or the preceding trade date.
    """
    days = trade_dates()
    target = _day(value)
    if n > 0:
        i = int(np.searchsorted(days, target, side="right")) + n - 1
    elif n < 0:
        i = int(np.searchsorted(days, target, side="left")) + n
    else:
        i = int(np.searchsorted(days, target, side="right")) - 1
    return _date(days[max(0, min(i, len(days) - 1))])


def _date(value: np.datetime64) -> dt.date:
    return dt.date.fromisoformat(str(value))
