"""The load and clean stages: the source contract, invalid rows, sessions and OHLCV resampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.errors import StageError
from trading_pipeline.stages import RunConfig, StageContext, clean, load, resample_bars


def _bars(
    times: list[str],
    opens: list[float],
    highs: list[float],
    lows: list[float],
    closes: list[float],
    volumes: list[float | None],
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "datetime": pd.to_datetime(times, utc=True).as_unit("ns"),
            "open": opens,
            "high": highs,
            "low": lows,
            "close": closes,
            "volume": pd.array(volumes, dtype="float64"),
        }
    )


def _ctx(**config: object) -> StageContext:
    return StageContext(symbol="MES", config=RunConfig.model_validate(config), stage="clean")


def test_resample_aggregates_first_max_min_last_sum() -> None:
    """A 5-minute bar takes the first open, highest high, lowest low, last close and summed volume."""
    times = [f"2024-01-02 00:0{m}" for m in range(7)]
    bars = _bars(
        times,
        [1, 2, 3, 4, 5, 6, 7],
        [9, 8, 12, 8, 8, 8, 9],
        [1, 0.5, 2, 3, 4, 5, 6],
        [2, 3, 4, 5, 6, 7, 8],
        [10, 20, 30, 40, 50, 1, 2],
    )
    out = resample_bars(bars, "5min")
    assert out["datetime"].tolist() == list(
        pd.to_datetime(["2024-01-02 00:00", "2024-01-02 00:05"], utc=True)
    )
    assert out[["open", "high", "low", "close", "volume"]].to_numpy().tolist() == [
        [1, 12, 0.5, 6, 150],
        [6, 9, 5, 8, 3],
    ]


def test_resample_invents_no_bars_for_gaps() -> None:
    """Bins with no input bar (a data gap) produce no output bar."""
    bars = _bars(
        ["2024-01-02 00:00", "2024-01-02 00:01", "2024-01-02 00:31"],
        [1, 1, 1],
        [2, 2, 2],
        [0.5, 0.5, 0.5],
        [1, 1, 1],
        [1, 1, 1],
    )
    out = resample_bars(bars, "5min")
    assert out["datetime"].dt.strftime("%H:%M").tolist() == ["00:00", "00:30"]


def test_resample_bins_are_epoch_aligned() -> None:
    """Bars starting at 00:03 fall in the 00:00 bin, labelled by its open time."""
    bars = make_bars(4, start="2024-01-02 00:03")
    out = resample_bars(bars, "5min")
    assert out["datetime"].dt.strftime("%H:%M").tolist() == ["00:00", "00:05"]


def test_resample_keeps_missing_volume_missing() -> None:
    """A bin whose bars all lack volume gets a null volume, not 0."""
    bars = _bars(["2024-01-02 00:00", "2024-01-02 00:01"], [1, 1], [2, 2], [0.5, 0.5], [1, 1], [None, None])
    assert resample_bars(bars, "5min")["volume"].isna().all()


def test_clean_drops_rows_with_impossible_prices() -> None:
    """Rows with high below the close or a non-positive low are dropped and counted."""
    bars = make_bars(10)
    bars.loc[3, "high"] = bars.loc[3, "close"] - 1
    bars.loc[6, "low"] = 0.0
    ctx = _ctx()
    out = clean(bars, ctx)
    assert len(out) == 8
    assert ctx.checks["invalid_rows_dropped"] == 2


def test_clean_drops_rows_flagged_invalid() -> None:
    """A validator's boolean `invalid` column removes those rows."""
    bars = make_bars(10).assign(invalid=[False] * 9 + [True])
    out = clean(bars, _ctx())
    assert len(out) == 9 and "invalid" not in out.columns


def test_clean_refuses_a_shorter_timeframe() -> None:
    """5-minute input cannot become 1-minute bars."""
    with pytest.raises(StageError, match="cannot resample"):
        clean(make_bars(20, freq="5min"), _ctx(timeframe="1min"))


def test_session_filter_keeps_bars_opening_inside_the_session() -> None:
    """A 23:00-01:00 session wraps midnight and keeps exactly those two hours."""
    bars = make_bars(24 * 60)
    out = clean(bars, _ctx(session="23:00-01:00"))
    hours = set(out["datetime"].dt.hour)
    assert hours == {23, 0} and len(out) == 120


def test_load_refuses_naive_timestamps(fake_loader: type) -> None:
    """The source contract says UTC tz-aware; naive times would silently shift features."""
    loader = fake_loader({"MES": make_bars(5, tz=None)})
    ctx = StageContext(symbol="MES", config=RunConfig(), stage="load", loader=loader)
    with pytest.raises(StageError, match="tz-aware"):
        load(pd.DataFrame(), ctx)


def test_load_records_lineage(fake_loader: type) -> None:
    """The input files behind the bars are kept for run.json."""
    ctx = StageContext(
        symbol="MES", config=RunConfig(), stage="load", loader=fake_loader({"MES": make_bars(5)})
    )
    out = load(pd.DataFrame(), ctx)
    assert len(out) == 5 and ctx.inputs[0].path == "MES.csv"
    assert np.issubdtype(out["close"].dtype, np.floating)
