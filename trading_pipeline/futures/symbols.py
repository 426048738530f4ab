"""Contract symbols: ``MESH5`` and the other ways vendors spell one contract, and vendor-continuous names.

Recognised spellings of MES March 2025 (any case; ingest turns spaces into ``_``):
``MESH5`` (CME Globex, 1-digit year), ``MESH25`` (Barchart), ``@MESH25`` (IQFeed), ``MESH2025``
(TradingView), ``MES 03-25`` / ``MES_03-25`` (NinjaTrader), ``MES-2025H`` / ``MES_2025H`` (CSI, Norgate),
and file-name stems that start with one of those (``MESH5_1m``, ``6EH4.XCME_1min_bars_2024``).

A 1-digit year names a decade only together with the file's dates: the contract must expire no
earlier than the file's last bar and at most ``MAX_YEARS_AHEAD`` years after its first bar. No or
several decades fitting is an error, never a guess. ``MES.c.0``, ``ES.v.1``, ``ES.n.0`` (Databento)
and ``MES1!`` (TradingView) are vendor-continuous series: recognised, and never stitched again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.products import MONTH_CODES, PRODUCTS, Product, month_code

__all__ = [
    "Contract",
    "VendorContinuous",
    "contract_root",
    "parse_contract",
    "parse_symbol",
    "vendor_continuous",
]

MAX_YEARS_AHEAD = 6
"""A 1-digit year's decade: the contract expires within this many years of the file's first bar (CME lists
at most the current year and the next five: a 1-digit year is unique within that)."""
TWO_DIGIT_PIVOT = 70
"""Two-digit years from 70 are 19xx (no electronic CME contract in this table is older)."""

_ROOTS = "|".join(sorted(PRODUCTS, key=len, reverse=True))
_CODE = f"[{MONTH_CODES}]"
_FORMS = (
    re.compile(rf"^@?(?P<root>{_ROOTS})(?P<code>{_CODE})(?P<year>\d{{4}}|\d{{2}}|\d)$"),
    re.compile(rf"^(?P<root>{_ROOTS})[ _](?P<month>0[1-9]|1[0-2])-(?P<year>\d{{2}})$"),
    re.compile(rf"^(?P<root>{_ROOTS})[-_](?P<year>\d{{4}})(?P<code>{_CODE})$"),
)
_STEM_CUT = re.compile(r"[._](?=[^._]*$)")
_CONTINUOUS = (
    re.compile(rf"^(?P<root>{_ROOTS})\.(?P<rule>[CVN])\.(?P<rank>\d+)$"),
    re.compile(rf"^(?P<root>{_ROOTS})(?P<rank>\d)!$"),
)


@dataclass(frozen=True, order=True)
class Contract:
    """One dated contract: ``MESH5`` is root MES, 2025, month 3."""

    year: int
    month: int
    root: str

    @property
    def product(self) -> Product:
        return PRODUCTS[self.root]

    @property
    def code(self) -> str:
        """The canonical CME Globex name with a 2-digit year (``MESH25``): unambiguous across decades."""
        return f"{self.root}{month_code(self.month)}{self.year % 100:02d}"

    @property
    def last_trade(self) -> dt.date:
        return self.product.last_trade_date(self.year, self.month)

    @property
    def first_notice(self) -> dt.date | None:
        return self.product.first_notice_date(self.year, self.month)


@dataclass(frozen=True)
class VendorContinuous:
    """A series a vendor already stitched (``MES.c.0``, ``MES1!``): no contract per bar is known."""

    root: str
    rule: str
    rank: int
    symbol: str


def vendor_continuous(symbol: str) -> VendorContinuous | None:
    text = symbol.strip().upper()
    for form in _CONTINUOUS:
        match = form.match(text)
        if match:
            parts = match.groupdict()
            rank = int(parts["rank"])
            rule = parts.get("rule") or "tradingview"
            # TradingView's 1! is the front contract (rank 0 in Databento's counting).
            return VendorContinuous(parts["root"], rule.lower(), rank - (rule == "tradingview"), text)
    return None


def _match(text: str) -> dict[str, str] | None:
    for form in _FORMS:
        found = form.match(text)
        if found:
            return {k: v for k, v in found.groupdict().items() if v is not None}
    return None


def _candidates(text: str) -> list[dict[str, str]]:
    """The whole symbol, else each shorter stem of a file name (``MESH5_1m`` -> ``MESH5``)."""
    stem = text.strip().upper()
    while stem:
        parts = _match(stem)
        if parts:
            return [parts]
        cut = _STEM_CUT.search(stem)
        if not cut:
            return []
        stem = stem[: cut.start()]
    return []


def contract_root(symbol: str) -> str | None:
    """The root when ``symbol`` spells a dated contract (whatever its decade), else None."""
    if vendor_continuous(symbol) is not None:
        return None
    found = _candidates(symbol)
    return found[0]["root"] if found else None


def parse_symbol(symbol: str, first: dt.date | None = None, last: dt.date | None = None) -> Contract | None:
    """The contract ``symbol`` names, or None when it names none (``AAPL``, ``MES``, ``MES.c.0``).

    ``first`` and ``last``: the dates of the file's first and last bar, which pick the decade of a
    1-digit year. ``FuturesError`` when the symbol is a contract whose year cannot be decided.
    """
    if vendor_continuous(symbol) is not None:
        return None
    found = _candidates(symbol)
    if not found:
        return None
    parts = found[0]
    root = parts["root"]
    month = int(parts["month"]) if "month" in parts else MONTH_CODES.index(parts["code"]) + 1
    year_text = parts["year"]
    if len(year_text) == 4:
        return Contract(int(year_text), month, root)
    if len(year_text) == 2:
        yy = int(year_text)
        return Contract((1900 if yy >= TWO_DIGIT_PIVOT else 2000) + yy, month, root)
    return Contract(_decade(symbol, root, month, int(year_text), first, last), month, root)


def parse_contract(symbol: str, first: dt.date | None = None, last: dt.date | None = None) -> Contract:
    """``parse_symbol`` that refuses a symbol naming no contract."""
    contract = parse_symbol(symbol, first, last)
    if contract is None:
        cont = vendor_continuous(symbol)
        if cont is not None:
            raise FuturesError(
                f"{symbol} is a vendor's continuous series ({cont.rule} rule): it is never stitched "
                "again; give the single contracts (e.g. MESH5, MESM5) instead"
            )
        raise FuturesError(f"{symbol!r} names no contract of a known root (e.g. MESH5, MESH25, MES 03-25)")
    return contract


def _decade(
    symbol: str, root: str, month: int, digit: int, first: dt.date | None, last: dt.date | None
) -> int:
    if first is None:
        raise FuturesError(
            f"{symbol}: a 1-digit year needs the file's dates to pick its decade; "
            f"name it with the full year ({root}{month_code(month)}2{digit}...)"
        )
    last = last or first
    product = PRODUCTS[root]
    fits = []
    for year in range(first.year - 10, first.year + MAX_YEARS_AHEAD + 1):
        if year % 10 != digit:
            continue
        expiry = product.last_trade_date(year, month)
        # Close-stamped files may carry the expiry session's last bar on the next day.
        if expiry >= last - dt.timedelta(days=1) and (expiry - first).days <= MAX_YEARS_AHEAD * 365:
            fits.append(year)
    if len(fits) != 1:
        span = f"bars {first} to {last}"
        what = "no decade fits" if not fits else f"decades {', '.join(map(str, fits))} all fit"
        raise FuturesError(
            f"{symbol}: {what} ({span}); name the contract with its full year, e.g. "
            f"{root}{month_code(month)}{(fits or [first.year])[0]}"
        )
    return fits[0]
