"""Where a file's symbol comes from when the data does not say: the file name.

Rules, first match wins (documented for users in ``docs/formats.md``):

1. ``--symbol-pattern`` (``IngestOptions.symbol_pattern``): a regex with a ``symbol`` group, searched
   in the file name.
2. Vendor file names: HistData ``DAT_ASCII_EURUSD_M1_2012.csv`` -> EURUSD; LEAN members
   ``20131007_spy_minute_trade.csv`` -> SPY and ``20131008_es_minute_trade_201312.csv`` -> ESZ13;
   NinjaTrader ``ES 03-24.Last.txt`` -> ``ES_03-24`` (the contract month stays, space becomes ``_``).
3. Otherwise the first token of the name (split on ``_``, ``-``, ``.`` and spaces) that is not a
   date, a number, a bar interval (``1m``, ``5min``) or a generic word (``data``, ``bars``, ...):
   ``MES_1m.parquet`` -> MES, ``BTCUSDT-1m-2025-01-06.csv`` -> BTCUSDT, ``6EH4.XCME_1min_bars.csv`` -> 6EH4.

Symbols are upper-cased and must match ``[A-Za-z0-9._-]+``; any other character becomes ``_``.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.errors import UsageError

__all__ = ["MONTH_CODES", "normalise_symbol", "normalise_symbol_column", "symbol_from_name"]

VALID = re.compile(r"^[A-Za-z0-9._-]+$")
MONTH_CODES = "FGHJKMNQUVXZ"
_GENERIC = frozenset(
    {
        "DATA",
        "BARS",
        "BAR",
        "FUTURES",
        "FUTURE",
        "OHLCV",
        "OHLC",
        "CANDLES",
        "KLINES",
        "EXPORT",
        "SAMPLE",
        "VOLUME",
        "TEST",
        "HISTORY",
        "HISTORICAL",
        "PRICES",
        "QUOTES",
        "TRADE",
        "TRADES",
        "MINUTE",
        "DAILY",
        "HOURLY",
        "INTRADAY",
        "CSV",
        "TXT",
        "DAT",
        "ASCII",
        "FULL",
        "CONTINUOUS",
        "ADJUSTED",
        "UNADJUSTED",
        "BID",
        "ASK",
        "LAST",
        "MID",
        "SIM",
        "MIN",
        "TICK",
        "RAW",
        "DOWNLOAD",
        "FILE",
        "OUT",
        "INPUT",
        "GZ",
        "ZST",
        "ZIP",
        "PARQUET",
        "DBN",
        "MY",
        "NEW",
        "COPY",
        "GLBX",
        "MDP3",
        "XNAS",
        "ITCH",
        "DBEQ",
        "OPRA",
        "XNYS",
    }
)
_INTERVAL = re.compile(
    r"^(\d+(S|SEC|M|MIN|MINS|MINUTE|H|HR|HOUR|D|DAY|W|WK|WEEK|MO|MONTH|TICK|T)"
    r"|(S|M|H|D|W|T)\d+"
    r"|SEC|MIN|MINS|MINUTE|MINUTES|HR|HOUR|HOURLY|DAY|DAILY|WK|WEEK|WEEKLY|MONTH|MONTHLY|TICK|TICKS)$"
)
"""Interval tokens in file names (``1m``, ``5min``, ``M1``, ``daily``). A bare letter is not one: ``T``,
``M`` or ``F`` alone are tickers (AT&T, Macy's, Ford)."""
_HISTDATA = re.compile(r"^DAT_(?:ASCII|MT|NT|MS|XLSX)_(?P<symbol>[A-Z]{6})_", re.IGNORECASE)
_LEAN = re.compile(
    r"^\d{8}_(?P<root>[a-z0-9.]+)_(?:minute|second|tick|hour|daily)_[a-z]+(?:_(?P<exp>\d{6}))?\.csv$"
)
_NINJA = re.compile(r"^(?P<root>[A-Z0-9]+) (?P<month>\d{2}-\d{2})(?: Tick)?\.(?:Last|Bid|Ask)\b")


def normalise_symbol(raw: str) -> str | None:
    """Upper-case, characters outside ``[A-Za-z0-9._-]`` become ``_``; None if nothing is left."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", raw.strip().upper()).strip("_")
    return text if text and VALID.match(text) else None


def normalise_symbol_column(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The same normalisation for a whole ``symbol`` column, vectorised."""
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(values.cast(pa.string())))
    return pc.replace_substring_regex(upper, pattern=r"[^A-Z0-9._-]+", replacement="_")


def _lean(name: str) -> str | None:
    match = _LEAN.match(name)
    if not match:
        return None
    root, exp = match.group("root"), match.group("exp")
    if exp is None:
        return normalise_symbol(root)
    return normalise_symbol(f"{root}{MONTH_CODES[int(exp[4:]) - 1]}{exp[2:4]}")


def symbol_from_name(name: str, pattern: str | None = None) -> str | None:
    """The symbol a file name implies, or None when it implies none."""
    if pattern:
        try:
            match = re.search(pattern, name)
        except re.error as exc:
            raise UsageError(f"--symbol-pattern {pattern!r} is not a valid regex: {exc}") from exc
        if match and "symbol" in match.groupdict() and match.group("symbol"):
            return normalise_symbol(match.group("symbol"))
    for rule in (_HISTDATA, _NINJA):
        found = rule.match(name)
        if found:
            parts = found.groupdict()
            return normalise_symbol(parts.get("symbol") or f"{parts['root']}_{parts['month']}")
    lean = _lean(name)
    if lean:
        return lean
    return _first_token(name)


def _first_token(name: str) -> str | None:
    for token in re.split(r"[_\-. ]+", name):
        upper = token.upper()
        if not upper or upper.isdigit() or upper in _GENERIC or _INTERVAL.match(upper):
            continue
        return normalise_symbol(upper)
    return None
