"""The audit a quant does before trusting a backtest, one finding per test (issue 16): each test failed
on the pipeline before the fix and passes now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from testkit import make_bars
from trading_pipeline.settings import Settings
from trading_pipeline.stages import (
    RunConfig,
    RunRecord,
    StageContext,
    build_config,
    clean,
    features,
    labels,
    run_dir,
    run_inline,
    start_run,
)

Ingest = Callable[[str, pd.DataFrame], Path]


def _run(settings: Settings, **flags: object) -> RunRecord:
    record = start_run(settings, build_config(**flags), queued=False)
    return run_inline(settings, record.run_id)


def _split(settings: Settings, record: RunRecord, symbol: str, name: str) -> pd.DataFrame:
    return pq.read_table(run_dir(settings, record.run_id) / symbol / f"{name}.parquet").to_pandas()


def _stages(bars: pd.DataFrame, *stages: Callable[..., pd.DataFrame], **config: object) -> StageContext:
    cfg = RunConfig.model_validate({"min_class_share": 0, **config})
    ctx = StageContext(symbol="MES", config=cfg)
    frame = bars
    for stage in stages:
        ctx = StageContext(symbol="MES", config=cfg, stage=stage.__name__)
        frame = stage(frame, ctx)
    ctx.checks["frame"] = frame
    return ctx


def test_symbols_with_different_coverage_share_one_set_of_split_instants(
    settings: Settings, ingest: Ingest
) -> None:
    """MGC starts later than MES: no symbol's train row is dated inside any symbol's val or test."""
    ingest("MES", make_bars(6000, seed=1))
    ingest("MGC", make_bars(3000, seed=2, start="2024-01-04 02:00"))
    record = _run(settings, symbols="MES,MGC")
    assert record.status == "succeeded" and record.split_plan is not None
    parts = {
        (s, name): _split(settings, record, s, name)["datetime"]
        for s in ("MES", "MGC")
        for name in ("train", "val", "test")
    }
    val_start = min(parts[(s, "val")].min() for s in ("MES", "MGC"))
    test_start = min(parts[(s, "test")].min() for s in ("MES", "MGC"))
    assert max(parts[(s, "train")].max() for s in ("MES", "MGC")) < val_start
    assert max(parts[(s, "val")].max() for s in ("MES", "MGC")) < test_start
    assert str(val_start) == record.split_plan.val.start and str(test_start) == record.split_plan.test.start


def test_a_symbol_that_cannot_fill_a_split_is_reported_not_recut(settings: Settings, ingest: Ingest) -> None:
    """MGC only exists in the run's test period: it gets no train rows and a warning says so."""
    ingest("MES", make_bars(6000, seed=1))
    ingest("MGC", make_bars(1200, seed=2, start="2024-01-06 06:00"))
    record = _run(settings, symbols="MES,MGC")
    mgc = record.symbols["MGC"]
    assert mgc.outputs["train"].rows == 0 and mgc.outputs["val"].rows == 0 and mgc.outputs["test"].rows > 0
    assert any("no rows in train" in w for w in mgc.warnings)


def test_the_class_share_check_reads_train_only(settings: Settings, ingest: Ingest) -> None:
    """A rise through the first 70 % and a fall after it: down labels are common overall but rare in
    train, so the run fails on train; the shares of every split and horizon are in run.json."""
    bars = make_bars(4000, seed=3)
    drift = np.where(
        np.arange(4000) < 2800, np.arange(4000) * 0.6, 2800 * 0.6 - (np.arange(4000) - 2800) * 2.0
    )
    for column in ("open", "high", "low", "close"):
        bars[column] = bars[column] + drift
    ingest("MES", bars)
    record = _run(settings, symbols="MES", min_class_share=0.05, horizons="60")
    assert record.failure is not None and record.failure.stage == "splits"
    assert "class 'down'" in record.failure.reason and "train rows" in record.failure.reason
    passing = _run(settings, symbols="MES", min_class_share=0.0, horizons="60")
    shares = passing.stage("MES", "splits").checks["class_shares"]
    assert isinstance(shares, dict)
    assert shares["train"]["label_60"]["down"] < 0.05 < shares["test"]["label_60"]["down"]


