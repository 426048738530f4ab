"""One tiny sample per text profile: detection picks the right row of the profile table and reads it right."""

from __future__ import annotations

from typing import Any

import pytest

from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.profiles import PROFILES, get_profile

KLINE = (
    "1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.2,"
    "1637971259999,1.03547608,79,19523.0,0.55694227,0\n"
)


def test_binance_klines_without_header(samples: Any, at: Any) -> None:
    """12 unnamed columns with ms epoch: Binance spot klines, extras named, UTC."""
    parsed = samples.read("ADABTC-1m-2021-11-27.csv", KLINE)
    assert parsed.profile == "binance_klines"
    assert samples.row(parsed) == {
        "datetime": at("2021-11-27 00:00"),
        "open": 2.853e-05,
        "high": 2.854e-05,
        "low": 2.851e-05,
        "close": 2.854e-05,
        "volume": 36304.2,
        "quote_volume": 1.03547608,
        "trades": 79,
        "taker_buy_volume": 19523.0,
        "taker_buy_quote_volume": 0.55694227,
    }
    assert parsed.symbol == "ADABTC"


def test_binance_microsecond_klines(samples: Any, at: Any) -> None:
    """Spot files from 2025 carry microseconds: the unit is read from the magnitude."""
    text = "1735689600000000,0.316,0.317,0.315,0.316,10,1735689659999999,3.1,5,1,0.3,0\n"
    parsed = samples.read("ADAUSDT-1m-2025-01-01.csv", text)
    assert samples.row(parsed)["datetime"] == at("2025-01-01 00:00")


def test_binance_futures_klines_with_header(samples: Any, at: Any) -> None:
    """USD-M futures klines carry a header; close_time and ignore are dropped."""
    text = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
        "taker_buy_quote_volume,ignore\n1704067200000,42000,42100,41900,42050,12.5,1704067259999,525000,300,6,252000,0\n"
    )
    parsed = samples.read("BTCUSDT-1m-2024-01-01.csv", text)
    assert parsed.profile == "binance_klines_header"
    assert samples.row(parsed)["trades"] == 300
    assert parsed.symbol == "BTCUSDT"


def test_databento_csv_raw_fixed_point_and_symbol_column(samples: Any, at: Any) -> None:
    """Raw Databento CSV: ns ts_event, 1e-9 integer prices, symbol column kept for splitting."""
    text = (
        "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol\n"
        "1719877200000000000,33,1,118,5527250000000,5527500000000,5527000000000,5527500000000,180,ESU4\n"
    )
    parsed = samples.read("glbx-mdp3-20240701.ohlcv-1m.csv", text)
    assert parsed.profile == "databento_csv"
    assert samples.row(parsed)["open"] == 5527.25
    assert samples.row(parsed)["datetime"] == at("2024-07-01 23:40")
    assert parsed.table.column("symbol").to_pylist() == ["ESU4"]


def test_databento_csv_pretty(samples: Any, at: Any) -> None:
    """Pretty Databento CSV: RFC-3339 times with Z and decimal prices, not rescaled."""
    text = (
        "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol\n"
        "2024-07-01T23:40:00.000000000Z,33,1,118,5527.250000000,5527.5,5527.0,5527.5,180,ESU4\n"
    )
    parsed = samples.read("x.csv", text)
    assert samples.row(parsed)["open"] == 5527.25
    assert samples.row(parsed)["datetime"] == at("2024-07-01 23:40")


def test_polygon_flat_file(samples: Any, at: Any) -> None:
    """Polygon flat files: O,C,H,L order, window_start ns, ticker column, transactions -> trades."""
    text = (
        "ticker,volume,open,close,high,low,window_start,transactions\n"
        "AAPL,4930,200.29,200.5,200.63,200.29,1744792200000000000,129\n"
    )
    parsed = samples.read("2025-04-16.csv", text)
    assert parsed.profile == "polygon_flat"
    assert samples.row(parsed)["close"] == 200.5
    assert samples.row(parsed)["trades"] == 129
    assert parsed.table.column("symbol").to_pylist() == ["AAPL"]


