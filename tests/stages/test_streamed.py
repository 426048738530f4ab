"""`load` and `clean` a batch at a time (runs that resample) equal the whole-frame stages exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.errors import StageError
from trading_pipeline.sources import InputFile
from trading_pipeline.stages import RunConfig, StageContext, clean, load
from trading_pipeline.stages.handover import read_frame
from trading_pipeline.stages.streamed import stream_clean, stream_load


class BatchLoader:
    """Gives the bars in slices of ``batch_rows``, as the stored source gives row groups."""

    source_id = "fake"

    def __init__(self, bars: pd.DataFrame) -> None:
        self.bars = bars

    def load_with_lineage(self, symbol: str) -> tuple[pd.DataFrame, list[InputFile]]:
        return self.bars.copy(), [InputFile(f"{symbol}.csv", "0" * 64)]

    def batches_with_lineage(
        self, symbol: str, batch_rows: int
    ) -> tuple[Iterator[pd.DataFrame], list[InputFile]]:
        parts = (self.bars.iloc[i : i + batch_rows].copy() for i in range(0, len(self.bars), batch_rows))
        return parts, [InputFile(f"{symbol}.csv", "0" * 64)]

    def get_available_symbols(self) -> list[str]:
        return ["MES"]


def _hostile_bars() -> pd.DataFrame:
    """A start inside a bin, a 10x print, an invalid bar, a 2-hour outage, a 3-minute hole, no volume."""
    bars = make_bars(1000, seed=7, start="2024-01-02 00:03")
    bars.loc[300, ["open", "high", "low", "close"]] *= 10
    bars.loc[500, "high"] = bars.loc[500, "low"] - 1
    bars.loc[800, "volume"] = np.nan
    drop = list(range(600, 720)) + list(range(750, 753)) + [997]
    return bars.drop(index=drop).reset_index(drop=True)


def _ctx(stage: str, loader: BatchLoader | None = None, **config: object) -> StageContext:
    return StageContext(symbol="MES", config=RunConfig.model_validate(config), stage=stage, loader=loader)


def _both(
    tmp_path: Path, bars: pd.DataFrame, batch_rows: int, **config: object
) -> tuple[tuple[pd.DataFrame, StageContext], tuple[pd.DataFrame, StageContext]]:
    loader = BatchLoader(bars)
    whole_load = load(pd.DataFrame(), _ctx("load", loader, **config))
    whole_ctx = _ctx("clean", **config)
    whole = clean(whole_load, whole_ctx)
    path = tmp_path / "load.arrow"
    load_ctx = _ctx("load", loader, **config)
    assert stream_load(load_ctx, path, batch_rows) == len(whole_load)
    assert read_frame(path).equals(whole_load)
    ctx = _ctx("clean", **config)
    streamed = stream_clean(path, ctx)
    assert streamed is not None and streamed[1] == len(whole_load)
    return (streamed[0], ctx), (whole, whole_ctx)


CASES = [
    {"timeframe": "5min"},
    {"timeframe": "15min", "bad_ticks": "flag", "partial_bars": "keep"},
    {"timeframe": "1h", "session": "08:30-15:15", "session_tz": "America/Chicago", "max_gap": "none"},
    {"timeframe": "5min", "bad_ticks": "off", "bad_tick_window": 5},
]


@pytest.mark.parametrize("batch_rows", [7, 100, 100_000])
@pytest.mark.parametrize("config", CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_streamed_clean_equals_the_whole_frame(
    tmp_path: Path, batch_rows: int, config: dict[str, object]
) -> None:
    """Bars, checks and warnings are identical whatever the batch size, with bins, the bad tick, the
    outage and partial bins falling on and across batch boundaries."""
    (streamed, ctx), (whole, whole_ctx) = _both(tmp_path, _hostile_bars(), batch_rows, **config)
    pd.testing.assert_frame_equal(streamed, whole, check_exact=True)
    assert ctx.checks == whole_ctx.checks and ctx.warnings == whole_ctx.warnings


def test_the_bad_tick_is_found_when_it_opens_a_batch(tmp_path: Path) -> None:
    """The 10x print is row 300: with 100-row batches it is the first row of one, judged by the carry."""
    (streamed, ctx), (whole, _) = _both(tmp_path, _hostile_bars(), 100, timeframe="5min")
    assert ctx.checks["bad_ticks"]["count"] == 1 and streamed.equals(whole)


def test_a_duplicate_across_a_batch_boundary_fails_like_the_whole_load(tmp_path: Path) -> None:
    """Row 10 repeats row 9's time, and a batch ends at row 9."""
    bars = make_bars(40)
    bars.loc[10, "datetime"] = bars.loc[9, "datetime"]
    with pytest.raises(StageError, match="1 duplicate timestamps"):
        stream_load(_ctx("load", BatchLoader(bars), timeframe="5min"), tmp_path / "load.arrow", 10)
    assert not (tmp_path / "load.arrow").exists()


def test_bars_out_of_order_fall_back_to_the_whole_frame_path(tmp_path: Path) -> None:
    """A step back in time across a boundary: no hand-over is left, the caller sorts in memory."""
    bars = make_bars(40)
    bars = pd.concat([bars.iloc[10:20], bars.iloc[:10], bars.iloc[20:]], ignore_index=True)
    ctx = _ctx("load", BatchLoader(bars), timeframe="5min")
    assert stream_load(ctx, tmp_path / "load.arrow", 10) is None
    assert not (tmp_path / "load.arrow").exists() and ctx.checks == {}


def test_a_timeframe_equal_to_the_input_runs_on_the_whole_frame(tmp_path: Path) -> None:
    """1-minute bars at --timeframe 1min are not resampled: the streamed path declines."""
    bars = make_bars(100)
    path = tmp_path / "load.arrow"
    assert stream_load(_ctx("load", BatchLoader(bars), timeframe="1min"), path, 30) == 100
    assert stream_clean(path, _ctx("clean", timeframe="1min")) is None
