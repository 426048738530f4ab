"""The labels and splits stages: thresholds, the distribution check, ratios and purge gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.errors import StageError
from trading_pipeline.stages import RunConfig, StageContext, features, labels, split_sizes, splits


def _run(stage, frame: pd.DataFrame, **config: object) -> tuple[pd.DataFrame, StageContext]:
    ctx = StageContext(symbol="MES", config=RunConfig.model_validate(config), stage=stage.__name__)
    return stage(frame, ctx), ctx


def _labelled(n: int = 3000, **config: object) -> pd.DataFrame:
    featured, _ = _run(features, make_bars(n, seed=5), **config)
    out, _ = _run(labels, featured, **config)
    return out


def test_label_is_up_flat_or_down_against_a_volatility_band() -> None:
    """Up above +k*vol*sqrt(h), down below -k*vol*sqrt(h), flat in between."""
    frame = pd.DataFrame(
        {
            "datetime": pd.date_range("2024-01-02", periods=6, freq="1min", tz="UTC"),
            "close": np.exp([0.0, 0.03, -0.03, 0.0, 0.005, 0.0]),
            "vol_20": [0.02, 0.02, 0.02, 0.02, 0.02, 0.02],
        }
    )
    out, _ = _run(labels, frame, horizons="1", label_threshold=1.0, min_class_share=0)
    assert out["label_1"].tolist() == [1, -1, 1, 0, 0]
    assert out["fwd_ret_1"].iloc[0] == pytest.approx(0.03)


def test_trailing_rows_without_a_full_horizon_are_dropped() -> None:
    """The last max(horizon) rows go, so no label or forward return is NaN."""
    featured, _ = _run(features, make_bars(1000))
    out, ctx = _run(labels, featured, horizons="5,15,60")
    assert len(out) == len(featured) - 60 and ctx.checks["trailing_rows_dropped"] == 60
    assert not out.filter(like="_ret_").isna().any().any()
    assert out["label_60"].dtype == np.int8


def test_a_rare_class_fails_with_a_clear_message() -> None:
    """When a class is below min_class_share the stage fails naming label, class, share and minimum."""
    featured, _ = _run(features, make_bars(2000))
    with pytest.raises(StageError) as info:
        _run(labels, featured, min_class_share=0.45)
    message = str(info.value)
    assert "stage labels failed for MES" in message
    assert "below the minimum 45.0%" in message and "label_5: class" in message


def test_split_sizes_follow_the_ratios_after_the_gaps() -> None:
    """Rows minus two purge gaps are shared out 70/15/15."""
    assert split_sizes(1120, (0.7, 0.15, 0.15), 60) == (700, 150, 150)


def test_splits_are_chronological_with_a_purge_gap_of_max_horizon() -> None:
    """Exactly max(horizon) bars separate train from val and val from test."""
    frame = _labelled()
    out, ctx = _run(splits, frame)
    position = {ts: i for i, ts in enumerate(frame["datetime"])}
    parts = {
        name: out.loc[out["split"] == name, "datetime"].map(position) for name in ("train", "val", "test")
    }
    assert parts["val"].min() - parts["train"].max() - 1 == 60
    assert parts["test"].min() - parts["val"].max() - 1 == 60
    assert ctx.checks["purge_bars"] == 60


def test_splits_share_no_timestamps() -> None:
    """No bar appears in two splits, and each split is in time order."""
    out, _ = _run(splits, _labelled())
    groups = [set(out.loc[out["split"] == name, "datetime"]) for name in ("train", "val", "test")]
    assert not (groups[0] & groups[1]) and not (groups[1] & groups[2]) and not (groups[0] & groups[2])
    assert out["datetime"].is_monotonic_increasing


def test_training_labels_never_reach_into_validation() -> None:
    """The bar a train row's longest label ends on is before the first validation bar."""
    frame = _labelled()
    out, _ = _run(splits, frame)
    last_train = frame.index[frame["datetime"] == out.loc[out["split"] == "train", "datetime"].max()][0]
    first_val = frame.index[frame["datetime"] == out.loc[out["split"] == "val", "datetime"].min()][0]
    assert last_train + 60 < first_val


def test_too_few_rows_for_the_splits_fail() -> None:
    """A frame shorter than the two purge gaps cannot be split."""
    with pytest.raises(StageError, match="too few"):
        _run(splits, _labelled(200, min_class_share=0))
