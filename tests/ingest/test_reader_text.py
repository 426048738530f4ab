"""read_file on delimited text: encodings, delimiters, headers, time forms and the findings it raises."""

from __future__ import annotations

import gzip
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import zstandard

from trading_pipeline.errors import IngestError
from trading_pipeline.schema import TIMESTAMP_TYPE

PLAIN = (
    "datetime,open,high,low,close,volume\n"
    "2024-01-02 09:30:00,10,11,9,10.5,100\n"
    "2024-01-02 09:31:00,10.5,12,10,11,200\n"
)


def test_plain_csv_gives_canonical_columns(samples: Any, at: Any) -> None:
    """A plain headered CSV comes out with UTC datetimes and float64 prices, in file order."""
    parsed = samples.read("ES_1m.csv", PLAIN, tz="UTC")
    assert parsed.table.column_names == ["datetime", "open", "high", "low", "close", "volume"]
    assert parsed.table.schema.field("datetime").type == TIMESTAMP_TYPE
    assert parsed.table.schema.field("close").type == pa.float64()
    assert samples.row(parsed) == {
        "datetime": at("2024-01-02 09:30"),
        "open": 10.0,
        "high": 11.0,
        "low": 9.0,
        "close": 10.5,
        "volume": 100.0,
    }
    assert parsed.profile == "generic_header"


def test_tz_option_converts_naive_local_times(samples: Any, at: Any) -> None:
    """--tz says what naive times mean: 09:30 Chicago in January is 15:30 UTC."""
    parsed = samples.read("ES_1m.csv", PLAIN, tz="America/Chicago")
    assert samples.row(parsed)["datetime"] == at("2024-01-02 15:30")
    assert parsed.findings == []


def test_naive_times_without_tz_are_utc_with_a_warning(samples: Any, at: Any) -> None:
    """No --tz and no vendor rule: read as UTC and say so in a timezone warning."""
    parsed = samples.read("ES_1m.csv", PLAIN)
    assert samples.row(parsed)["datetime"] == at("2024-01-02 09:30")
    assert samples.warnings(parsed) == ["timezone"]
    assert not parsed.has_errors


def test_bom_crlf_and_missing_final_newline(samples: Any, at: Any) -> None:
    """A UTF-8 BOM, CRLF line ends and no trailing newline change nothing."""
    text = "\ufeff" + PLAIN.replace("\n", "\r\n").rstrip("\r\n")
    parsed = samples.read("ES.csv", text.encode("utf-8"), tz="UTC")
    assert parsed.table.num_rows == 2
    assert samples.row(parsed, -1)["close"] == 11.0


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ", "])
def test_delimiters(samples: Any, delimiter: str) -> None:
    """Tab, semicolon, pipe and Sierra's comma-space split fields like a comma does."""
    parsed = samples.read("ES.txt", PLAIN.replace(",", delimiter), tz="UTC")
    assert samples.row(parsed)["high"] == 11.0
    assert parsed.notes["delimiter"] == delimiter


def test_columns_in_any_order_and_case(samples: Any) -> None:
    """Columns are found by name, whatever their order and case (mplfinance writes Open,Close,High,Low)."""
    text = "DATE,Open,Close,High,Low,Volume\n2019-11-05 09:30,3080.8,3080.49,3081.47,3080.3,0\n"
    parsed = samples.read("SPX.csv", text, tz="UTC")
    assert samples.row(parsed)["close"] == 3080.49
    assert samples.row(parsed)["high"] == 3081.47


def test_headerless_file_takes_the_standard_order(samples: Any, at: Any) -> None:
    """No header: datetime,open,high,low,close,volume by position."""
    parsed = samples.read("ES.csv", "2024-01-02 09:30:00,10,11,9,10.5,100\n", tz="UTC")
    assert samples.row(parsed)["datetime"] == at("2024-01-02 09:30")
    assert parsed.profile == "generic_noheader"


