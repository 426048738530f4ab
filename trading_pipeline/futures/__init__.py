"""CME futures: the product table, contract symbols, Globex session calendars, session-aware gap
analysis, roll rules and continuous series with a roll log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from trading_pipeline.futures.calendar import SessionCalendar, Sessions, load_overrides, session_calendar
    from trading_pipeline.futures.products import PRODUCTS, DefaultRoll, Product, get_product
    from trading_pipeline.futures.symbols import (
        Contract,
        VendorContinuous,
        parse_contract,
        parse_symbol,
        vendor_continuous,
    )

_EXPORTS = {
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
    "Contract",
    "DefaultRoll",
    "Product",
    "SessionCalendar",
    "Sessions",
    "VendorContinuous",
    "get_product",
    "load_overrides",
    "parse_contract",
    "parse_symbol",
    "session_calendar",
    "vendor_continuous",
]
