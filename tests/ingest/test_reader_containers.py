"""read_file on non-text containers: Parquet, Databento DBN and zip archives (LEAN and others)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from types import SimpleNamespace
from typing import Any

import databento_dbn
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from trading_pipeline.errors import IngestError


def _parquet(table: pa.Table, metadata: dict[bytes, bytes] | None = None) -> bytes:
    sink = io.BytesIO()
    if metadata:
        table = table.replace_schema_metadata(metadata)
    pq.write_table(table, sink)
    return sink.getvalue()


def _dbn(records: list[tuple[int, int, int]], symbols: dict[str, int]) -> bytes:
    """A DBN ohlcv-1m stream: (instrument_id, ts_event, close in 1e-9 units) per record."""
    mappings = [
        SimpleNamespace(
            raw_symbol=sym,
            intervals=[
                SimpleNamespace(start_date=dt.date(2024, 1, 1), end_date=dt.date(2024, 1, 3), symbol=str(iid))
            ],
        )
        for sym, iid in symbols.items()
    ]
    meta = databento_dbn.Metadata(
        dataset="GLBX.MDP3",
        schema=databento_dbn.Schema.OHLCV_1M,
        start=0,
        stype_in=databento_dbn.SType.RAW_SYMBOL,
        stype_out=databento_dbn.SType.INSTRUMENT_ID,
        end=None,
        symbols=list(symbols),
        partial=[],
        not_found=[],
        mappings=mappings,
    )
    body = b"".join(
        bytes(
            databento_dbn.OHLCVMsg(
                0x21, 1, iid, ts, close, close + 250_000_000, close - 250_000_000, close, 5
            )
        )
        for iid, ts, close in records
    )
    return bytes(meta.encode()) + body


def test_parquet_with_usual_names(samples: Any, at: Any) -> None:
    """A pandas-style Parquet dump with a tz-aware datetime column reads as is."""
    frame = pd.DataFrame(
        {
            "datetime": pd.to_datetime(["2024-01-02 09:30"]).tz_localize("America/Chicago"),
            "Open": [1.0],
            "High": [2.0],
            "Low": [0.5],
            "Close": [1.5],
            "Volume": [10],
        }
    )
    parsed = samples.read("MES_1m.parquet", _parquet(pa.Table.from_pandas(frame, preserve_index=False)))
    assert parsed.profile == "parquet"
    assert samples.row(parsed)["datetime"] == at("2024-01-02 15:30")
    assert parsed.symbol == "MES"


def test_nautilus_parquet_scales_fixed_point_and_is_close_labelled(samples: Any, at: Any) -> None:
    """Integer 1e-9 prices with ts_event ns: scaled, UTC, close-labelled, symbol from metadata."""
    table = pa.table(
        {
            "open": pa.array([139709000000], pa.int64()),
            "high": pa.array([139905000000], pa.int64()),
            "low": pa.array([139681000000], pa.int64()),
            "close": pa.array([139883000000], pa.int64()),
            "volume": pa.array([0], pa.uint64()),
            "ts_event": pa.array([1546383600000000000], pa.uint64()),
            "ts_init": pa.array([1546383600000000000], pa.uint64()),
        }
    )
    parsed = samples.read("bars.parquet", _parquet(table, {b"instrument_id": b"EUR/USD.SIM"}))
    assert parsed.profile == "nautilus_parquet"
    assert samples.row(parsed)["open"] == 139.709
    assert samples.row(parsed)["datetime"] == at("2019-01-01 23:00")
    assert parsed.bar_label == "close"
    assert parsed.symbol == "EURUSD"


def test_truncated_parquet_is_a_parquet_error(samples: Any) -> None:
    """A cut-off Parquet file is refused with check `parquet`."""
    frame = pd.DataFrame(
        {
            "datetime": pd.to_datetime(["2024-01-02"]),
            "open": [1.0],
            "high": [1.0],
            "low": [1.0],
            "close": [1.0],
        }
    )
    blob = _parquet(pa.Table.from_pandas(frame))
    with pytest.raises(IngestError) as err:
        samples.read("X.parquet", blob[: len(blob) // 2])
    assert err.value.check == "parquet"


def test_dbn_single_instrument_sets_symbol(samples: Any, at: Any) -> None:
    """A one-instrument DBN file: fixed-point prices scaled, symbol from its metadata."""
    parsed = samples.read("x.dbn", _dbn([(7, 1704187800000000000, 4700500000000)], {"ESH4": 7}))
    assert parsed.profile == "databento_dbn"
    assert parsed.symbol == "ESH4"
    assert samples.row(parsed)["close"] == 4700.5
    assert samples.row(parsed)["datetime"] == at("2024-01-02 09:30")


def test_zstd_dbn_with_two_instruments_has_a_symbol_column(samples: Any) -> None:
    """Interleaved instruments become a `symbol` column mapped through the metadata."""
    blob = _dbn(
        [(7, 1704187800000000000, 4700500000000), (9, 1704187800000000000, 16000000000000)],
        {"ESH4": 7, "NQH4": 9},
    )
    parsed = samples.read("x.dbn.zst", zstandard.ZstdCompressor().compress(blob))
    assert parsed.table.column("symbol").to_pylist() == ["ESH4", "NQH4"]
    assert parsed.symbol is None


def test_symbol_option_selects_one_instrument_of_many(samples: Any) -> None:
    """--symbol on a multi-symbol file keeps that symbol's rows (with a warning), in file row numbers."""
    blob = _dbn(
        [(7, 1704187800000000000, 4700500000000), (9, 1704187800000000000, 16000000000000)],
        {"ESH4": 7, "NQH4": 9},
    )
    parsed = samples.read("x.dbn", blob, symbol="nqh4")
    assert parsed.symbol == "NQH4"
    assert parsed.table.num_rows == 1
    assert list(parsed.row_numbers) == [2]
    assert samples.warnings(parsed) == ["symbol"]