def test_separate_date_and_time_columns(samples: Any, at: Any) -> None:
    """Date and Time columns are joined into one timestamp."""
    text = "Date,Time,Open,High,Low,Close,Volume\n2006-01-02,09:05:00,1,2,0.5,1.5,0\n"
    parsed = samples.read("X.csv", text, tz="UTC")
    assert samples.row(parsed)["datetime"] == at("2006-01-02 09:05")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-01-02T09:30:00Z", "2024-01-02 09:30"),
        ("2024-01-02 09:30:00+01:00", "2024-01-02 08:30"),
        ("2024-01-02T09:30:00.000000000Z", "2024-01-02 09:30"),
    ],
)
def test_iso_times_with_offsets_are_converted_and_ignore_tz(
    samples: Any, at: Any, stamp: str, expected: str
) -> None:
    """Times that carry a zone are absolute: converted to UTC, --tz does not apply."""
    parsed = samples.read(
        "X.csv", f"timestamp,open,high,low,close\n{stamp},1,2,0.5,1.5\n", tz="America/Chicago"
    )
    assert samples.row(parsed)["datetime"] == at(expected)
    assert parsed.findings == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1704187800", "2024-01-02 09:30"),
        ("1704187800000", "2024-01-02 09:30"),
        ("1704187800000000", "2024-01-02 09:30"),
        ("1704187800000000000", "2024-01-02 09:30"),
    ],
)
def test_epoch_units_by_magnitude(samples: Any, at: Any, value: str, expected: str) -> None:
    """Epoch seconds, ms, us and ns are told apart by their size and read as UTC."""
    parsed = samples.read("X.csv", f"timestamp,open,high,low,close\n{value},1,2,0.5,1.5\n")
    assert samples.row(parsed)["datetime"] == at(expected)
    assert parsed.findings == []


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("11/13/2019 9:30", "2019-11-13 09:30"),
        ("20120201 000100", "2012-02-01 00:01"),
        ("2012.02.01 00:01", "2012-02-01 00:01"),
        ("2025/12/8 14:05:00", "2025-12-08 14:05"),
    ],
)
def test_other_date_forms(samples: Any, at: Any, stamp: str, expected: str) -> None:
    """US M/D/YYYY H:MM (a day above 12 decides), YYYYMMDD HHMMSS, dotted and slashed dates."""
    parsed = samples.read("X.csv", f"datetime,open,high,low,close\n{stamp},1,2,0.5,1.5\n", tz="UTC")
    assert samples.row(parsed)["datetime"] == at(expected)


def test_daily_bars_sit_at_midnight_utc_whatever_the_tz(samples: Any, at: Any) -> None:
    """Date-only rows are session dates at 00:00 UTC, never shifted by --tz."""
    parsed = samples.read("X.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n", tz="Asia/Tokyo")
    assert samples.row(parsed)["datetime"] == at("2024-01-02 00:00")
    assert parsed.findings == []


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.ZstdCompressor().compress])
def test_compressed_text_is_detected_by_content(samples: Any, compress: Any) -> None:
    """gzip and zstd text are recognised by magic bytes even without the extension."""
    parsed = samples.read("ES_1m.data", compress(PLAIN.encode()), tz="UTC")
    assert parsed.table.num_rows == 2