def test_histdata_ascii_is_fixed_utc_minus_5(samples: Any, at: Any) -> None:
    """HistData ASCII M1 (;, no header) is EST without DST: 00:00 -> 05:00 UTC, even in July."""
    text = "20120701 000000;1.306600;1.306600;1.306560;1.306560;0\n"
    parsed = samples.read("DAT_ASCII_EURUSD_M1_201207.csv", text)
    assert parsed.profile == "histdata_ascii"
    assert samples.row(parsed)["datetime"] == at("2012-07-01 05:00")
    assert parsed.symbol == "EURUSD"
    assert parsed.findings == []


def test_ninjatrader_export_is_read_in_its_documented_zone(samples: Any) -> None:
    """NinjaTrader 8 exports are UTC by convention: applied, stated in the notes, no warning."""
    parsed = samples.read("ES 03-24.Last.txt", "20240102 093000;4700.25;4701;4700;4700.5;12\n")
    assert parsed.profile == "ninjatrader"
    assert parsed.symbol == "ES_03-24"
    assert parsed.findings == []
    assert parsed.notes["tz"].startswith("UTC (the ninjatrader convention")


def test_vendor_zones_apply_and_tz_overrides(samples: Any, at: Any) -> None:
    """FirstRate and Kibot are US Eastern by convention (no silent 5-hour shift); --tz still wins."""
    text = (
        "2024-01-02 09:30:00,4700.25,4701,4700,4700.5,12\n2024-01-02 09:31:00,4700.25,4701,4700,4700.5,12\n"
    )
    parsed = samples.read("NQ_1min_sample.csv", text)
    assert parsed.profile == "firstrate" and parsed.findings == []
    assert samples.row(parsed)["datetime"] == at("2024-01-02 14:30")
    assert "America/New_York" in parsed.notes["tz"]
    kibot = samples.read("ES.txt", "01/02/2024,09:30,4700.25,4701,4700,4700.5,12\n")
    assert kibot.profile == "kibot" and samples.row(kibot)["datetime"] == at("2024-01-02 14:30")
    overridden = samples.read("NQ_1min_sample.csv", text, tz="UTC")
    assert samples.row(overridden)["datetime"] == at("2024-01-02 09:30")


def test_tradestation_without_a_zone_is_refused(samples: Any) -> None:
    """Exchange time of an unnamed exchange: reading it as UTC would be known to be wrong."""
    text = "Date,Time,Open,High,Low,Close,Up,Down\n01/02/2024,0931,1,2,0.5,1.5,3,4\n"
    parsed = samples.read("@ES_1min.txt", text)
    errors = [f for f in parsed.findings if f.severity == "error"]
    assert errors and errors[0].check == "timezone" and "--tz" in errors[0].message


def test_kibot_two_date_time_columns(samples: Any, at: Any) -> None:
    """Kibot: no header, mm/dd/yyyy and hh:mm in separate fields."""
    parsed = samples.read(
        "MSFT.txt", "01/02/2024,09:30,370.1,370.5,369.9,370.2,1200\n", tz="America/New_York"
    )
    assert parsed.profile == "kibot"
    assert samples.row(parsed)["datetime"] == at("2024-01-02 14:30")


def test_sierra_chart_comma_space_and_last(samples: Any, at: Any) -> None:
    """Sierra Chart: ', ' delimiter, YYYY/M/D dates, Last as close, trade and bid/ask volumes."""
    text = (
        "Date, Time, Open, High, Low, Last, Volume, NumberOfTrades, BidVolume, AskVolume\n"
        "2025/12/8, 09:30:00, 21000.25, 21001.00, 20999.75, 21000.50, 120, 40, 60, 60\n"
    )
    parsed = samples.read("NQZ25-CME_1m.scid_BarData.txt", text, tz="America/New_York")
    assert parsed.profile == "sierra_chart"
    assert samples.row(parsed)["close"] == 21000.5
    assert samples.row(parsed)["bid_volume"] == 60.0
    assert samples.row(parsed)["datetime"] == at("2025-12-08 14:30")
    assert parsed.symbol == "NQZ25"


