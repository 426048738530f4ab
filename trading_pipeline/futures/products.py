"""The product table: what the project knows about each CME futures root, with the spec it came from.

Every number here is copied from the exchange's contract specification (the ``spec`` URL of each row)
and cross-checked in tests against an independent source; nothing is fetched at run time. A row says:
tick size and contract multiplier, the listed months (month codes) and the months a continuous series
holds by default, how the last trade date and the first notice date are found, which
pandas_market_calendars calendar gives its Globex sessions, and the default roll.

Rules are counted in CME trade dates (``tradedays``): an exchange holiday is no business day.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.tradedays import is_trade_date, shift_trade_dates

__all__ = ["MONTH_CODES", "PRODUCTS", "DefaultRoll", "Product", "get_product", "month_code"]

MONTH_CODES = "FGHJKMNQUVXZ"
"""CME month codes, January (F) to December (Z)."""
ALL_MONTHS = MONTH_CODES
QUARTERLY = "HMUZ"
FRIDAY = 4
WEDNESDAY = 2


def month_code(month: int) -> str:
    return MONTH_CODES[month - 1]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _on_or_before_trade_date(day: dt.date) -> dt.date:
    return day if is_trade_date(day) else shift_trade_dates(day, -1)


def third_friday(year: int, month: int) -> dt.date:
    """Equity index: the 3rd Friday of the contract month (the business day before, if a holiday)."""
    return _on_or_before_trade_date(_nth_weekday(year, month, FRIDAY, 3))


def third_last_business_day(year: int, month: int) -> dt.date:
    """COMEX gold: the third last business day of the contract month."""
    last = dt.date(year, month, _calendar.monthrange(year, month)[1])
    return shift_trade_dates(last, -2) if is_trade_date(last) else shift_trade_dates(last, -3)


def crude_last_trade(year: int, month: int) -> dt.date:
    """NYMEX CL: 3 business days before the 25th calendar day of the month before the contract
    month; 4 business days before it when the 25th is not a business day."""
    prior = dt.date(year, month, 1) - dt.timedelta(days=1)
    the_25th = dt.date(prior.year, prior.month, 25)
    return shift_trade_dates(the_25th, -3 if is_trade_date(the_25th) else -4)


def two_days_before_third_wednesday(year: int, month: int) -> dt.date:
    """CME FX (6E): 2 business days before the 3rd Wednesday of the contract month."""
    return shift_trade_dates(_nth_weekday(year, month, WEDNESDAY, 3), -2)


def last_business_day_of_prior_month(year: int, month: int) -> dt.date:
    """COMEX gold first notice: the last business day of the month before the contract month."""
    return _on_or_before_trade_date(dt.date(year, month, 1) - dt.timedelta(days=1))


DateRule = Callable[[int, int], dt.date]


@dataclass(frozen=True)
class DefaultRoll:
    """How a continuous series of the product rolls unless told otherwise.

    ``calendar_days``: effective at the session of the trade date this many calendar days before the
    reference date (CME's equity "roll date"); else ``sessions`` trade dates before it. ``reference``
    is ``last_trade`` or ``first_notice`` (deliverables must be left before notices start).
    """

    rule: str = "calendar"
    sessions: int = 0
    calendar_days: int = 0
    reference: str = "last_trade"
    source: str = ""


@dataclass(frozen=True)
class Product:
    root: str
    name: str
    exchange: str
    tick: float
    multiplier: float
    currency: str
    months: str
    """Month codes listed by the exchange."""
    roll_months: str
    """Months a continuous series holds by default (thin months skipped)."""
    last_trade: DateRule
    last_trade_time: str
    """Central time trading stops on the last trade date (HH:MM)."""
    first_notice: DateRule | None
    calendar: str
    """pandas_market_calendars name of its CME Globex calendar."""
    roll: DefaultRoll
    spec: str
    """The CME contract specification page the row was copied from."""

    def last_trade_date(self, year: int, month: int) -> dt.date:
        return self.last_trade(year, month)

    def first_notice_date(self, year: int, month: int) -> dt.date | None:
        return self.first_notice(year, month) if self.first_notice else None


_EQUITY_ROLL = DefaultRoll(
    calendar_days=8,
    source="CME equity index roll date: 8 calendar days before expiry "
    "(https://www.cmegroup.com/trading/equity-index/rolldates.html)",
)
_EQUITY = Product(
    root="",
    name="",
    exchange="CME",
    tick=0.25,
    multiplier=0.0,
    currency="USD",
    months=QUARTERLY,
    roll_months=QUARTERLY,
    last_trade=third_friday,
    last_trade_time="08:30",
    first_notice=None,
    calendar="CME Globex Equity",
    roll=_EQUITY_ROLL,
    spec="",
)
_GOLD_ROLL = DefaultRoll(
    sessions=2,
    reference="first_notice",
    source="leave a deliverable before first notice; 2 sessions ahead as CSI/Norgate-style "
    "'business day prior to First Notice Day' plus one session of margin",
)
_GOLD = Product(
    root="",
    name="",
    exchange="COMEX",
    tick=0.10,
    multiplier=0.0,
    currency="USD",
    months=ALL_MONTHS,
    roll_months="GJMQVZ",
    last_trade=third_last_business_day,
    last_trade_time="12:30",
    first_notice=last_business_day_of_prior_month,
    calendar="CMEGlobex_GC",
    roll=_GOLD_ROLL,
    spec="",
)

PRODUCTS: dict[str, Product] = {
    "ES": replace(
        _EQUITY,
        root="ES",
        name="E-mini S&P 500",
        tick=0.25,
        multiplier=50.0,
        spec="https://www.cmegroup.com/markets/equities/sp/e-mini-sandp500.contractSpecs.html",
    ),
    "MES": replace(
        _EQUITY,
        root="MES",
        name="Micro E-mini S&P 500",
        tick=0.25,
        multiplier=5.0,
        spec="https://www.cmegroup.com/markets/equities/sp/micro-e-mini-sandp-500.contractSpecs.html",
    ),
    "NQ": replace(
        _EQUITY,
        root="NQ",
        name="E-mini Nasdaq-100",
        tick=0.25,
        multiplier=20.0,
        spec="https://www.cmegroup.com/markets/equities/nasdaq/e-mini-nasdaq-100.contractSpecs.html",
    ),
    "MNQ": replace(
        _EQUITY,
        root="MNQ",
        name="Micro E-mini Nasdaq-100",
        tick=0.25,
        multiplier=2.0,
        spec="https://www.cmegroup.com/markets/equities/nasdaq/micro-e-mini-nasdaq-100.contractSpecs.html",
    ),
    "GC": replace(
        _GOLD,
        root="GC",
        name="Gold",
        tick=0.10,
        multiplier=100.0,
        spec="https://www.cmegroup.com/markets/metals/precious/gold.contractSpecs.html",
    ),
    "MGC": replace(
        _GOLD,
        root="MGC",
        name="Micro Gold",
        tick=0.10,
        multiplier=10.0,
        spec="https://www.cmegroup.com/markets/metals/precious/e-micro-gold.contractSpecs.html",
    ),
    "CL": Product(
        root="CL",
        name="Crude Oil (WTI)",
        exchange="NYMEX",
        tick=0.01,
        multiplier=1000.0,
        currency="USD",
        months=ALL_MONTHS,
        roll_months=ALL_MONTHS,
        last_trade=crude_last_trade,
        last_trade_time="13:30",
        first_notice=None,
        calendar="CMEGlobex_CL",
        roll=DefaultRoll(
            sessions=3,
            source="3 sessions before last trade: physical delivery follows expiry, and brokers "
            "close out positions days before it",
        ),
        spec="https://www.cmegroup.com/markets/energy/crude-oil/light-sweet-crude.contractSpecs.html",
    ),
    "6E": Product(
        root="6E",
        name="Euro FX",
        exchange="CME",
        tick=0.00005,
        multiplier=125000.0,
        currency="USD",
        months=QUARTERLY,
        roll_months=QUARTERLY,
        last_trade=two_days_before_third_wednesday,
        last_trade_time="09:16",
        first_notice=None,
        calendar="CMEGlobex_FX",
        roll=DefaultRoll(
            sessions=5,
            source="5 sessions before last trade (pysystemtrade rollconfig EUR: RollOffsetDays -5)",
        ),
        spec="https://www.cmegroup.com/markets/fx/g10/euro-fx.contractSpecs.html",
    ),
}


def get_product(root: str) -> Product:
    """The product of ``root`` (``MES``); ``FuturesError`` naming the known roots otherwise."""
    product = PRODUCTS.get(root.upper())
    if product is None:
        known = ", ".join(sorted(PRODUCTS))
        raise FuturesError(f"unknown futures root {root!r}: the product table holds {known}")
    return product
