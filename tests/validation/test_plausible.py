"""Plausibility: times a market file cannot hold, prices that moved on no volume, a single bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from testkit import make_bars
from trading_pipeline.schema import TIMESTAMP_TYPE
from trading_pipeline.validation import ONE_ROW, TIME_RANGE, ZERO_VOLUME_MOVES, validate_bars


def table_of(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.set_column(0, "datetime", table.column("datetime").cast(TIMESTAMP_TYPE))


def findings_of(frame: pd.DataFrame, check: str) -> list[object]:
    return [f for f in validate_bars(table_of(frame)).findings if f.check == check]


def test_times_before_1980_are_an_error_with_their_rows() -> None:
    frame = make_bars(5, start="1970-01-01 00:00")
    [finding] = findings_of(frame, TIME_RANGE)
    assert finding.severity == "error"  # type: ignore[attr-defined]
    assert finding.rows == (1, 2, 3, 4, 5)  # type: ignore[attr-defined]
    assert "times before 1980 (first 1970-01-01 00:00 UTC)" in finding.message  # type: ignore[attr-defined]


def test_times_more_than_a_day_ahead_are_an_error() -> None:
    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    frame = pd.concat([make_bars(3, start="2024-01-02"), make_bars(2, start=future)], ignore_index=True)
    [finding] = findings_of(frame, TIME_RANGE)
    assert finding.rows == (4, 5)  # type: ignore[attr-defined]
    assert "more than a day in the future" in finding.message  # type: ignore[attr-defined]


def test_todays_bars_are_plausible() -> None:
    today = pd.Timestamp.now(tz="UTC").floor("min") - pd.Timedelta(minutes=10)
    assert findings_of(make_bars(5, start=today.strftime("%Y-%m-%d %H:%M")), TIME_RANGE) == []


def test_price_moves_on_zero_volume_are_a_warning_naming_the_rows() -> None:
    frame = make_bars(10)
    frame.loc[[2, 5], "volume"] = 0.0
    frame.loc[6, ["open", "high", "low", "close", "volume"]] = [frame["close"][5]] * 4 + [0.0]  # flat: fine
    [finding] = findings_of(frame, ZERO_VOLUME_MOVES)
    assert finding.severity == "warning"  # type: ignore[attr-defined]
    assert finding.rows == (3, 6)  # type: ignore[attr-defined]


def test_zero_volume_on_every_moving_bar_says_the_file_may_have_no_volume() -> None:
    frame = make_bars(10)
    frame["volume"] = 0.0
    [finding] = findings_of(frame, ZERO_VOLUME_MOVES)
    assert "yet the volume is 0 on every bar" in finding.message  # type: ignore[attr-defined]


def test_missing_volume_is_not_zero_volume() -> None:
    frame = make_bars(10)
    frame["volume"] = np.nan
    assert findings_of(frame, ZERO_VOLUME_MOVES) == []


def test_a_single_bar_is_a_warning() -> None:
    [finding] = findings_of(make_bars(1), ONE_ROW)
    assert finding.severity == "warning"  # type: ignore[attr-defined]
    assert findings_of(make_bars(2), ONE_ROW) == []
