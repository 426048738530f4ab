"""Every validation check, on canonical tables built in the test: what is found, where, and what is kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from testkit import make_bars
from trading_pipeline.report import MAX_REPORTED_ROWS, Finding
from trading_pipeline.schema import TIMESTAMP_TYPE
from trading_pipeline.validation import (
    COLUMNS,
    CONFLICTING_DUPLICATES,
    DUPLICATE_ROWS,
    GAPS,
    MISSING_PRICES,
    NON_EMPTY,
    NON_NEGATIVE_VOLUME,
    NUMBERS,
    OHLC,
    POSITIVE_PRICES,
    TIMESTAMPS,
    UNSORTED,
    format_duration,
    format_interval,
    validate_bars,
)


def table_of(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.set_column(0, "datetime", table.column("datetime").cast(TIMESTAMP_TYPE))


def bars(n: int = 50, **kwargs: object) -> pd.DataFrame:
    return make_bars(n, **kwargs)  # type: ignore[arg-type]


def only(findings: list[Finding], check: str) -> Finding:
    matching = [f for f in findings if f.check == check]
    assert len(matching) == 1, findings
    return matching[0]


def checks(findings: list[Finding]) -> set[str]:
    return {f.check for f in findings}


class TestStructure:
    def test_clean_bars_pass_without_findings(self) -> None:
        """Valid, sorted, gap-free bars produce no finding and come back unchanged."""
        table = table_of(bars())
        result = validate_bars(table)
        assert result.findings == []
        assert result.table.equals(table)

    def test_missing_required_column_is_an_error_naming_it(self) -> None:
        """A table without `close` is rejected, and the message lists what was found instead."""
        result = validate_bars(table_of(bars()).drop_columns(["close"]))
        finding = only(result.findings, COLUMNS)
        assert finding.severity == "error"
        assert "close" in finding.message
        assert "found: datetime, open, high, low, volume" in finding.message

    def test_empty_table_is_an_error(self) -> None:
        """A table with the right columns but no rows is rejected as non_empty."""
        result = validate_bars(table_of(bars()).slice(0, 0))
        assert checks(result.findings) == {NON_EMPTY}
        assert result.has_errors

    def test_volume_is_optional(self) -> None:
        """Bars without a volume column are valid."""
        assert validate_bars(table_of(bars()).drop_columns(["volume"])).findings == []

    def test_text_in_the_datetime_column_is_a_timestamps_error(self) -> None:
        """A datetime column that holds strings is rejected with its type in the message."""
        table = table_of(bars(3))
        table = table.set_column(0, "datetime", pa.array(["a", "b", "c"]))
        finding = only(validate_bars(table).findings, TIMESTAMPS)
        assert "string" in finding.message

    def test_text_that_is_not_a_number_is_a_numbers_error(self) -> None:
        """A price column of text that cannot be cast is rejected as numbers, naming the column."""
        table = table_of(bars(3))
        table = table.set_column(4, "close", pa.array(["1.5", "abc", "2"]))
        finding = only(validate_bars(table).findings, NUMBERS)
        assert "close" in finding.message

    def test_integer_prices_are_accepted_as_floats(self) -> None:
        """Integer price columns are cast to float64, not rejected."""
        frame = bars(5)
        for name in ("open", "high", "low", "close"):
            frame[name] = frame[name].round().astype("int64")
        frame["high"] = frame[["open", "high", "close"]].max(axis=1) + 1
        frame["low"] = frame[["open", "low", "close"]].min(axis=1) - 1
        result = validate_bars(table_of(frame))
        assert result.findings == []
        assert result.table.schema.field("close").type == pa.float64()

    def test_missing_timestamps_are_errors_with_rows(self) -> None:
        """Null timestamps are reported with their row numbers."""
        table = table_of(bars(5))
        ts = table.column("datetime").to_pylist()
        ts[2] = None
        table = table.set_column(0, "datetime", pa.array(ts, TIMESTAMP_TYPE))
        finding = only(validate_bars(table).findings, TIMESTAMPS)
        assert finding.rows == (3,)
        assert finding.message.startswith("row 3: timestamp missing")


class TestValues:
    def test_high_below_low_names_the_rows(self) -> None:
        """Rows whose high is below the low are reported as a range: 'rows 11-13: high below low'."""
        frame = bars(20)
        frame.loc[10:12, "high"] = frame.loc[10:12, "low"] - 1
        finding = only(validate_bars(table_of(frame)).findings, OHLC)
        assert finding.message.startswith("rows 11-13: high below low")
        assert finding.rows == (11, 12, 13)
        assert finding.severity == "error"

    def test_high_below_open_or_close(self) -> None:
        """A high under the close is an OHLC error of its own kind."""
        frame = bars(10)
        frame.loc[4, "high"] = frame.loc[4, "close"] - 1
        frame.loc[4, "low"] = frame.loc[4, "high"] - 5
        frame.loc[4, "open"] = frame.loc[4, "high"] - 1
        finding = only(validate_bars(table_of(frame)).findings, OHLC)
        assert finding.message.startswith("row 5: high below open or close")

    def test_low_above_open_or_close(self) -> None:
        """A low above the open is an OHLC error."""
        frame = bars(10)
        frame.loc[6, "low"] = frame.loc[6, "open"] + 0.25
        frame.loc[6, "high"] = frame.loc[6, "low"] + 10
        frame.loc[6, "close"] = frame.loc[6, "low"] + 1
        finding = only(validate_bars(table_of(frame)).findings, OHLC)
        assert finding.message.startswith("row 7: low above open or close")

    def test_zero_and_negative_prices_are_errors(self) -> None:
        """Prices at or below zero are rejected as positive_prices."""
        frame = bars(10, price=1.0, tick=0.0)
        frame.loc[[2, 5], ["open", "high", "low", "close"]] = [0.0, 0.0, 0.0, 0.0]
        frame.loc[8, ["open", "high", "low", "close"]] = [-1.0, -1.0, -1.0, -1.0]
        finding = only(validate_bars(table_of(frame)).findings, POSITIVE_PRICES)
        assert finding.rows == (3, 6, 9)

    def test_nan_null_and_infinite_prices_are_missing(self) -> None:
        """NaN, null and infinite prices are all reported as missing_prices."""
        frame = bars(10)
        frame.loc[1, "open"] = np.nan
        frame.loc[4, "close"] = np.inf
        table = table_of(frame)
        highs = table.column("high").to_pylist()
        highs[7] = None
        table = table.set_column(2, "high", pa.array(highs, pa.float64()))
        finding = only(validate_bars(table).findings, MISSING_PRICES)
        assert finding.rows == (2, 5, 8)

    def test_negative_volume_is_an_error_but_missing_volume_is_not(self) -> None:
        """Volume below zero is rejected; a null volume is allowed."""
        frame = bars(10)
        frame["volume"] = frame["volume"].astype("float64")
        frame.loc[3, "volume"] = -5
        frame.loc[6, "volume"] = np.nan
        result = validate_bars(table_of(frame))
        assert only(result.findings, NON_NEGATIVE_VOLUME).rows == (4,)
        assert checks(result.findings) == {NON_NEGATIVE_VOLUME}

    def test_many_bad_rows_list_the_first_few_and_count_the_rest(self) -> None:
        """Only the first rows are listed; the count and the message say how many more there are."""
        frame = bars(100)
        frame["volume"] = -1.0
        finding = only(validate_bars(table_of(frame)).findings, NON_NEGATIVE_VOLUME)
        assert len(finding.rows) == MAX_REPORTED_ROWS
        assert finding.count == 100
        assert "and 90 more" in finding.message

    def test_row_numbers_come_from_the_caller(self) -> None:
        """Given file row numbers (e.g. one symbol of a multi-symbol file), messages use them."""
        frame = bars(3)
        frame.loc[1, "volume"] = -1
        result = validate_bars(table_of(frame), np.array([10, 20, 30]))
        assert only(result.findings, NON_NEGATIVE_VOLUME).rows == (20,)

    def test_checks_see_every_batch_of_a_chunked_table(self) -> None:
        """Bad rows in the later chunks of a multi-chunk table are found with their right row numbers."""
        table = table_of(bars(1000))
        chunked = pa.Table.from_batches(table.to_batches(max_chunksize=64))
        lows = chunked.column("low").to_numpy().copy()
        lows[700] = -3.0
        chunked = chunked.set_column(
            3, "low", pa.chunked_array([lows[i : i + 64] for i in range(0, 1000, 64)])
        )
        assert only(validate_bars(chunked).findings, POSITIVE_PRICES).rows == (701,)


class TestOrder:
    def test_exact_duplicate_rows_are_dropped_with_a_warning(self) -> None:
        """A repeated row is dropped; the warning names the repeat, not the original."""
        frame = bars(10)
        frame = pd.concat([frame.iloc[:5], frame.iloc[[4]], frame.iloc[5:]], ignore_index=True)
        result = validate_bars(table_of(frame))
        finding = only(result.findings, DUPLICATE_ROWS)
        assert finding.severity == "warning"
        assert finding.rows == (6,)
        assert result.table.num_rows == 10
        assert list(result.row_numbers) == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]

    def test_duplicates_with_nan_volume_are_still_exact(self) -> None:
        """Two identical rows whose volume is missing count as exact duplicates (NaN equals NaN here)."""
        frame = bars(4)
        frame["volume"] = np.nan
        frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
        assert checks(validate_bars(table_of(frame)).findings) == {DUPLICATE_ROWS}

    def test_conflicting_duplicate_timestamps_are_an_error(self) -> None:
        """Two rows with one timestamp and different prices reject the file and are both named."""
        frame = bars(10)
        clash = frame.iloc[[3]].copy()
        clash["close"] += 0.25
        clash["high"] += 0.25
        frame = pd.concat([frame, clash], ignore_index=True)
        finding = only(validate_bars(table_of(frame)).findings, CONFLICTING_DUPLICATES)
        assert finding.severity == "error"
        assert finding.rows == (4, 11)
        assert "2024-01-02 00:03 UTC" in finding.message

    def test_unsorted_input_is_sorted_with_a_warning(self) -> None:
        """Bars out of order are sorted; the warning names the bar that went back in time."""
        frame = bars(10)
        frame = frame.iloc[[0, 1, 2, 5, 3, 4, 6, 7, 8, 9]].reset_index(drop=True)
        result = validate_bars(table_of(frame))
        finding = only(result.findings, UNSORTED)
        assert finding.severity == "warning"
        assert finding.rows == (5,)
        times = result.table.column("datetime").to_numpy()
        assert (np.diff(times.view("i8")) > 0).all()
        assert list(result.row_numbers) == [1, 2, 3, 5, 6, 4, 7, 8, 9, 10]

    def test_newest_first_file_is_named_as_such(self) -> None:
        """A file entirely in reverse order gets one plain sentence instead of a list of every row."""
        finding = only(validate_bars(table_of(bars(30).iloc[::-1].reset_index(drop=True))).findings, UNSORTED)
        assert finding.message == "the file runs newest first; the bars were sorted by time"

    def test_descending_file_is_sorted_and_keeps_its_values(self) -> None:
        """A newest-first file is reversed into time order, prices travelling with their times."""
        frame = bars(20)
        result = validate_bars(table_of(frame.iloc[::-1].reset_index(drop=True)))
        assert result.table.column("close").to_pylist() == frame["close"].tolist()
        assert not result.has_errors


class TestIntervalAndGaps:
    @pytest.mark.parametrize(
        ("freq", "spelled"), [("1min", "1min"), ("5min", "5min"), ("1h", "1h"), ("30s", "30s"), ("1D", "1D")]
    )
    def test_interval_is_the_median_step(self, freq: str, spelled: str) -> None:
        """The inferred interval is the median step, spelled like pandas offsets."""
        assert validate_bars(table_of(bars(30, freq=freq))).interval == spelled

    def test_interval_ignores_a_few_long_steps(self) -> None:
        """Gaps make some steps longer but do not move the median."""
        frame = bars(30)
        frame = frame.drop(index=[5, 6, 7, 20]).reset_index(drop=True)
        assert validate_bars(table_of(frame)).interval == "1min"

    def test_one_bar_has_no_interval(self) -> None:
        """With a single bar there is no step, so no interval and no gap finding; the report says so."""
        result = validate_bars(table_of(bars(1)))
        assert result.interval is None
        assert [(f.check, f.severity) for f in result.findings] == [("one_row", "warning")]

    def test_missing_stretch_inside_a_session_is_a_warning_with_counts(self) -> None:
        """A five-minute hole in one-minute bars is one gap of five missing bars, with its row."""
        frame = bars(60).drop(index=range(20, 25)).reset_index(drop=True)
        finding = only(validate_bars(table_of(frame)).findings, GAPS)
        assert finding.severity == "warning"
        assert finding.rows == (21,)
        assert "1 gap longer than the 1min interval (5 missing bars)" in finding.message
        assert "largest is 6min after 2024-01-02 00:19 UTC" in finding.message

    def test_daily_bars_over_weekends_are_not_gaps(self) -> None:
        """Monday-to-Friday daily bars raise no gap warning."""
        frame = bars(60, freq="B", start="2024-01-01")
        assert validate_bars(table_of(frame)).findings == []

    def test_daily_bars_skipping_one_weekday_holiday_are_not_gaps(self) -> None:
        """A single missing weekday (an exchange holiday) is expected, not a gap."""
        frame = bars(20, freq="B", start="2024-01-01").drop(index=[10]).reset_index(drop=True)
        assert validate_bars(table_of(frame)).findings == []

    def test_daily_bars_missing_a_week_warn(self) -> None:
        """Daily bars missing a whole week of weekdays are a gap."""
        frame = bars(40, freq="B", start="2024-01-01").drop(index=range(10, 15)).reset_index(drop=True)
        finding = only(validate_bars(table_of(frame)).findings, GAPS)
        assert "1 gap longer than the 1D interval" in finding.message

    def test_fx_weekend_closure_is_not_a_gap(self) -> None:
        """Minute bars stopping Friday 22:00 UTC and restarting Sunday 22:00 UTC raise no warning."""
        friday = pd.date_range("2024-01-05 20:00", "2024-01-05 21:59", freq="1min", tz="UTC")
        sunday = pd.date_range("2024-01-07 22:00", "2024-01-07 23:59", freq="1min", tz="UTC")
        frame = bars(len(friday) + len(sunday))
        frame["datetime"] = friday.append(sunday)
        assert validate_bars(table_of(frame)).findings == []

    def test_recurring_daily_session_break_is_not_a_gap(self) -> None:
        """The CME maintenance hour, recurring each day at the same time, raises no warning."""
        times = pd.date_range("2024-01-08 00:00", "2024-01-12 20:59", freq="1min", tz="UTC")
        times = times[(times.hour != 21)]  # 21:00-21:59 UTC closed every day
        frame = bars(len(times))
        frame["datetime"] = times
        assert validate_bars(table_of(frame)).findings == []

    def test_one_off_hole_is_reported_and_closures_are_counted(self) -> None:
        """A one-off hole next to recurring breaks is warned about; the hint counts the closures."""
        times = pd.date_range("2024-01-08 00:00", "2024-01-12 20:59", freq="1min", tz="UTC")
        times = times[(times.hour != 21)]
        times = times[(times < "2024-01-10 10:00") | (times >= "2024-01-10 12:00")]
        frame = bars(len(times))
        frame["datetime"] = times
        finding = only(validate_bars(table_of(frame)).findings, GAPS)
        assert "1 gap longer" in finding.message
        assert "(120 missing bars)" in finding.message
        assert "Not counted: 4 expected closures" in finding.message

    def test_format_interval_and_duration(self) -> None:
        """Intervals use one exact unit; durations the two largest units."""
        assert format_interval(90 * 10**9) == "90s"
        assert format_interval(4 * 3600 * 10**9) == "4h"
        assert format_duration((49 * 3600 + 5 * 60) * 10**9) == "2D 1h"
        assert format_duration(45 * 60 * 10**9) == "45min"
