"""JSON payloads saved from REST APIs: every shape of rows, vendor column orders, and API error payloads."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from trading_pipeline.errors import IngestError

T0 = 1704187800  # 2024-01-02 09:30 UTC


def dump(value: Any) -> str:
    return json.dumps(value)


def closes(parsed: Any) -> list[float]:
    frame = parsed.table.to_pandas().sort_values("datetime")
    return [float(v) for v in frame["close"]]


def test_array_of_arrays_in_binance_order(samples: Any, at: Any) -> None:
    """A kline endpoint saved as is: 12 fields, ms epoch, prices as strings."""
    rows = [
        [
            (T0 + 60 * i) * 1000,
            "10",
            "12",
            "9",
            f"1{i}.5",
            "3.5",
            (T0 + 60 * i) * 1000 + 59_999,
            "1",
            5,
            "1",
            "1",
            "0",
        ]
        for i in range(3)
    ]
    parsed = samples.read("BTCUSDT-1m.json", dump(rows))
    assert parsed.profile == "binance_klines"
    assert samples.row(parsed) == {
        "datetime": at("2024-01-02 09:30"),
        "open": 10.0,
        "high": 12.0,
        "low": 9.0,
        "close": 10.5,
        "volume": 3.5,
        "quote_volume": 1.0,
        "trades": 5,
        "taker_buy_volume": 1.0,
        "taker_buy_quote_volume": 1.0,
    }
    assert parsed.symbol == "BTCUSDT"


def test_array_of_objects_with_short_names(samples: Any, at: Any) -> None:
    """Polygon-style o/h/l/c/v/t objects wrapped in results[], the symbol from the payload's ticker."""
    payload = {
        "ticker": "AAPL",
        "status": "OK",
        "results": [
            {"v": 100, "vw": 11.2, "o": 11, "c": 11.5, "h": 12, "l": 10.5, "t": (T0 + 60 * i) * 1000, "n": 7}
            for i in range(3)
        ],
    }
    parsed = samples.read("aggs.json", dump(payload))
    assert parsed.symbol == "AAPL"
    assert parsed.profile == "json"
    assert samples.row(parsed)["datetime"] == at("2024-01-02 09:30")
    assert samples.row(parsed)["vwap"] == 11.2 and samples.row(parsed)["trades"] == 7
    assert parsed.notes["rows_from"] == "results"


@pytest.mark.parametrize("wrapper", ["data", "candles", "bars", "values"])
def test_rows_wrapped_in_an_object_are_found_by_shape(samples: Any, wrapper: str) -> None:
    """Whatever the key, the largest table in the payload is the bars; nesting is followed."""
    rows = [
        {"time": f"2024-01-02T09:3{i}:00Z", "open": 1, "high": 2, "low": 0.5, "close": 1.5} for i in range(4)
    ]
    payload = {"meta": {"symbol": "ES"}, "result": {wrapper: rows, "count": 4}}
    parsed = samples.read("payload.json", dump(payload))
    assert parsed.table.num_rows == 4
    assert parsed.symbol == "ES"


def test_ndjson_one_object_per_line(samples: Any, at: Any) -> None:
    lines = [
        dump({"ts": f"2024-01-02 09:3{i}:00", "o": 1, "h": 2, "l": 0.5, "c": 1.5, "v": 3}) for i in range(3)
    ]
    parsed = samples.read("ES.ndjson", "\n".join(lines) + "\n", tz="America/New_York")
    assert parsed.table.num_rows == 3
    assert samples.row(parsed)["datetime"] == at("2024-01-02 14:30")


def test_gzipped_json(samples: Any) -> None:
    rows = [[(T0 + 60 * i) * 1000, 1, 2, 0.5, 1.5, 3] for i in range(3)]
    parsed = samples.read("ES.json.gz", gzip.compress(dump(rows).encode()))
    assert parsed.table.num_rows == 3


def test_databento_json_with_a_nested_header(samples: Any, at: Any) -> None:
    """Databento's JSON puts ts_event in an 'hd' object and prices as 1e-9 fixed point strings."""
    line = {
        "hd": {"ts_event": "1719877200000000000", "rtype": 33, "publisher_id": 1, "instrument_id": 118},
        "open": "5527250000000",
        "high": "5527500000000",
        "low": "5527000000000",
        "close": "5527500000000",
        "volume": "180",
        "symbol": "ESU4",
    }
    parsed = samples.read("glbx.json", dump(line) + "\n" + dump(line) + "\n")
    assert parsed.profile == "databento_csv"
    row = samples.row(parsed)
    assert (row["datetime"], row["open"], row["symbol"]) == (at("2024-07-01 23:40"), 5527.25, "ESU4")


def test_alpha_vantage_rows_keyed_by_time_in_the_payloads_zone(samples: Any, at: Any) -> None:
    """Times are object keys, names are '1. open', and the Meta Data says US/Eastern and the symbol."""
    payload = {
        "Meta Data": {"2. Symbol": "IBM", "6. Time Zone": "US/Eastern"},
        "Time Series (5min)": {
            f"2024-01-05 15:{55 - 5 * i}:00": {
                "1. open": "159.1",
                "2. high": "159.2",
                "3. low": "159.0",
                "4. close": f"159.1{i}",
                "5. volume": "6",
            }
            for i in range(3)
        },
    }
    parsed = samples.read("av.json", dump(payload))
    assert parsed.symbol == "IBM"
    assert samples.row(parsed)["datetime"] == at("2024-01-05 20:55")
    assert parsed.notes["tz"] == "US/Eastern (the file's metadata)"