def _zip(members: dict[str, str]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return sink.getvalue()


def test_lean_equity_zip(samples: Any, at: Any) -> None:
    """LEAN equity: ms since midnight New York, date from the member name, prices / 10000."""
    blob = _zip({"20131007_spy_minute_trade.csv": "14400000,1674100,1674100,1672500,1672700,3197"})
    parsed = samples.read("20131007_trade.zip", blob)
    assert parsed.profile == "lean_equity"
    assert samples.row(parsed) == {
        "datetime": at("2013-10-07 08:00"),
        "open": 167.41,
        "high": 167.41,
        "low": 167.25,
        "close": 167.27,
        "volume": 3197.0,
    }
    assert parsed.symbol == "SPY"


def test_lean_future_zip_with_contracts_is_multi_symbol(samples: Any, at: Any) -> None:
    """LEAN futures: one member per contract -> symbol column (ESZ13, ESH14), UTC times, prices as is."""
    blob = _zip(
        {
            "20131008_es_minute_trade_201312.csv": (
                "0,1667.5,1667.75,1667.25,1667.5,48\n60000,1667.5,1668,1667.25,1667.5,203\n"
            ),
            "20131008_es_minute_trade_201403.csv": "120000,1660,1660,1660,1660,1",
        }
    )
    parsed = samples.read("20131008_trade.zip", blob)
    assert parsed.profile == "lean_future"
    assert parsed.table.column("symbol").to_pylist() == ["ESZ13", "ESZ13", "ESH14"]
    assert samples.row(parsed, -1)["datetime"] == at("2013-10-08 00:02")


def test_zip_with_csv_and_status_report_reads_the_csv(samples: Any, at: Any) -> None:
    """A HistData download zip: the .txt status report is ignored, the CSV read with its EST rule."""
    blob = _zip(
        {
            "DAT_ASCII_EURUSD_M1_201202.csv": "20120201 000000;1.306600;1.306600;1.306560;1.306560;0\n",
            "DAT_ASCII_EURUSD_M1_201202.txt": "HistData.com gap report\n",
        }
    )
    parsed = samples.read("HISTDATA_COM_ASCII_EURUSD_M1201202.zip", blob)
    assert parsed.profile == "histdata_ascii"
    assert samples.row(parsed)["datetime"] == at("2012-02-01 05:00")


def test_parquet_with_separate_date_and_time_columns_is_intraday(samples: Any, at: Any) -> None:
    """Date + Time columns (strings, or date32 + time64) are wall-clock times: --tz applies."""
    as_text = pa.table(
        {
            "Date": ["2024-01-02"],
            "Time": ["09:30"],
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
        }
    )
    typed = as_text.set_column(0, "Date", pa.array([dt.date(2024, 1, 2)])).set_column(
        1, "Time", pa.array([dt.time(9, 30)], pa.time64("us"))
    )
    for table in (as_text, typed):
        parsed = samples.read("ES.parquet", _parquet(table), tz="America/Chicago")
        assert samples.row(parsed)["datetime"] == at("2024-01-02 15:30")
        assert "daily" not in parsed.notes


def test_parquet_times_beyond_2262_are_an_ingest_error(samples: Any) -> None:
    """Microsecond timestamps outside the nanosecond range are refused plainly, not with ArrowInvalid."""
    stamps = pa.array([dt.datetime(2024, 1, 2), dt.datetime(2300, 1, 1)], pa.timestamp("us"))
    table = pa.table(
        {"datetime": stamps, "open": [1.0] * 2, "high": [2.0] * 2, "low": [0.5] * 2, "close": [1.5] * 2}
    )
    with pytest.raises(IngestError) as err:
        samples.read("ES.parquet", _parquet(table))
    assert err.value.check == "timestamps"
    assert "1677-2262" in str(err.value)


def test_parquet_null_epoch_is_a_row_error(samples: Any) -> None:
    """A null in an integer epoch column is reported for its row, not read as 1970-01-01."""
    table = pa.table(
        {
            "ts": pa.array([1704067200, None], pa.int64()),
            "open": [1.0] * 2,
            "high": [2.0] * 2,
            "low": [0.5] * 2,
            "close": [1.5] * 2,
        }
    )
    parsed = samples.read("ES.parquet", _parquet(table))
    [finding] = [f for f in parsed.findings if f.check == "timestamps"]
    assert finding.rows == (2,)
