"""A product's contract chain: the contracts a continuous series holds in turn, and the default roll.

The chain steps through the product's ``roll_months`` (ES: H M U Z; gold: G J M Q V Z). A contract is
the *active* (front) contract from the default roll of the contract before it up to its own default
roll; validation judges a contract file's coverage only over that span, since deferred months trade
thinly by nature.
"""

from __future__ import annotations

import datetime as dt

from trading_pipeline.futures.products import MONTH_CODES, Product
from trading_pipeline.futures.symbols import Contract
from trading_pipeline.futures.tradedays import next_trade_date, shift_trade_dates

__all__ = ["active_span", "calendar_roll_date", "next_in_chain", "previous_in_chain", "reference_date"]


def _months(product: Product) -> list[int]:
    return sorted(MONTH_CODES.index(code) + 1 for code in product.roll_months)


def previous_in_chain(contract: Contract) -> Contract:
    months = _months(contract.product)
    earlier = [m for m in months if m < contract.month]
    if earlier:
        return Contract(contract.year, earlier[-1], contract.root)
    return Contract(contract.year - 1, months[-1], contract.root)


def next_in_chain(contract: Contract) -> Contract:
    months = _months(contract.product)
    later = [m for m in months if m > contract.month]
    if later:
        return Contract(contract.year, later[0], contract.root)
    return Contract(contract.year + 1, months[0], contract.root)


def reference_date(contract: Contract, reference: str) -> dt.date:
    """The last trade date, or the first notice date for ``reference == "first_notice"`` (when the
    product has one; otherwise the last trade date)."""
    if reference == "first_notice" and contract.first_notice is not None:
        return contract.first_notice
    return contract.last_trade


def calendar_roll_date(
    contract: Contract,
    sessions: int | None = None,
    calendar_days: int | None = None,
    reference: str | None = None,
) -> dt.date:
    """The trade date whose session the roll *out of* ``contract`` takes effect at.

    ``calendar_days`` before the reference date (moved to the next trade date when that is none: CME's
    equity roll date), else ``sessions`` trade dates before it. Defaults come from the product table.
    Never later than the last trade date.
    """
    default = contract.product.roll
    ref = reference_date(contract, reference or default.reference)
    days = default.calendar_days if calendar_days is None and sessions is None else calendar_days
    if days:
        roll = next_trade_date(ref - dt.timedelta(days=days))
    else:
        roll = shift_trade_dates(ref, -(default.sessions if sessions is None else sessions))
    return min(roll, contract.last_trade)


def active_span(contract: Contract) -> tuple[dt.date, dt.date]:
    """Trade dates [first, last) during which ``contract`` is the front contract by the default roll."""
    return calendar_roll_date(previous_in_chain(contract)), calendar_roll_date(contract)