def test_parallel_arrays_of_a_yahoo_chart(samples: Any, at: Any) -> None:
    """Yahoo's chart: timestamps beside indicators.quote[0].open...; daily bars stamped at the open."""
    payload = {
        "chart": {
            "result": [
                {
                    "meta": {"symbol": "AAPL", "exchangeTimezoneName": "America/New_York"},
                    "timestamp": [1704205800, 1704292200],
                    "indicators": {
                        "quote": [
                            {
                                "open": [187.1, 184.2],
                                "high": [188.4, 185.8],
                                "low": [183.8, 183.4],
                                "close": [185.6, 184.2],
                                "volume": [8248, 5841],
                            }
                        ],
                        "adjclose": [{"adjclose": [185.4, 184.0]}],
                    },
                }
            ],
            "error": None,
        }
    }
    parsed = samples.read("chart.json", dump(payload))
    assert parsed.symbol == "AAPL"
    assert [samples.row(parsed, i)["datetime"] for i in (0, 1)] == [at("2024-01-02"), at("2024-01-03")]
    assert samples.row(parsed)["adj_close"] == 185.4
    assert "daily_bars" in samples.warnings(parsed)


def test_finnhub_parallel_single_letter_arrays(samples: Any, at: Any) -> None:
    payload = {
        "c": [1.5, 1.6],
        "h": [2, 2],
        "l": [0.5, 0.6],
        "o": [1, 1.5],
        "s": "ok",
        "t": [T0, T0 + 60],
        "v": [3, 4],
    }
    parsed = samples.read("AAPL.json", dump(payload))
    assert closes(parsed) == [1.5, 1.6]
    assert samples.row(parsed)["datetime"] == at("2024-01-02 09:30")