def _illiquid(n: int = 20000, missing: float = 0.3, seed: int = 4) -> pd.DataFrame:
    bars = make_bars(n, seed=seed)
    keep = np.random.default_rng(seed).uniform(size=n) >= missing
    return bars.loc[keep].reset_index(drop=True)


def test_duration_horizons_span_exactly_their_time_on_an_illiquid_contract() -> None:
    """30 % of minutes missing: 60 bars span far more than an hour, a 1h horizon exactly one hour."""
    ctx = _stages(_illiquid(), clean, features, labels, horizons="60,1h")
    out = ctx.checks["frame"]
    bar_span = out["label_end"] - out["close_time"]
    assert bar_span.median() > pd.Timedelta("80min")
    assert np.isfinite(out["fwd_ret_1h"]).all()
    assert (out["label_end"] - out["close_time"] >= pd.Timedelta("1h")).all()


def test_labels_crossing_a_long_gap_are_dropped_and_counted() -> None:
    """A 3-hour outage: no label window contains it, the dropped rows are counted, and the returns
    right after it are marked by bars_since_gap = 0."""
    bars = make_bars(3000, seed=6)
    outage = (bars.index >= 1500) & (bars.index < 1680)
    ctx = _stages(bars.loc[~outage].reset_index(drop=True), clean, features, labels, horizons="5,15,60")
    out = ctx.checks["frame"]
    hole_start, hole_end = bars["datetime"].iloc[1500], bars["datetime"].iloc[1680]
    assert not ((out["datetime"] < hole_start) & (out["label_end"] > hole_start)).any()
    assert ctx.checks["crossing_break_dropped"] == 60
    after = out.loc[out["datetime"] == hole_end]
    assert after["bars_since_gap"].iloc[0] == 0 and bool(after["gap_before"].iloc[0])


def _with_spike(bars: pd.DataFrame, row: int, factor: float = 10.0) -> pd.DataFrame:
    spiked = bars.copy()
    spiked.loc[row, ["open", "high", "low", "close"]] *= factor
    return spiked


def test_a_ten_times_bar_is_dropped_and_reported_with_time_and_value() -> None:
    """The 10x bar passes every consistency check, but clean drops it and lists it; labels before it
    are no longer forced up."""
    bars = make_bars(1000, seed=7)
    ctx = _stages(_with_spike(bars, 500), clean)
    report = ctx.checks["bad_ticks"]
    assert report["count"] == 1 and report["listed"][0]["time"] == str(bars["datetime"].iloc[500])
    assert report["listed"][0]["close"] == pytest.approx(bars["close"].iloc[500] * 10)
    assert bars["datetime"].iloc[500] not in set(ctx.checks["frame"]["datetime"])
    assert ctx.warnings and "bad tick" in ctx.warnings[0]
    out = _stages(_with_spike(bars, 500), clean, features, labels, horizons="5").checks["frame"]
    assert out["fwd_ret_5"].abs().max() < 0.05


def test_bad_ticks_can_be_flagged_instead_of_dropped() -> None:
    """bad_ticks = flag keeps the bar with bad_tick set; off leaves the data alone."""
    bars = _with_spike(make_bars(1000, seed=7), 500)
    flagged = _stages(bars, clean, bad_ticks="flag").checks["frame"]
    assert len(flagged) == 1000 and flagged["bad_tick"].sum() == 1 and flagged["bad_tick"].iloc[500]
    assert "bad_ticks" not in _stages(bars, clean, bad_ticks="off").checks


def test_genuine_moves_and_quiet_markets_are_not_bad_ticks() -> None:
    """A 3 % jump that trades through from the last close, a later level shift, and an illiquid
    contract whose closes rarely change: nothing is flagged."""
    bars = make_bars(2000, seed=8)
    for column in ("high", "close"):
        bars.loc[1000, column] = bars.loc[999, "close"] * 1.03
    for column in ("open", "high", "low", "close"):
        bars.loc[1001:, column] += bars.loc[1000, "close"] - bars.loc[999, "close"]
    assert _stages(bars, clean).checks["bad_ticks"]["count"] == 0
    quiet = make_bars(2000, seed=9)
    still = np.random.default_rng(9).uniform(size=2000) < 0.8
    quiet.loc[still, ["open", "high", "low", "close"]] = np.nan
    quiet[["open", "high", "low", "close"]] = quiet[["open", "high", "low", "close"]].ffill().bfill()
    assert _stages(quiet, clean).checks["bad_ticks"]["count"] == 0


