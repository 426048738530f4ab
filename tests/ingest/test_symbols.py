"""The symbol a file name implies, and how symbols are normalised."""

from __future__ import annotations

import pytest

from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.symbols import normalise_symbol, symbol_from_name


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("MES_1m.parquet", "MES"),
        ("BTCUSDT-1m-2025-01-06.csv", "BTCUSDT"),
        ("NQ_1min_sample.csv", "NQ"),
        ("6EH4.XCME_1min_bars.csv", "6EH4"),
        ("ES 03-24.Last.txt", "ES_03-24"),
        ("DAT_ASCII_EURUSD_M1_201202.csv", "EURUSD"),
        ("20131007_spy_minute_trade.csv", "SPY"),
        ("20131008_es_minute_trade_201312.csv", "ESZ13"),
        ("orcl-1995-2014.txt", "ORCL"),
        ("MSFT.txt", "MSFT"),
        ("T.csv", "T"),
        ("M_daily.csv", "M"),
        ("EURUSD_H1.csv", "EURUSD"),
        ("NQZ25-CME_5m.scid_BarData.txt", "NQZ25"),
    ],
)
def test_symbol_from_file_name(name: str, symbol: str) -> None:
    """Vendor naming rules, else the first meaningful token, upper-cased."""
    assert symbol_from_name(name) == symbol


@pytest.mark.parametrize(
    "name",
    ["2006-min-005.txt", "futures_ohlcv-1m_2024-07-01.dbn.zst", "data.csv", "2006-01-02-volume-min-001.txt"],
)
def test_names_without_a_symbol(name: str) -> None:
    """Dates, numbers, intervals and generic words are never taken for a symbol."""
    assert symbol_from_name(name) is None


def test_symbol_pattern_wins() -> None:
    """A --symbol-pattern regex with a `symbol` group overrides the built-in rules."""
    assert symbol_from_name("export_2024_mes.csv", r"_(?P<symbol>[a-z]+)\.csv$") == "MES"


def test_bad_symbol_pattern_is_a_usage_error() -> None:
    """An invalid regex is reported, not raised as re.error."""
    with pytest.raises(UsageError):
        symbol_from_name("x.csv", "(")


@pytest.mark.parametrize(
    ("raw", "clean"), [("es.c.0", "ES.C.0"), ("X:BTCUSD", "X_BTCUSD"), (" brk b ", "BRK_B"), ("!!", None)]
)
def test_normalise_symbol(raw: str, clean: str | None) -> None:
    """Upper case; characters outside [A-Za-z0-9._-] become `_`; nothing left means no symbol."""
    assert normalise_symbol(raw) == clean
