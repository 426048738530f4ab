"""Column names vendors use for each role of a bar, and which name wins when a file has several.

Names are compared normalised (``normalise_name``): case, spaces, punctuation and a leading enumeration
do not matter, so ``Adj Close``, ``adj_close``, ``<CLOSE>`` and Alpha Vantage's ``4. close`` all match.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ALIASES", "DATETIME_NAMES", "PRIORITY", "is_known_name", "normalise_name", "rank"]


@functools.lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """'Adj Close' -> 'adjclose', '4. close' -> 'close', '<TICKVOL>' -> 'tickvol', 'Hoch' -> 'hoch'.

    Cached: sniffing asks it about the same few header names for every row it compares."""
    plain = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", re.sub(r"^\s*\d+\.\s+", "", plain))


ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("open", "o", "openprice", "first", "opening"), "open"),
        **dict.fromkeys(("high", "h", "highprice", "max", "highest"), "high"),
        **dict.fromkeys(("low", "l", "lowprice", "min", "lowest"), "low"),
        **dict.fromkeys(
            ("close", "c", "closeprice", "closing", "closelast", "last", "lastprice", "lastsale"), "close"
        ),
        **dict.fromkeys(
            ("price", "latest", "settle", "settlement", "settleprice", "settlementprice"), "close"
        ),
        **dict.fromkeys(
            ("volume", "vol", "v", "totalvolume", "tickvol", "tickvolume", "realvolume", "estvolume"),
            "volume",
        ),
        **dict.fromkeys(("basevolume", "volumefrom", "volccy"), "volume"),
        **dict.fromkeys(
            ("trades", "numberoftrades", "numtrades", "oftrades", "tradecount", "count", "nooftrades"),
            "trades",
        ),
        **dict.fromkeys(("transactions", "barcount", "n"), "trades"),
        **dict.fromkeys(("vwap", "average", "wap", "vw"), "vwap"),
        **dict.fromkeys(("openinterest", "oi", "openint"), "open_interest"),
        **dict.fromkeys(
            ("quotevolume", "quoteassetvolume", "volumeto", "turnover", "volccyquote"), "quote_volume"
        ),
        **dict.fromkeys(
            ("takerbuyvolume", "takerbuybaseassetvolume", "takerbuybasevolume"), "taker_buy_volume"
        ),
        **dict.fromkeys(("takerbuyquotevolume", "takerbuyquoteassetvolume"), "taker_buy_quote_volume"),
        **dict.fromkeys(("bidvolume", "bidvol"), "bid_volume"),
        **dict.fromkeys(("askvolume", "askvol"), "ask_volume"),
        **dict.fromkeys(("adjclose", "adjustedclose", "adjcloseprice"), "adj_close"),
        **dict.fromkeys(("symbol", "ticker", "instrument", "rawsymbol", "instid", "productid"), "symbol"),
        **dict.fromkeys(
            ("date", "day", "tradedate", "tradingday", "sessiondate", "businessdate", "dateutc"), "date"
        ),
        **dict.fromkeys(("time", "timeofday"), "time"),
        # Localised exports (Investing.com, banks' and brokers' sites in German, French, Spanish,
        # Italian and Portuguese): names written with accents match without them.
        **dict.fromkeys(("datum", "fecha", "data", "datums"), "date"),
        **dict.fromkeys(("eroffnung", "eroffn", "erster", "ouverture", "apertura", "abertura"), "open"),
        **dict.fromkeys(("hoch", "hochst", "plushaut", "maximo", "massimo", "maxima"), "high"),
        **dict.fromkeys(("tief", "tiefst", "plusbas", "minimo", "minima"), "low"),
        **dict.fromkeys(("schluss", "schlusskurs", "cloture", "cierre", "chiusura", "fechamento"), "close"),
        **dict.fromkeys(("zuletzt", "dernier", "ultimo"), "close"),
        **dict.fromkeys(("volumen", "umsatz", "volumes"), "volume"),
    }
)
"""Normalised vendor column name -> canonical role, shared by every profile."""

DATETIME_NAMES: tuple[str, ...] = (
    "tsevent",
    "windowstart",
    "opentime",
    "timestamputc",
    "datetime",
    "timestamp",
    "datetimeutc",
    "gmttime",
    "localtime",
    "start",
    "starttime",
    "begin",
    "beginsat",
    "timeperiodstart",
    "timeopen",
    "mts",
    "dt",
    "ts",
    "t",
    "index",
    "indexlevel0",
    "",
)
"""Names of a single combined date-time column, in order of preference."""

PRIORITY: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        # A futures settlement file has both the last trade and the settlement: the settlement is the
        # official close of the session, so it wins; a column called Close beats Last, and Last beats
        # the looser Price/Latest (Investing.com's Price is its close; yfinance's 'Price' labels dates).
        "close": {
            **dict.fromkeys(("settle", "settlement", "settleprice", "settlementprice"), 0),
            **dict.fromkeys(("close", "c", "closeprice", "closing", "closelast"), 1),
            **dict.fromkeys(("last", "lastprice", "lastsale", "zuletzt", "dernier", "ultimo"), 2),
            **dict.fromkeys(("price", "latest"), 3),
        },
        # Real traded volume beats a terminal's tick count (MetaTrader writes both).
        "volume": {**dict.fromkeys(("tickvol", "tickvolume"), 2), "estvolume": 1},
    }
)
"""Per role, the rank of each name when several columns claim it (lower wins; unlisted names rank 1)."""


def rank(role: str, key: str) -> int:
    """How strongly the normalised name ``key`` claims ``role`` (0 strongest)."""
    return PRIORITY.get(role, {}).get(key, 1)


def is_known_name(name: str) -> bool:
    """Whether a header cell names a bar column (used to pick the header line among junk lines)."""
    key = normalise_name(name)
    return bool(key) and (key in ALIASES or key in DATETIME_NAMES)
