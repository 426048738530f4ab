"""CME futures: the product table, contract symbols, Globex session calendars, session-aware gap
analysis, roll rules and continuous series with a roll log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from trading_pipeline.futures.calendar import SessionCalendar, Sessions, load_overrides, session_calendar
    from trading_pipeline.futures.chain import active_span, calendar_roll_date
    from trading_pipeline.futures.checks import session_checks
    from trading_pipeline.futures.continuous import ContinuousBuild, build_continuous
    from trading_pipeline.futures.coverage import CoverageReport, analyse_contract
    from trading_pipeline.futures.products import PRODUCTS, DefaultRoll, Product, get_product
    from trading_pipeline.futures.research import CmeSessionClock, clock_for
    from trading_pipeline.futures.roll import Roll, RollRule, decide_rolls
    from trading_pipeline.futures.service import ContinuousLoader, build_from_source
    from trading_pipeline.futures.symbols import (
        Contract,
        VendorContinuous,
        contract_root,
        parse_contract,
        parse_symbol,
        vendor_continuous,
    )

_EXPORTS = {
    "analyse_contract": "trading_pipeline.futures.coverage",
    "CoverageReport": "trading_pipeline.futures.coverage",
    "session_checks": "trading_pipeline.futures.checks",
    "RollRule": "trading_pipeline.futures.roll",
    "Roll": "trading_pipeline.futures.roll",
    "decide_rolls": "trading_pipeline.futures.roll",
    "build_continuous": "trading_pipeline.futures.continuous",
    "ContinuousBuild": "trading_pipeline.futures.continuous",
    "build_from_source": "trading_pipeline.futures.service",
    "ContinuousLoader": "trading_pipeline.futures.service",
    "CmeSessionClock": "trading_pipeline.futures.research",
    "clock_for": "trading_pipeline.futures.research",
    "active_span": "trading_pipeline.futures.chain",
    "calendar_roll_date": "trading_pipeline.futures.chain",
    "contract_root": "trading_pipeline.futures.symbols",
    "SessionCalendar": "trading_pipeline.futures.calendar",
    "Sessions": "trading_pipeline.futures.calendar",
    "load_overrides": "trading_pipeline.futures.calendar",
    "session_calendar": "trading_pipeline.futures.calendar",
    "PRODUCTS": "trading_pipeline.futures.products",
    "DefaultRoll": "trading_pipeline.futures.products",
    "Product": "trading_pipeline.futures.products",
    "get_product": "trading_pipeline.futures.products",
    "Contract": "trading_pipeline.futures.symbols",
    "VendorContinuous": "trading_pipeline.futures.symbols",
    "parse_contract": "trading_pipeline.futures.symbols",
    "parse_symbol": "trading_pipeline.futures.symbols",
    "vendor_continuous": "trading_pipeline.futures.symbols",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "PRODUCTS",
    "CmeSessionClock",
    "ContinuousBuild",
    "ContinuousLoader",
    "Contract",
    "CoverageReport",
    "DefaultRoll",
    "Product",
    "Roll",
    "RollRule",
    "SessionCalendar",
    "Sessions",
    "VendorContinuous",
    "active_span",
    "analyse_contract",
    "build_continuous",
    "build_from_source",
    "calendar_roll_date",
    "clock_for",
    "contract_root",
    "decide_rolls",
    "get_product",
    "load_overrides",
    "parse_contract",
    "parse_symbol",
    "session_calendar",
    "session_checks",
    "vendor_continuous",
]
