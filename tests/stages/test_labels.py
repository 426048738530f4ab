"""The labels stage: thresholds, horizons in bars and in clock time, and breaks labels never cross."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.stages import RunConfig, StageContext, clean, features, labels


def _run(stage, frame: pd.DataFrame, **config: object) -> tuple[pd.DataFrame, StageContext]:
    ctx = StageContext(symbol="MES", config=RunConfig.model_validate(config), stage=stage.__name__)
    return stage(frame, ctx), ctx


def _featured(bars: pd.DataFrame, **config: object) -> pd.DataFrame:
    cleaned, _ = _run(clean, bars, **config)
    out, _ = _run(features, cleaned, **config)
    return out


def _frame(closes: list[float], minutes: list[int] | None = None) -> pd.DataFrame:
    minutes = minutes if minutes is not None else list(range(len(closes)))
    opens = pd.Timestamp("2024-01-02", tz="UTC") + pd.to_timedelta(minutes, unit="min")
    gap = np.r_[False, np.diff(minutes) > 10]
    return pd.DataFrame(
        {
            "datetime": opens,
            "close": np.exp(closes),
            "close_time": opens + pd.Timedelta("1min"),
            "gap_before": gap,
            "vol_20": 0.02,
        }
    )


def test_label_is_up_flat_or_down_against_a_volatility_band() -> None:
    """Up above +k*vol*sqrt(h), down below -k*vol*sqrt(h), flat in between."""
    frame = _frame([0.0, 0.03, -0.03, 0.0, 0.005, 0.0])
    out, _ = _run(labels, frame, horizons="1", label_threshold=1.0, min_class_share=0)
    assert out["label_1"].tolist() == [1, -1, 1, 0, 0]
    assert out["fwd_ret_1"].iloc[0] == pytest.approx(0.03)
    assert (out["label_end"] == out["close_time"] + pd.Timedelta("1min")).all()


def test_trailing_rows_without_a_full_horizon_are_dropped() -> None:
    """The last max(horizon) rows go, so no label or forward return is NaN."""
    featured = _featured(make_bars(1000))
    out, ctx = _run(labels, featured, horizons="5,15,60")
    assert len(out) == len(featured) - 60 and ctx.checks["trailing_rows_dropped"] == 60
    assert not out.filter(like="_ret_").isna().any().any()
    assert out["label_60"].dtype == np.int8


def test_labels_never_cross_a_break_and_are_counted() -> None:
    """Bars 0-9, then an hour without bars: a 3-bar label from bar 8 would span it, so rows 7-9 go."""
    frame = _frame([0.01 * i for i in range(20)], [*range(10), *range(70, 80)])
    out, ctx = _run(labels, frame, horizons="3", min_class_share=0)
    kept = out["datetime"].dt.minute.tolist()
    assert 7 not in kept and 9 not in kept and 6 in kept and 10 in kept  # 70 min = 01:10
    assert ctx.checks["crossing_break_dropped"] == 3 and ctx.checks["crossing_break_by_label"] == {
        "label_3": 3
    }
    assert ctx.checks["trailing_rows_dropped"] == 3


def test_duration_horizons_price_the_close_at_the_instant() -> None:
    """A 5min horizon over a missing minute uses the last close before t+5min; 5 bars would stretch."""
    minutes = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]  # 00:07 is missing
    closes = [0.1 * m for m in minutes]
    out, _ = _run(labels, _frame(closes, minutes), horizons="5,5min", min_class_share=0)
    row = out.loc[out["datetime"] == pd.Timestamp("2024-01-02 00:02", tz="UTC")].iloc[0]
    # Bar 00:02 closes 00:03; the instant 00:08 is the close of the missing bar, so bar 00:06 prices it.
    assert row["fwd_ret_5min"] == pytest.approx(0.6 - 0.2)
    assert row["fwd_ret_5"] == pytest.approx(0.8 - 0.2)  # five bars later is 00:08: six minutes
    assert row["label_end"] == pd.Timestamp("2024-01-02 00:09", tz="UTC")  # the 5-bar label's end


def test_duration_horizon_must_be_a_multiple_of_the_bar() -> None:
    """7 minutes on 5-minute bars would silently mean 5; it is refused."""
    featured = _featured(make_bars(600), timeframe="5min")
    with pytest.raises(Exception, match="not a whole multiple"):
        _run(labels, featured, horizons="7min", timeframe="5min")


def test_bar_and_duration_horizons_agree_on_regular_bars() -> None:
    """On gapless 1-minute bars, 15 bars and 15min are the same label."""
    featured = _featured(make_bars(600, seed=4))
    out, _ = _run(labels, featured, horizons="15,15min")
    assert np.array_equal(out["fwd_ret_15"], out["fwd_ret_15min"])
    assert np.array_equal(out["label_15"], out["label_15min"])
