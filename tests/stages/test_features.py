"""The features stage: formulas, warm-up handling and strict causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.stages import RunConfig, StageContext, compute_features, feature_columns, features

CONFIG = RunConfig()


def _features(bars: pd.DataFrame, config: RunConfig = CONFIG) -> tuple[pd.DataFrame, StageContext]:
    ctx = StageContext(symbol="MES", config=config, stage="features")
    return features(bars, ctx), ctx


@pytest.mark.parametrize("cut", [100, 250, 399])
def test_features_never_use_later_bars(cut: int) -> None:
    """Scrambling every bar after t leaves every feature at or before t bit-for-bit unchanged."""
    bars = make_bars(400, seed=3)
    rng = np.random.default_rng(7)
    perturbed = bars.copy()
    later = perturbed.index > cut
    for column in ("open", "high", "low", "close", "volume"):
        perturbed.loc[later, column] = perturbed.loc[later, column] * rng.uniform(0.5, 2.0, later.sum())
    names = feature_columns(CONFIG)
    before = compute_features(bars, CONFIG).loc[:cut, names].to_numpy()
    after = compute_features(perturbed, CONFIG).loc[:cut, names].to_numpy()
    assert np.array_equal(before, after, equal_nan=True)


def test_warmup_rows_are_dropped_and_no_nan_remains() -> None:
    """The first rows lack a full window; they go, and the rest are all finite."""
    bars = make_bars(300)
    out, ctx = _features(bars)
    longest = max(max(CONFIG.return_lookbacks), CONFIG.vol_window, CONFIG.volume_window)
    assert ctx.checks["warmup_rows_dropped"] == longest
    assert np.isfinite(out[feature_columns(CONFIG)].to_numpy()).all()
    assert out["datetime"].iloc[0] == bars["datetime"].iloc[longest]


def test_log_returns_follow_the_formula() -> None:
    """ret_k at t is ln(close_t / close_{t-k})."""
    bars = make_bars(200)
    out = compute_features(bars, CONFIG)
    close = bars["close"].to_numpy()
    assert out["ret_5"].iloc[150] == pytest.approx(np.log(close[150] / close[145]), rel=1e-12)


def test_rsi_stays_between_0_and_100_and_is_50_without_moves() -> None:
    """RSI is bounded, and a flat market reads 50."""
    out = compute_features(make_bars(500), CONFIG)
    rsi = out["rsi_14"].dropna()
    assert rsi.between(0, 100).all()
    flat = make_bars(50)
    flat[["open", "high", "low", "close"]] = 100.0
    assert compute_features(flat, CONFIG)["rsi_14"].iloc[-1] == 50.0


def test_missing_volume_gives_a_neutral_volume_feature() -> None:
    """Files without volume keep every row: the volume z-score is 0."""
    bars = make_bars(200).assign(volume=np.nan)
    out, ctx = _features(bars)
    assert (out["volume_z_60"] == 0).all() and ctx.checks["volume_missing"] is True


def test_calendar_encodings_are_cyclic() -> None:
    """Midnight and the minute before it sit next to each other on the circle."""
    bars = make_bars(2, start="2024-01-02 23:59")
    out = compute_features(bars, CONFIG)
    assert out["tod_sin"].iloc[1] == pytest.approx(0.0, abs=1e-12)
    assert out["tod_cos"].iloc[0] == pytest.approx(1.0, abs=1e-4)


def test_bars_since_gap_counts_from_each_break() -> None:
    """0 on the first bar and after every break, then 1, 2, ...; marks which returns span a break."""
    bars = make_bars(10).assign(
        gap_before=[False, False, False, True, False, False, True, False, False, False]
    )
    out = compute_features(bars, CONFIG)
    assert out["bars_since_gap"].tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 3]
