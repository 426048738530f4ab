"""The table of named layouts ("profiles") that detection walks, most specific first.

Adding a vendor is adding a row to ``PROFILES``: say what identifies the layout (header names, field
count, the look of the first field, the file name) and what its columns and times mean (roles,
time zone rule, bar label, price scale). ``docs/formats.md`` is the user-facing copy of this table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.aliases import ALIASES, DATETIME_NAMES
from trading_pipeline.ingest.options import BarLabel
from trading_pipeline.ingest.textsniff import TextSniff

__all__ = ["ALIASES", "DATETIME_NAMES", "PROFILES", "Profile", "get_profile", "match_text_profile"]


OHLCV = ("open", "high", "low", "close", "volume")
BINANCE = (
    "datetime",
    *OHLCV,
    "skip",
    "quote_volume",
    "trades",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "skip",
)


@dataclass(frozen=True)
class Profile:
    """One named layout: how to recognise it and what its columns and times mean."""

    name: str
    kind: str = "text"
    header: bool | None = None
    needs: frozenset[str] = frozenset()
    delimiter: str | None = None
    fields: tuple[int, ...] = ()
    first: str | None = None
    second: str | None = None
    file_name: str | None = None
    names: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    tz: str | None = None
    tz_hint: str = ""
    tz_required: bool = False
    """The vendor writes a local zone it does not name (exchange time): naive times without --tz or a
    configured zone are refused instead of being read as UTC, which would be known to be wrong."""
    bar_label: BarLabel = "open"
    price_scale: float | None = None
    fixed_point: bool = False
    time_kind: str | None = None
    month_first: bool = False
    example: str = ""
    description: str = ""

    def matches(self, sniff: TextSniff) -> bool:
        """Whether a text sample fits this layout (every stated condition must hold)."""
        if self.kind != "text":
            return False
        checks = (
            self.header is None or (sniff.header is not None) == self.header,
            self.needs <= set(sniff.names),
            self.delimiter is None or sniff.notes.get("delimiter") == self.delimiter,
            not self.fields or sniff.field_count in self.fields,
            self.file_name is None or re.search(self.file_name, sniff.file_name, re.IGNORECASE) is not None,
            _first_matches(self.first, sniff, 0),
            _first_matches(self.second, sniff, 1),
        )
        return all(checks)


def _first_matches(pattern: str | None, sniff: TextSniff, index: int) -> bool:
    if pattern is None:
        return True
    values = sniff.column(index, limit=20)
    return bool(values) and all(re.fullmatch(pattern, v) for v in values)


_ISO = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
_US_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
_YMD_HMS = r"\d{8} \d{6}"

JSON_PROFILES: tuple[Profile, ...] = (
    Profile(
        "json",
        kind="json",
        description="JSON rows: arrays, objects, wrapped ({results|data|...: [...]}), NDJSON",
    ),
    Profile(
        "kraken_ohlc",
        kind="json",
        tz="UTC",
        names=("datetime", *OHLCV[:4], "vwap", "volume", "trades"),
        description="Kraken OHLC ({result: {PAIR: [[time, o, h, l, c, vwap, volume, count]]}})",
    ),
    Profile(
        "bybit_kline",
        kind="json",
        tz="UTC",
        names=("datetime", *OHLCV, "quote_volume"),
        description="Bybit v5 kline ({result: {list: [[start, o, h, l, c, volume, turnover]]}})",
    ),
    Profile(
        "okx_candles",
        kind="json",
        tz="UTC",
        names=("datetime", *OHLCV, "skip", "quote_volume", "skip"),
        description="OKX candles ({data: [[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]]})",
    ),
    Profile(
        "kucoin_candles",
        kind="json",
        tz="UTC",
        names=("datetime", "open", "close", "high", "low", "volume", "quote_volume"),
        description="KuCoin candles ({data: [[time, open, close, high, low, volume, turnover]]})",
    ),
    Profile(
        "gate_candlesticks",
        kind="json",
        tz="UTC",
        names=("datetime", "quote_volume", "close", "high", "low", "open", "volume", "skip"),
        description="Gate.io candlesticks ([[t, quote volume, close, high, low, open, volume, closed]])",
    ),
    Profile(
        "spreadsheet",
        kind="spreadsheet",
        description="Excel .xlsx/.xls or OpenDocument .ods: the sheet that holds bars",
    ),
)
"""Layouts of JSON payloads and spreadsheets; the JSON reader picks a vendor row by the payload's shape."""