def _session_bars(days: int = 5) -> pd.DataFrame:
    return make_bars(days * 1440, seed=10, start="2024-01-08")


def test_a_session_filter_on_hourly_bars_drops_the_partial_edge_hours() -> None:
    """08:30-15:15 Chicago on 1h bars: the 08:00 and 15:00 bins hold 30 and 15 minutes; dropped by
    default, kept with bar_minutes and complete = False on request."""
    config = {"session": "08:30-15:15", "session_tz": "America/Chicago", "timeframe": "1h"}
    ctx = _stages(_session_bars(), clean, **config)
    local = ctx.checks["frame"]["datetime"].dt.tz_convert("America/Chicago")
    assert set(local.dt.hour) == {9, 10, 11, 12, 13, 14}
    assert ctx.checks["partial_bars"] == {"policy": "drop", "count": 10}
    kept = _stages(_session_bars(), clean, partial_bars="keep", **config).checks["frame"]
    edges = kept.loc[~kept["complete"]]
    local = edges["datetime"].dt.tz_convert("America/Chicago").dt.hour
    assert set(local) == {8, 15} and set(edges["bar_minutes"]) == {30.0, 15.0}


def test_hourly_labels_with_a_session_never_span_the_night() -> None:
    """Every label of the session's 1h bars ends the same day it starts."""
    config = {"session": "08:30-15:15", "session_tz": "America/Chicago", "timeframe": "1h"}
    out = _stages(
        _session_bars(10),
        clean,
        features,
        labels,
        horizons="1,3",
        return_lookbacks="1,2",
        vol_window=3,
        atr_window=2,
        rsi_window=2,
        volume_window=3,
        **config,
    ).checks["frame"]
    start_day = out["datetime"].dt.tz_convert("America/Chicago").dt.date
    end_day = out["label_end"].dt.tz_convert("America/Chicago").dt.date
    assert len(out) > 0 and (start_day == end_day).all()


def test_a_file_ending_mid_bin_leaves_no_partial_last_bar() -> None:
    """Bars to 10:14: the 10:00 hourly bin holds 15 minutes and is dropped (or kept, marked)."""
    bars = make_bars(10 * 60 + 15, seed=11, start="2024-01-02")
    assert _stages(bars, clean, timeframe="1h").checks["frame"]["datetime"].iloc[-1].hour == 9
    kept = _stages(bars, clean, timeframe="1h", partial_bars="keep").checks["frame"]
    assert not kept["complete"].iloc[-1] and kept["bar_minutes"].iloc[-1] == 15.0
    assert kept["complete"].iloc[:-1].all()


def test_split_files_carry_close_time_and_run_json_states_the_time_basis(
    settings: Settings, ingest: Ingest
) -> None:
    """close_time = open + timeframe in every split file; run.json says days and times are UTC."""
    ingest("MES", make_bars(6000, seed=12))
    record = _run(settings, symbols="MES", timeframe="5min")
    for name in ("train", "val", "test"):
        part = _split(settings, record, "MES", name)
        assert (part["close_time"] - part["datetime"] == pd.Timedelta("5min")).all()
        assert (part["label_end"] >= part["close_time"]).all()
    assert record.config.calendar == "utc" and "UTC" in record.time_basis["time_of_day"]


def test_the_bad_tick_median_equals_pandas_rolling_median() -> None:
    """The candidate-only median is pandas' rolling median of the previous bars, bit for bit."""
    from trading_pipeline.stages.ticks import trailing_median

    values = np.random.default_rng(3).standard_normal(5000)
    values[np.random.default_rng(4).uniform(size=5000) < 0.4] = np.nan
    rows = np.arange(5000)
    expected = pd.Series(values).rolling(60, min_periods=30).median().to_numpy()
    expected = np.r_[np.nan, expected[:-1]]
    assert np.array_equal(trailing_median(values, 60, rows), expected, equal_nan=True)
