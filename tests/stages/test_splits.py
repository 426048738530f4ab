"""The splits stage and the run's split plan: ratios, purge periods in time, exact per-row purge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.errors import StageError
from trading_pipeline.stages import RunConfig, StageContext, clean, features, labels, split_sizes, splits
from trading_pipeline.stages.splits import PlanError, build_plan, make_plan

MINUTE = 60_000_000_000


def _ctx(stage: str, **config: object) -> StageContext:
    return StageContext(symbol="MES", config=RunConfig.model_validate(config), stage=stage)


def _labelled(bars: pd.DataFrame, **config: object) -> pd.DataFrame:
    frame = bars
    for stage in (clean, features, labels):
        frame = stage(frame, _ctx(stage.__name__, **config))
    return frame


def _opens(frame: pd.DataFrame) -> np.ndarray:
    return frame["datetime"].to_numpy("datetime64[ns]").astype("int64")


def _split(frames: dict[str, pd.DataFrame], **config: object) -> dict[str, tuple[pd.DataFrame, StageContext]]:
    cfg = RunConfig.model_validate(config)
    plan = build_plan({s: _opens(f) for s, f in frames.items()}, cfg, MINUTE)
    out = {}
    for symbol, frame in frames.items():
        ctx = StageContext(symbol=symbol, config=cfg, stage="splits", plan=plan)
        out[symbol] = (splits(frame, ctx), ctx)
    return out


def test_split_sizes_follow_the_ratios_after_the_gaps() -> None:
    """Rows minus two purge gaps are shared out 70/15/15."""
    assert split_sizes(1120, (0.7, 0.15, 0.15), 60) == (700, 150, 150)


def test_plan_on_regular_bars_matches_row_counts() -> None:
    """Gapless minutes: the purge periods hold exactly max(h) bars and the ratios apply to the rest."""
    union = np.arange(1120, dtype=np.int64) * MINUTE
    cut1, cut2 = make_plan(union, (0.7, 0.15, 0.15), 60 * MINUTE)
    assert cut1 == 700 * MINUTE and cut2 == (700 + 60 + 150) * MINUTE


def test_splits_are_chronological_with_a_purge_gap_of_max_horizon() -> None:
    """Exactly max(horizon) bars separate train from val and val from test."""
    frame = _labelled(make_bars(3000, seed=5))
    out, ctx = _split({"MES": frame})["MES"]
    position = {ts: i for i, ts in enumerate(frame["datetime"])}
    parts = {
        name: out.loc[out["split"] == name, "datetime"].map(position) for name in ("train", "val", "test")
    }
    assert parts["val"].min() - parts["train"].max() - 1 == 60
    assert parts["test"].min() - parts["val"].max() - 1 == 60
    assert ctx.checks["purge_period_rows"] == 120 and ctx.checks["label_overlap_purged"] == 0


def test_splits_share_no_timestamps() -> None:
    """No bar appears in two splits, and each split is in time order."""
    out, _ = _split({"MES": _labelled(make_bars(3000, seed=5))})["MES"]
    groups = [set(out.loc[out["split"] == name, "datetime"]) for name in ("train", "val", "test")]
    assert not (groups[0] & groups[1]) and not (groups[1] & groups[2]) and not (groups[0] & groups[2])
    assert out["datetime"].is_monotonic_increasing


def test_no_label_reaches_into_the_next_split() -> None:
    """Every train row's label_end is at or before val's first bar opens; likewise val and test."""
    out, _ = _split({"MES": _labelled(make_bars(3000, seed=5))})["MES"]
    by = {name: out.loc[out["split"] == name] for name in ("train", "val", "test")}
    assert by["train"]["label_end"].max() <= by["val"]["datetime"].min()
    assert by["val"]["label_end"].max() <= by["test"]["datetime"].min()


def test_too_few_rows_for_the_splits_fail() -> None:
    """A union shorter than the two purge periods cannot be planned."""
    with pytest.raises(PlanError, match="too few"):
        make_plan(np.arange(100, dtype=np.int64) * MINUTE, (0.7, 0.15, 0.15), 60 * MINUTE)


def test_splits_need_the_runs_plan() -> None:
    """Without a plan the stage fails with a clear reason."""
    with pytest.raises(StageError, match="no split plan"):
        splits(_labelled(make_bars(600)), _ctx("splits"))