def test_tradestation_is_close_labelled_with_up_down_volume(samples: Any, at: Any) -> None:
    """TradeStation export: HHMM times, volume = Up + Down, bar_label 'close' unless told otherwise."""
    text = '"Date","Time","Open","High","Low","Close","Up","Down"\n12/12/2003,930,53,55,48,49.2,10,5\n'
    parsed = samples.read("@ES_1min.txt", text, tz="America/Chicago")
    assert parsed.profile == "tradestation"
    assert parsed.bar_label == "close"
    assert samples.row(parsed)["volume"] == 15.0
    assert samples.row(parsed)["datetime"] == at("2003-12-12 15:30")


def test_bar_label_option_wins_over_the_profile(samples: Any) -> None:
    """--bar-label open overrides TradeStation's close label."""
    text = "Date,Time,O,H,L,C,V\n12/12/2003,1340,53,55,48,49.2,0\n"
    parsed = samples.read("ES.txt", text, tz="UTC", bar_label="open")
    assert parsed.profile == "tradestation"
    assert parsed.bar_label == "open"


def test_yahoo_keeps_adj_close(samples: Any, at: Any) -> None:
    """Yahoo's Adj Close becomes the optional adj_close column; dates are daily bars."""
    text = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "1995-01-03,2.179012,2.191358,2.117284,2.117284,1.883304,36301200\n"
    )
    parsed = samples.read("orcl.csv", text)
    assert parsed.profile == "yahoo"
    assert samples.row(parsed)["adj_close"] == 1.883304
    assert samples.row(parsed)["datetime"] == at("1995-01-03")


def test_barchart_time_holds_dates_and_last_is_close(samples: Any, at: Any) -> None:
    """Barchart: `Time` holds M/D/YYYY dates, `Last` is the close, the footer line is skipped (and said)."""
    text = (
        "Time,Open,High,Low,Last,Change,Volume\r\n3/11/2020,0.009469,0.009596,0.009467,0.009582,0.000113,1769\r\n"
        '"Downloaded from Barchart.com as of 03-12-2020 04:13pm CDT"\r\n'
    )
    parsed = samples.read("jpyusd.csv", text)
    assert parsed.profile == "barchart"
    assert samples.row(parsed)["close"] == 0.009582
    assert samples.row(parsed)["datetime"] == at("2020-03-11")
    assert [f.check for f in parsed.findings] == ["junk_lines"]
    assert "Downloaded from Barchart.com" in parsed.findings[0].message


def test_nautilus_csv_timestamp_utc_is_utc(samples: Any, at: Any) -> None:
    """A `timestamp_utc` header is a vendor rule: UTC without a warning; pricetype is dropped."""
    text = (
        "timestamp_utc;open;high;low;close;volume;pricetype\n"
        "2024-01-01 23:01:00;1.1076;1.10785;1.1076;1.1078;205;Last\n"
    )
    parsed = samples.read("6EH4.XCME_1min_bars.csv", text)
    assert parsed.profile == "nautilus_csv"
    assert samples.row(parsed)["datetime"] == at("2024-01-01 23:01")
    assert parsed.findings == []
    assert parsed.symbol == "6EH4"


def test_firstrate_named_file(samples: Any) -> None:
    """FirstRate sample names select the profile, which reads naive times as US Eastern."""
    parsed = samples.read(
        "NQ_1min_sample.csv", "timestamp,open,high,low,close,volume\r\n2023-11-19 18:00:00,1,2,0.5,1.5,5\r\n"
    )
    assert parsed.profile == "firstrate"
    assert "America/New_York" in parsed.notes["tz"]


def test_profile_option_forces_a_layout(samples: Any) -> None:
    """--profile wins over detection."""
    parsed = samples.read(
        "x.csv", "timestamp,open,high,low,close\n2024-01-02 09:30,1,2,0.5,1.5\n", profile="nautilus_csv"
    )
    assert parsed.profile == "nautilus_csv"
    assert parsed.findings == []


def test_unknown_profile_is_a_usage_error() -> None:
    """A misspelt --profile names the known ones."""
    with pytest.raises(UsageError, match="binance_klines"):
        get_profile("binance")


def test_every_profile_has_a_description() -> None:
    """The profile table documents itself (docs/formats.md mirrors it)."""
    assert all(p.description for p in PROFILES)