def test_truncated_gzip_is_a_compression_error(samples: Any) -> None:
    """A cut-off gzip file is rejected with check `compression`."""
    blob = gzip.compress((PLAIN * 2000).encode())
    with pytest.raises(IngestError) as err:
        samples.read("ES.csv.gz", blob[: len(blob) // 2], tz="UTC")
    assert err.value.check == "compression"


def test_missing_close_names_what_was_found(samples: Any) -> None:
    """A missing required column says what the header holds and suggests the likeliest name."""
    text = "Date,Time,Open,High,Low,Final\n2024-01-02,09:30,1,2,0.5,1.5\n"
    with pytest.raises(IngestError) as err:
        samples.read("X.csv", text, tz="UTC")
    assert err.value.check == "columns"
    assert "column `close` missing; found: Date, Time, Open, High, Low, Final" in str(err.value)
    assert str(err.value).endswith("--suggest-layout")


def test_text_in_price_column_lists_rows_and_values(samples: Any) -> None:
    """'n/a' in close is an error naming the rows (1-based, header not counted) and the text."""
    rows = [f"2024-01-02 09:{m:02d}:00,1,2,0.5,{'n/a' if m in (4, 8) else '1.5'}" for m in range(10)]
    parsed = samples.read("X.csv", "datetime,open,high,low,close\n" + "\n".join(rows), tz="UTC")
    [finding] = [f for f in parsed.findings if f.check == "numbers"]
    assert finding.message == "rows 5, 9: column `close` holds text ('n/a')"


def test_unparseable_timestamps_are_row_errors(samples: Any) -> None:
    """A bad timestamp is an error finding with its row, the other rows still read."""
    text = "datetime,open,high,low,close\n2024-01-02 09:30:00,1,2,0.5,1.5\nyesterday,1,2,0.5,1.5\n"
    parsed = samples.read("X.csv", text, tz="UTC")
    [finding] = [f for f in parsed.findings if f.check == "timestamps"]
    assert finding.rows == (2,)
    assert "yesterday" in finding.message


def test_ragged_rows_are_errors_with_row_numbers(samples: Any) -> None:
    """Rows with a different field count than the header are reported (check `ragged_rows`)."""
    text = PLAIN + "2024-01-02 09:32:00,1,2\n2024-01-02 09:33:00,1,2,0.5,1.5,7\n"
    parsed = samples.read("X.csv", text, tz="UTC")
    [finding] = [f for f in parsed.findings if f.check == "ragged_rows"]
    assert finding.rows == (3,)
    assert parsed.row_numbers is not None and list(parsed.row_numbers) == [1, 2, 4]


@pytest.mark.parametrize(
    ("content", "check"),
    [
        (b"", "non_empty"),
        (b"datetime,open,high,low,close\n", "non_empty"),
        (b"\x00\x01\x02binary\x00", "format"),
    ],
)
def test_unreadable_files_raise_ingest_error(samples: Any, content: bytes, check: str) -> None:
    """Empty, header-only and binary files are refused with a named check."""
    with pytest.raises(IngestError) as err:
        samples.read("X.csv", content)
    assert err.value.check == check


def test_header_missing_the_time_name_is_repaired(samples: Any, at: Any) -> None:
    """backtrader's 7-name header over 8-field rows: the unnamed 2nd field is read as Time, with a warning."""
    text = (
        "Date,Open,High,Low,Close,Volume,OpenInterest\r\n"
        "2006-01-02,09:01:00,3602.00,3603.00,3597.00,3599.00,5699,0\r\n"
    )
    parsed = samples.read("FESX.txt", text, tz="UTC")
    assert samples.row(parsed)["datetime"] == at("2006-01-02 09:01")
    assert samples.row(parsed)["open"] == 3602.0
    assert samples.warnings(parsed) == ["columns"]


def test_no_symbol_is_an_error_asking_for_one(samples: Any) -> None:
    """A file name without a symbol and no --symbol: error finding (check `symbol`) naming the option."""
    parsed = samples.read("data.csv", PLAIN, tz="UTC")
    [finding] = [f for f in parsed.findings if f.check == "symbol"]
    assert finding.severity == "error"
    assert "--symbol" in finding.message


def test_one_impossible_iso_time_does_not_blank_the_column(samples: Any, at: Any) -> None:
    """Hour 25 and 31 February are the rows reported; the valid rows around them still read."""
    text = (
        "datetime,open,high,low,close\n2024-01-02 25:30,1,2,0.5,1.5\n2024-01-02 09:31,1,2,0.5,1.5\n"
        "2024-02-31 09:32,1,2,0.5,1.5\n2024-01-02 09:33,1,2,0.5,1.5\n"
    )
    parsed = samples.read("ES.csv", text, tz="UTC")
    [finding] = [f for f in parsed.findings if f.check == "timestamps"]
    assert finding.rows == (1, 3)
    assert samples.row(parsed, 1)["datetime"] == at("2024-01-02 09:31")
    assert samples.row(parsed, 3)["datetime"] == at("2024-01-02 09:33")


def test_empty_epoch_time_is_a_row_error_not_1970(samples: Any) -> None:
    """An empty open time in a Binance kline file is reported, never read as 1970-01-01."""
    good = "1704067200000,1,2,0.5,1.5,10,1704067259999,1,1,1,1,0\n"
    parsed = samples.read("BTCUSDT-1m.csv", good + ",1,2,0.5,1.5,10,1704067319999,1,1,1,1,0\n")
    [finding] = [f for f in parsed.findings if f.check == "timestamps"]
    assert finding.severity == "error" and finding.rows == (2,)
    assert parsed.table.column("datetime").null_count == 1


def test_spring_forward_rows_keep_file_numbering_after_a_ragged_row(samples: Any) -> None:
    """The nonexistent 02:30 is data row 4 of the file, although ragged row 2 was left out."""
    text = (
        "datetime,open,high,low,close,volume\n2024-03-10 01:00,1,2,0.5,1.5,10\n"
        "2024-03-10 01:30,1,2,0.5,1.5,10,5\n2024-03-10 01:45,1,2,0.5,1.5,10\n"
        "2024-03-10 02:30,1,2,0.5,1.5,10\n"
    )
    parsed = samples.read("ES.csv", text, tz="America/Chicago")
    [finding] = [f for f in parsed.findings if f.check == "timezone"]
    assert finding.rows == (4,)


def test_multi_symbol_file_passes_the_fall_back_hour_per_symbol(samples: Any, at: Any) -> None:
    """Each symbol of a Chicago-time file walks through the repeated 01:xx hour on its own."""
    times = ["00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]
    rows = [f"2024-11-03 {t},{sym},1,2,0.5,1.5,10" for sym in ("AAA", "BBB") for t in times]
    parsed = samples.read(
        "x.csv", "datetime,symbol,open,high,low,close,volume\n" + "\n".join(rows), tz="America/Chicago"
    )
    utc = [at(f"2024-11-03 {t}") for t in ("05:30", "06:00", "06:30", "07:00", "07:30", "08:00")]
    stamps = [pd.Timestamp(v) for v in parsed.table.column("datetime").to_pylist()]
    assert stamps == utc + utc


def test_latin1_text_is_read_with_a_warning(samples: Any) -> None:
    """A Windows export with a Latin-1 byte is read as Latin-1, and the report says so."""
    text = "datetime,symbol,open,high,low,close\n2024-01-02 09:30,caf\xe9,1,2,0.5,1.5\n".encode("latin-1")
    parsed = samples.read("x.csv", text, tz="UTC")
    assert samples.warnings(parsed)[0] == "encoding"
    assert not samples.errors(parsed)


def test_text_in_a_few_volume_rows_is_an_error_not_a_dropped_column(samples: Any) -> None:
    """One bad volume cell names its row; the other rows' volumes must not all be thrown away."""
    text = PLAIN + "2024-01-02 09:32:00,1,2,0.5,1.5,n/a\n"
    parsed = samples.read("ES.csv", text, tz="UTC")
    [finding] = [f for f in parsed.findings if f.check == "numbers"]
    assert finding.severity == "error" and finding.rows == (3,)


def test_truncated_zstd_is_a_compression_error(samples: Any) -> None:
    """A cut-off .zst decompresses to nothing rather than failing; it must not read as 'blank lines'."""
    blob = zstandard.ZstdCompressor().compress((PLAIN * 20).encode())
    with pytest.raises(IngestError) as err:
        samples.read("ES.csv.zst", blob[: len(blob) // 2], tz="UTC")
    assert err.value.check == "compression"
