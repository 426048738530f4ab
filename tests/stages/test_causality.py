"""Strict causality, for every feature and every timeframe the CLI names: perturb (or cut) every bar
from T on, and nothing known by T changes: no clean bar, flag or feature of a bar that closed by T,
and no label whose ``label_end`` is at or before T."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.stages import RunConfig, StageContext, clean, feature_columns, features, labels
from trading_pipeline.stages.config import TIMEFRAME_EXAMPLES, parse_timeframe
from trading_pipeline.stages.features import SINCE_GAP

BARS_NEEDED = 320
"""Warm-up (60) + the longest label (60) + room on both sides of T."""


def _weekday_bars(timeframe: str | None) -> pd.DataFrame:
    """Bars with weekends missing (breaks), one 10x bad tick before T and one after it."""
    step = pd.Timedelta(timeframe or "1min")
    native = "5min" if step >= pd.Timedelta("1h") else "1min"
    count = int(BARS_NEEDED * step / pd.Timedelta(native) * 7 / 5)
    bars = make_bars(count, freq=native, seed=21, start="2024-01-01")
    bars = bars.loc[bars["datetime"].dt.day_of_week < 5].reset_index(drop=True)
    for row in (len(bars) // 3, len(bars) * 5 // 6):
        bars.loc[row, ["open", "high", "low", "close"]] *= 10
    return bars


def _pipeline(bars: pd.DataFrame, config: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = bars
    featured = pd.DataFrame()
    for stage in (clean, features, labels):
        frame = stage(frame, StageContext(symbol="MES", config=config, stage=stage.__name__))
        if stage is features:
            featured = frame
    return featured, frame


@pytest.mark.parametrize("timeframe", TIMEFRAME_EXAMPLES, ids=lambda t: t or "native")
def test_nothing_known_by_t_depends_on_bars_after_t(timeframe: str | None) -> None:
    """Every feature column (and bars_since_gap, close_time, gap_before) and every label."""
    timeframe = parse_timeframe(timeframe) if timeframe else None
    # Bar and clock horizons; 60 bars of 4h would cross a weekend (a break) in every window.
    double = f"{2 * int(pd.Timedelta(timeframe or '1min').total_seconds() // 60)}min"
    config = RunConfig(timeframe=timeframe, horizons=(5, 15, double), min_class_share=0)
    bars = _weekday_bars(timeframe)
    cut = bars["datetime"].iloc[len(bars) * 3 // 4] + pd.Timedelta("7min")  # not on a bin edge
    later = (bars["datetime"] >= cut).to_numpy()
    rng = np.random.default_rng(5)
    perturbed = bars.copy()
    factor = rng.uniform(0.5, 2.0, later.sum())
    for column in ("open", "high", "low", "close", "volume"):
        perturbed.loc[later, column] = perturbed.loc[later, column] * factor
    variants = [_pipeline(b, config) for b in (bars, perturbed, bars.loc[~later].reset_index(drop=True))]
    names = [*feature_columns(config), SINCE_GAP, "close_time", "gap_before", "open", "close"]
    known = [f.loc[f["close_time"] <= cut, ["datetime", *names]].reset_index(drop=True) for f, _ in variants]
    assert len(known[0]) > 20
    for other in known[1:]:
        pd.testing.assert_frame_equal(known[0], other)
    labelled = [lab.loc[lab["label_end"] <= cut].reset_index(drop=True) for _, lab in variants]
    assert len(labelled[0]) > 20
    for other in labelled[1:]:
        pd.testing.assert_frame_equal(labelled[0], other)