@pytest.mark.filterwarnings("ignore:.*epoch.*:FutureWarning", "ignore:.*epoch.*:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # epoch: what older pandas wrote
@pytest.mark.parametrize("date_format", ["epoch", "iso"])
@pytest.mark.parametrize("orient", ["split", "columns", "index", "records"])
def test_pandas_to_json_orients(samples: Any, orient: str, date_format: str) -> None:
    """What a colleague's DataFrame.to_json writes, whichever orient they chose."""
    import pandas as pd

    frame = pd.DataFrame(
        {"open": [1.0, 1.5], "high": [2.0, 2.0], "low": [0.5, 1.0], "close": [1.5, 1.8], "volume": [3, 4]},
        index=pd.to_datetime(["2024-01-02 09:30", "2024-01-02 09:31"], utc=True).rename("timestamp"),
    )
    source = frame.reset_index() if orient == "records" else frame
    text = source.to_json(orient=orient, date_format=date_format)
    parsed = samples.read("ES.json", text)
    assert closes(parsed) == [1.5, 1.8]


def test_objects_keyed_by_symbol_become_one_table_per_symbol(samples: Any) -> None:
    """Alpaca's multi-symbol bars: {"bars": {"AAPL": [...], "MSFT": [...]}}."""
    bar = {"t": "2024-01-02T14:30:00Z", "o": 1, "h": 2, "l": 0.5, "c": 1.5, "v": 3}
    payload = {
        "bars": {"AAPL": [bar, {**bar, "t": "2024-01-02T14:31:00Z"}], "MSFT": [bar]},
        "next_page_token": None,
    }
    parsed = samples.read("bars.json", dump(payload))
    assert sorted(set(parsed.table.column("symbol").to_pylist())) == ["AAPL", "MSFT"]


VENDOR_ARRAYS = {
    # exchange: (payload, profile) with bars 09:30 (open 10, high 12, low 9, close 11) and 09:31
    "kraken": (
        {
            "error": [],
            "result": {
                "XXBTZUSD": [
                    [T0, "10", "12", "9", "11", "10.5", "3", 7],
                    [T0 + 60, "11", "13", "10", "12", "11.5", "4", 8],
                ],
                "last": T0,
            },
        },
        "kraken_ohlc",
    ),
    "bybit": (
        {
            "retCode": 0,
            "retMsg": "OK",
            "result": {
                "symbol": "BTCUSDT",
                "list": [
                    [str((T0 + 60) * 1000), "11", "13", "10", "12", "4", "40"],
                    [str(T0 * 1000), "10", "12", "9", "11", "3", "30"],
                ],
            },
        },
        "bybit_kline",
    ),
    "okx": (
        {
            "code": "0",
            "msg": "",
            "data": [
                [str((T0 + 60) * 1000), "11", "13", "10", "12", "4", "4", "40", "1"],
                [str(T0 * 1000), "10", "12", "9", "11", "3", "3", "30", "1"],
            ],
        },
        "okx_candles",
    ),
    "kucoin": (
        {
            "code": "200000",
            "data": [
                [str(T0 + 60), "11", "12", "13", "10", "4", "40"],
                [str(T0), "10", "11", "12", "9", "3", "30"],
            ],
        },
        "kucoin_candles",
    ),
    "gate": (
        [
            [str(T0), "30", "11", "12", "9", "10", "3", "true"],
            [str(T0 + 60), "40", "12", "13", "10", "11", "4", "true"],
        ],
        "gate_candlesticks",
    ),
}


@pytest.mark.parametrize("exchange", sorted(VENDOR_ARRAYS))
def test_exchange_kline_arrays_in_their_vendor_order(samples: Any, at: Any, exchange: str) -> None:
    """The column order is a vendor fact (KuCoin: open, close, high, low; Gate: volume first...)."""
    payload, profile = VENDOR_ARRAYS[exchange]
    parsed = samples.read(f"{exchange}.json", dump(payload))
    assert parsed.profile == profile
    frame = parsed.table.to_pandas().sort_values("datetime")
    first = frame.iloc[0]
    assert (first["datetime"], first["open"], first["high"], first["low"], first["close"]) == (
        at("2024-01-02 09:30"),
        10.0,
        12.0,
        9.0,
        11.0,
    )
    assert first["volume"] == 3.0


def test_headerless_arrays_in_an_unknown_order_are_decided_by_the_data(samples: Any) -> None:
    """Coinbase: [time, low, high, open, close, volume], newest first; the report says the order used."""
    rows = [[T0 + 60 * i, 9 + i, 12 + i, 10 + i, 11 + i, 3] for i in range(5)][::-1]
    parsed = samples.read("coinbase.json", dump(rows))
    first = parsed.table.to_pandas().sort_values("datetime").iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"]) == (10.0, 12.0, 9.0, 11.0)
    [note] = [f for f in parsed.findings if f.check == "columns"]
    assert "low, high, open, close" in note.message


API_ERRORS = {
    "binance": ({"code": -1121, "msg": "Invalid symbol."}, "Invalid symbol. (code -1121)"),
    "polygon": ({"status": "ERROR", "request_id": "x", "error": "Unknown API Key"}, "Unknown API Key"),
    "alphavantage_note": (
        {"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5"},
        "Thank you",
    ),
    "alphavantage_error": ({"Error Message": "Invalid API call."}, "Invalid API call."),
    "alphavantage_info": ({"Information": "The **demo** API key is for demo purposes only."}, "demo"),
    "okx": (
        {"code": "51001", "msg": "Instrument ID does not exist", "data": []},
        "Instrument ID does not exist",
    ),
    "bybit": ({"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {}}, "params error"),
    "kraken": ({"error": ["EQuery:Unknown asset pair"]}, "EQuery:Unknown asset pair"),
    "yahoo": (
        {"chart": {"result": None, "error": {"code": "Not Found", "description": "No data found"}}},
        "No data found",
    ),
    "twelvedata": ({"code": 400, "message": "symbol not found", "status": "error"}, "symbol not found"),
    "coinbase": ({"message": "NotFound"}, "NotFound"),
    "tiingo": ({"detail": "Error: Ticker 'XYZ' not found"}, "Ticker 'XYZ' not found"),
    "finnhub": ({"s": "no_data"}, "no_data"),
}


@pytest.mark.parametrize("vendor", sorted(API_ERRORS))
def test_an_api_error_payload_is_refused_with_its_own_message(samples: Any, vendor: str) -> None:
    payload, message = API_ERRORS[vendor]
    with pytest.raises(IngestError) as err:
        samples.read(f"{vendor}.json", dump(payload))
    assert err.value.check == "api_error"
    assert "API error response" in str(err.value)
    assert message in str(err.value)


def test_an_empty_result_list_says_there_are_no_bars(samples: Any) -> None:
    with pytest.raises(IngestError) as err:
        samples.read("empty.json", dump({"status": "OK", "results": []}))
    assert err.value.check == "non_empty"
    assert "`results` list is empty" in str(err.value)


def test_broken_json_names_the_line(samples: Any) -> None:
    with pytest.raises(IngestError) as err:
        samples.read("x.json", '{"t": 1, "o": 1}\n{"t": 2, "o": \n')
    assert err.value.check == "format"
    assert "line 2" in str(err.value)


def test_a_layout_can_point_at_the_rows(samples: Any) -> None:
    """Two tables in one payload: the layout's `rows` picks the one that holds the bars."""
    bars = [
        {"when": f"2024-01-02T09:3{i}:00Z", "first": 1, "top": 2, "bottom": 0.5, "last": 1.5}
        for i in range(2)
    ]
    other = [{"a": i, "b": i, "c": i, "d": i} for i in range(5)]
    layout = {
        "rows": "payload.bars",
        "columns": {"datetime": "when", "open": "first", "high": "top", "low": "bottom", "close": "last"},
    }
    parsed = samples.read(
        "x.json", dump({"payload": {"bars": bars, "other": other}}), layout=layout, symbol="ES"
    )
    assert closes(parsed) == [1.5, 1.5]
