"""read_file on the 16 real vendor files in ../shared/data/real, spot-checked against their raw text.

Expected values come from ../shared/checks/real_files_expected.json (read off the raw files by hand).
Sorting, de-duplication and bar-label shifting happen after reading, so "first" here is the earliest
bar of the table read, not its first row (the Barchart file is newest-first).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.reader import read_file

VENDOR_FILES = [
    "backtrader/2006-min-005.txt",
    "backtrader/orcl-1995-2014.txt",
    "firstratedata/NQ_1min_sample.csv",
    "mplfinance/SP500_NOV2019_IDay.csv",
    "mplfinance/jpyusd_barchartdotcom.csv",
    "nautilus_trader/6EH4.XCME_1min_bars_20240101_20240131.csv.gz",
    "nautilus_trader/6EH4.XCME_1min_bars.csv",
    "nautilus_trader/ADABTC-1m-2021-11-27.csv",
    "nautilus_trader/gbpusd-m1-bid-2012.csv",
    "histdata/DAT_ASCII_EURUSD_M1_201202.csv",
    "nautilus_trader/futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst",
    "databento-python/GLBX.MDP3/test_data.ohlcv-1m.dbn.zst",
]


def _case(real_data: Path, name: str) -> dict[str, Any]:
    expected = real_data.parent.parent / "checks" / "real_files_expected.json"
    if not expected.is_file():
        pytest.skip(f"{expected} not present")
    return next(c for c in json.loads(expected.read_text()) if c["file"] == name)


def _options(args: list[str]) -> IngestOptions:
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    return IngestOptions(**{k.removeprefix("--").replace("-", "_"): v for k, v in pairs.items()})


def _read(real_data: Path, name: str, args: list[str] | None = None) -> ParsedFile:
    if args is None:
        args = _case(real_data, name)["args"]
    return read_file(real_data / name, _options(args))


def _frames(parsed: ParsedFile) -> dict[str, pd.DataFrame]:
    frame = parsed.table.to_pandas()
    if "symbol" in frame.columns:
        return {str(s): g.drop(columns="symbol") for s, g in frame.groupby("symbol")}
    return {str(parsed.symbol): frame}


def _same(got: float, want: float | None) -> bool:
    return want is None or math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("name", VENDOR_FILES)
def test_vendor_file_reads_with_the_values_of_its_raw_text(real_data: Path, name: str) -> None:
    """Rows, symbols, first/last times and OHLC match the hand-read values; no error findings."""
    case = _case(real_data, name)
    parsed = _read(real_data, name, case["args"])
    assert not parsed.has_errors, parsed.findings
    frames = _frames(parsed)
    assert set(frames) == set(case["symbols"])
    for symbol, want in case["symbols"].items():
        frame = frames[symbol].sort_values("datetime", kind="stable")
        assert len(frame) == want["rows"]
        if want["start"]:
            assert frame["datetime"].iloc[0] == pd.Timestamp(want["start"])
        if want["end"]:
            assert frame["datetime"].iloc[-1] == pd.Timestamp(want["end"])
        for which, values in (("first", frame.iloc[0]), ("last", frame.iloc[-1])):
            got = [values[k] for k in ("open", "high", "low", "close")]
            assert all(_same(g, w) for g, w in zip(got, want[which], strict=True)), (which, got, want[which])


def test_backtrader_short_header_is_read_with_its_time_column(real_data: Path) -> None:
    """The 7-name header over 8-field rows: the unnamed 2nd field is read as Time, with a warning."""
    parsed = _read(real_data, "backtrader/2006-01-02-volume-min-001.txt")
    assert parsed.table.num_rows == 30889
    assert [f.check for f in parsed.findings] == ["columns"]
    first = parsed.table.slice(0, 1).to_pylist()[0]
    assert pd.Timestamp(first["datetime"]) == pd.Timestamp("2006-01-02 09:01", tz="UTC")
    assert (first["open"], first["close"], first["volume"]) == (3602.0, 3599.0, 5699.0)


def test_nautilus_parquet_scales_prices_and_takes_the_close_label(real_data: Path) -> None:
    """Int 1e-9 prices become 139.709...; ts_event is UTC ns; Nautilus bars are close-labelled."""
    parsed = _read(real_data, "nautilus_trader/bars_eurusd_2019_sim.parquet")
    first = parsed.table.slice(0, 1).to_pylist()[0]
    assert parsed.profile == "nautilus_parquet"
    assert parsed.table.num_rows == 6216
    assert first["open"] == 139.709
    assert pd.Timestamp(first["datetime"]) == pd.Timestamp("2019-01-01 23:00", tz="UTC")
    assert parsed.bar_label == "close"


def test_lean_equity_zip_reads_new_york_minutes_and_deci_cents(real_data: Path) -> None:
    """14400000 ms = 04:00 New York = 08:00 UTC (EDT); 1674100 = $167.41."""
    parsed = _read(real_data, "lean/equity/usa/minute/spy/20131007_trade.zip")
    rows = parsed.table.to_pylist()
    assert len(rows) == 828
    assert pd.Timestamp(rows[0]["datetime"]) == pd.Timestamp("2013-10-07 08:00", tz="UTC")
    assert rows[0]["open"] == 167.41
    assert pd.Timestamp(rows[-1]["datetime"]) == pd.Timestamp("2013-10-07 23:59", tz="UTC")
    assert parsed.symbol == "SPY"


def test_lean_future_zip_splits_into_contracts(real_data: Path) -> None:
    """Four members, one per ES expiry: 1,721 rows under ESZ13, ESH14, ESM14, ESU14, times in UTC."""
    parsed = _read(real_data, "lean/future/cme/minute/es/20131008_trade.zip")
    counts = parsed.table.group_by("symbol").aggregate([("close", "count")]).to_pylist()
    assert {c["symbol"]: c["close_count"] for c in counts} == {
        "ESZ13": 1372,
        "ESH14": 342,
        "ESM14": 6,
        "ESU14": 1,
    }
    first = parsed.table.slice(0, 1).to_pylist()[0]
    assert pd.Timestamp(first["datetime"]) == pd.Timestamp("2013-10-08 00:00", tz="UTC")
    assert first["open"] == 1667.5


def test_file_without_symbol_in_its_name_asks_for_one(real_data: Path) -> None:
    """2006-min-005.txt names no symbol: an error finding tells the user to pass --symbol."""
    parsed = _read(real_data, "backtrader/2006-min-005.txt", ["--tz", "UTC"])
    [finding] = [f for f in parsed.findings if f.check == "symbol"]
    assert "--symbol" in finding.message