PROFILES: tuple[Profile, ...] = (
    Profile(
        "databento_dbn", kind="dbn", tz="UTC", fixed_point=True, description="Databento DBN (.dbn, .dbn.zst)"
    ),
    Profile(
        "nautilus_parquet",
        kind="parquet",
        tz="UTC",
        fixed_point=True,
        bar_label="close",
        description="Nautilus Trader bars: int 1e-9 prices, ts_event ns, close-labelled",
    ),
    Profile("parquet", kind="parquet", description="Parquet with bar columns under any usual names"),
    Profile(
        "lean_equity",
        header=False,
        fields=(6,),
        names=("time", *OHLCV),
        tz="America/New_York",
        file_name=r"^\d{8}_[a-z0-9.]+_(minute|second)_trade\.csv$",
        price_scale=1e-4,
        time_kind="ms_of_day",
        description="QuantConnect LEAN equity minute/second trade bars (zip member)",
    ),
    Profile(
        "lean_future",
        header=False,
        fields=(6,),
        names=("time", *OHLCV),
        tz="UTC",
        file_name=r"^\d{8}_[a-z0-9.]+_(minute|second)_trade_\d{6}\.csv$",
        time_kind="ms_of_day",
        description="QuantConnect LEAN futures minute/second trade bars, one zip member per contract",
    ),
    Profile(
        "binance_klines",
        header=False,
        fields=(12,),
        first=r"\d{13}|\d{16}",
        names=BINANCE,
        tz="UTC",
        description="Binance public-data klines, spot layout without header (ms or us epoch)",
    ),
    Profile(
        "binance_klines_header",
        header=True,
        needs=frozenset({"opentime", "closetime", "takerbuyvolume"}),
        tz="UTC",
        rename=MappingProxyType({"closetime": "skip", "ignore": "skip"}),
        description="Binance futures klines with header",
    ),
    Profile(
        "databento_csv",
        header=True,
        needs=frozenset({"tsevent", "instrumentid"}),
        tz="UTC",
        fixed_point=True,
        rename=MappingProxyType({"rtype": "skip", "publisherid": "skip", "instrumentid": "skip"}),
        description="Databento CSV (raw or pretty), optional symbol column",
    ),
    Profile(
        "polygon_flat",
        header=True,
        needs=frozenset({"windowstart", "ticker"}),
        tz="UTC",
        description="Polygon/Massive flat-file aggregates (window_start ns, ticker)",
    ),
    Profile(
        "histdata_ascii",
        header=False,
        delimiter=";",
        fields=(6,),
        first=_YMD_HMS,
        file_name=r"^DAT_(ASCII|NT)_",
        names=("datetime", *OHLCV),
        tz="Etc/GMT+5",
        description="HistData.com Generic ASCII M1 (EST, no DST)",
    ),
    Profile(
        "histdata_mt",
        header=False,
        fields=(7,),
        first=r"\d{4}\.\d{2}\.\d{2}",
        file_name=r"^DAT_MT_",
        names=("date", "time", *OHLCV),
        tz="Etc/GMT+5",
        description="HistData.com MetaTrader M1 (EST, no DST)",
    ),
    Profile(
        "ninjatrader",
        header=False,
        delimiter=";",
        fields=(6,),
        first=_YMD_HMS + r"|\d{8}",
        names=("datetime", *OHLCV),
        tz="UTC",
        tz_hint="NinjaTrader 8 exports are UTC; --tz overrides",
        description="NinjaTrader import/export text (yyyyMMdd HHmmss;o;h;l;c;v)",
    ),
    Profile(
        "kibot",
        header=False,
        delimiter=",",
        fields=(7,),
        first=_US_DATE,
        second=r"\d{1,2}:\d{2}",
        names=("date", "time", *OHLCV),
        month_first=True,
        tz="America/New_York",
        tz_hint="Kibot data is US Eastern; --tz overrides",
        description="Kibot intraday (no header, mm/dd/yyyy,hh:mm,...)",
    ),
    Profile(
        "sierra_chart",
        header=True,
        delimiter=", ",
        needs=frozenset({"date", "time", "last"}),
        tz_hint="Sierra Chart writes the chart's time zone: pass --tz",
        description="Sierra Chart bar export",
    ),
    Profile(
        "tradestation",
        header=True,
        needs=frozenset({"date", "time", "up", "down"}),
        bar_label="close",
        month_first=True,
        rename=MappingProxyType({"up": "up", "down": "down"}),
        tz_required=True,
        tz_hint="TradeStation writes exchange time, which differs by instrument: pass --tz"
        " (e.g. America/New_York for US equities, America/Chicago for CME futures) or set the source's zone",
        description="TradeStation chart export (close-labelled, Up/Down volume)",
    ),
    Profile(
        "tradestation",
        header=True,
        needs=frozenset({"date", "time", "o", "h", "l", "c"}),
        bar_label="close",
        month_first=True,
        tz_required=True,
        tz_hint="TradeStation writes exchange time, which differs by instrument: pass --tz"
        " or set the source's zone",
        description="TradeStation ASCII (O,H,L,C names)",
    ),
    Profile(
        "yahoo", header=True, needs=frozenset({"date", "adjclose"}), description="Yahoo Finance download"
    ),
    Profile(
        "barchart",
        header=True,
        needs=frozenset({"time", "last", "change"}),
        month_first=True,
        description="Barchart.com download (Time holds dates, Last = close, newest first)",
    ),
    Profile(
        "nautilus_csv",
        header=True,
        needs=frozenset({"timestamputc"}),
        tz="UTC",
        rename=MappingProxyType({"pricetype": "skip"}),
        description="Nautilus Trader CSV (timestamp_utc)",
    ),
    Profile(
        "firstrate",
        file_name=r"^[A-Z0-9]+_(full_)?(1|5|30)?(min|hour|day)",
        fields=(6, 7),
        first=_ISO + "|" + r"\d{4}-\d{2}-\d{2}",
        tz="America/New_York",
        tz_hint="FirstRate Data is US Eastern; --tz overrides",
        names=("datetime", *OHLCV, "open_interest"),
        description="FirstRate Data (yyyy-MM-dd HH:mm:ss)",
    ),
    Profile(
        "metatrader4",
        header=False,
        fields=(7,),
        first=r"\d{4}\.\d{2}\.\d{2}",
        second=r"\d{2}:\d{2}(:\d{2})?",
        names=("date", "time", *OHLCV),
        tz_hint="MetaTrader writes the broker's server time: pass --tz (often Etc/GMT-2 or Europe/Athens)",
        description="MetaTrader 4 history export (yyyy.mm.dd,hh:mm,o,h,l,c,tick volume)",
    ),
    Profile(
        "metatrader5",
        header=True,
        needs=frozenset({"date", "time", "tickvol"}),
        rename=MappingProxyType({"spread": "skip"}),
        tz_hint="MetaTrader writes the broker's server time: pass --tz (often Etc/GMT-2 or Europe/Athens)",
        description="MetaTrader 5 export (<DATE> <TIME> ... <TICKVOL> <VOL>, often UTF-16, tab-separated)",
    ),
    Profile(
        "stooq",
        header=True,
        needs=frozenset({"ticker", "per", "date"}),
        rename=MappingProxyType({"per": "skip"}),
        tz_hint="Stooq intraday times are Polish local time: pass --tz Europe/Warsaw",
        description="Stooq.com download (<TICKER>,<PER>,<DATE>,<TIME>,...)",
    ),
    Profile(
        "dukascopy",
        header=True,
        needs=frozenset({"gmttime"}),
        tz="UTC",
        description="Dukascopy export (Gmt time dd.mm.yyyy HH:MM:SS.fff)",
    ),
    Profile(
        "investing_com",
        header=True,
        needs=frozenset({"date", "price", "open", "high", "low"}),
        rename=MappingProxyType({"change": "skip"}),
        description="Investing.com historical data (Price = close, Vol. with K/M/B, '-' for none)",
    ),
    Profile(
        "nasdaq_com",
        header=True,
        needs=frozenset({"date", "closelast"}),
        month_first=True,
        description="Nasdaq.com historical quotes (Close/Last, $ prices, newest first)",
    ),
    Profile(
        "futures_settlement",
        header=True,
        needs=frozenset({"settle"}),
        description="Futures settlement prices (Settle is the close, beating Last)",
    ),
    Profile(
        "interactive_brokers",
        header=True,
        needs=frozenset({"date", "barcount"}),
        tz_hint="IB writes the TWS login time zone unless the value names one: pass --tz",
        description="Interactive Brokers bars (ib_insync util.df: date,open,...,average,barCount)",
    ),
    Profile(
        "tradingview",
        header=True,
        needs=frozenset({"time", "open", "high", "low", "close"}),
        first=r"\d{10}|\d{4}-\d{2}-\d{2}T.*[+-]\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T.*Z",
        description="TradingView chart export (time as epoch seconds or ISO with offset)",
    ),
    *JSON_PROFILES,
    Profile("generic_header", header=True, description="Any headered table with recognisable column names"),
    Profile(
        "generic_noheader",
        header=False,
        fields=(5, 6, 7, 8),
        description="Headerless date[,time],open,high,low,close[,volume[,open_interest]]",
    ),
)


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``--profile``); unknown names are a usage error."""
    for profile in PROFILES:
        if profile.name == name:
            return profile
    known = ", ".join(sorted({p.name for p in PROFILES}))
    raise UsageError(f"unknown profile {name!r}; known profiles: {known}")


def match_text_profile(sniff: TextSniff) -> Profile | None:
    """The first text profile whose conditions the sample meets."""
    return next((p for p in PROFILES if p.matches(sniff)), None)
