"""The `load` and `clean` stages: canonical bars in, clean bars at the run's timeframe out.

Resampling is done with numpy ``reduceat`` over the sorted bars rather than ``DataFrame.resample``:
only bins that hold at least one bar exist (no empty bars are invented, so nothing has to be dropped
again) and 2M rows aggregate in a few tens of milliseconds. Clean bars carry ``close_time`` (when the
bar's values are known) and ``gap_before`` (the bar follows a break, see ``stages.gaps``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trading_pipeline.schema import BAR_COLUMNS, PRICE_COLUMNS, REQUIRED_COLUMNS
from trading_pipeline.stages.base import StageContext
from trading_pipeline.stages.config import RunConfig
from trading_pipeline.stages.gaps import SessionBoundaries, breaks
from trading_pipeline.stages.ticks import MAX_LISTED, bad_tick_mask

__all__ = [
    "BAD_TICK_FLAG",
    "bin_coverage",
    "clean",
    "load",
    "resample_bars",
    "session_day_coverage",
    "session_mask",
    "valid_rows",
]

INVALID_FLAG = "invalid"
"""A boolean column a validator may add; rows where it is true are dropped by `clean`."""
DAY_NS = 86_400 * 1_000_000_000
BAD_TICK_FLAG = "bad_tick"
"""With ``bad_ticks = "flag"``, bad ticks stay in the data and this column marks them (and their bins)."""


def load(_frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Bars of one symbol from the data source, checked against the canonical contract."""
    if ctx.loader is None:
        ctx.fail("no data loader configured")
    frame, ctx.inputs = ctx.loader.load_with_lineage(ctx.symbol)
    frame = conform_loaded(frame, ctx)
    if frame.empty:
        ctx.fail("the source holds no bars for this symbol")
    if not frame["datetime"].is_monotonic_increasing:
        frame = frame.sort_values("datetime", kind="stable", ignore_index=True)
    # Sorted, so a duplicate is a zero step: one pass instead of hashing every timestamp.
    duplicated = int((np.diff(frame["datetime"].array.asi8) == 0).sum())
    if duplicated:
        ctx.fail(f"{duplicated} duplicate timestamps in the source bars")
    ctx.checks.update(
        rows=len(frame), start=str(frame["datetime"].iloc[0]), end=str(frame["datetime"].iloc[-1])
    )
    return frame.reset_index(drop=True)


def conform_loaded(frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Bars as the source gave them (all, or one batch) in the canonical types: UTC ns, float64."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        ctx.fail(f"the source returned no {', '.join(missing)} column")
    frame = frame.copy(deep=False)  # copy-on-write: our column changes never reach the loader's frame
    if "volume" not in frame.columns:
        frame["volume"] = np.nan
    dt = frame["datetime"]
    if not isinstance(dt.dtype, pd.DatetimeTZDtype):
        ctx.fail(f"datetime must be tz-aware UTC, got {dt.dtype}")
    frame["datetime"] = dt.dt.tz_convert("UTC").dt.as_unit("ns")
    for column in (*PRICE_COLUMNS, "volume"):
        frame[column] = frame[column].astype("float64")
    return frame


def valid_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows a model may see: finite positive prices, a consistent high/low range, no validator flag."""
    o, h, lo, c = (frame[col].to_numpy("float64") for col in PRICE_COLUMNS)
    with np.errstate(invalid="ignore"):
        ok: np.ndarray = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & (lo > 0)
        ok &= (h >= np.maximum(o, c)) & (lo <= np.minimum(o, c))
        volume = frame["volume"].to_numpy("float64")
        ok &= ~(volume < 0)
    if INVALID_FLAG in frame.columns:
        ok &= ~frame[INVALID_FLAG].fillna(False).to_numpy(bool)
    return ok


def session_mask(times: pd.Series, session: str, tz: str) -> np.ndarray:
    """True for bars whose open time falls in [start, end) local time; start > end wraps midnight."""
    local = times.dt.tz_convert(tz)
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    start = int(session[:2]) * 60 + int(session[3:5])
    end = int(session[6:8]) * 60 + int(session[9:11])
    inside: np.ndarray = (
        (minute >= start) & (minute < end) if start < end else (minute >= start) | (minute < end)
    )
    return inside


def native_interval(times: pd.Series) -> pd.Timedelta:
    """The typical spacing of the bars (the median gap), robust to weekends and holes."""
    if len(times) < 2:
        return pd.Timedelta(0)
    return pd.Timedelta(int(np.median(np.diff(times.to_numpy("datetime64[ns]").astype("int64")))), "ns")


def _bins(
    open_ns: np.ndarray, step: int, day_keys: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epoch-aligned bin keys of sorted bar opens, and the first and last row of each bin.

    ``day_keys``: each bar's trading day (a session calendar's) to bin by instead of the UTC day.
    """
    keys = day_keys if day_keys is not None else open_ns // step * step
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:] - 1, len(keys) - 1]
    return keys[starts], starts, ends


def resample_bars(frame: pd.DataFrame, timeframe: str, day_keys: np.ndarray | None = None) -> pd.DataFrame:
    """OHLCV bars aggregated into ``timeframe`` bins aligned to the Unix epoch (UTC), labelled by open.

    First open, max high, min low, last close, summed volume (null when every bar of the bin has none).
    Bins are epoch-aligned so a bin's edges never depend on where the data happens to start.
    """
    step = int(pd.Timedelta(timeframe).value)
    keys, starts, ends = _bins(frame["datetime"].to_numpy("datetime64[ns]").astype("int64"), step, day_keys)
    volume = frame["volume"].to_numpy("float64")
    present = ~np.isnan(volume)
    summed = np.add.reduceat(np.where(present, volume, 0.0), starts)
    counts = np.add.reduceat(present.astype(np.int64), starts)
    return pd.DataFrame(
        {
            "datetime": pd.to_datetime(keys, utc=True).as_unit("ns"),
            "open": frame["open"].to_numpy("float64")[starts],
            "high": np.maximum.reduceat(frame["high"].to_numpy("float64"), starts),
            "low": np.minimum.reduceat(frame["low"].to_numpy("float64"), starts),
            "close": frame["close"].to_numpy("float64")[ends],
            "volume": np.where(counts > 0, summed, np.nan),
        }
    )


def bin_coverage(
    open_ns: np.ndarray,
    native_ns: int,
    step: int,
    gap_before: np.ndarray,
    *,
    at_start: bool = True,
    break_after: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(complete, bar_minutes) per bin of ``step`` over native bars ``native_ns`` apart.

    A bin is partial when the data, a break or a session boundary cuts it: its first bar opens after
    the bin starts and a break (or the start of the data) comes right before that bar, or its last
    bar closes before the bin ends and a break (or the end of the data) follows. Quiet minutes
    inside a bin (no bar, but no break either) do not make it partial: an illiquid contract that
    did not trade for three minutes still covered the hour. ``bar_minutes`` is the minutes of data.

    A part of the bars (whole bins, in order) is judged alike: ``at_start`` says whether its first
    bar is the first of the data, ``break_after`` whether a break (or the end) follows its last bar.
    """
    keys, starts, ends = _bins(open_ns, step)
    follows_break = np.r_[gap_before[1:], break_after]
    late_start = (open_ns[starts] > keys) & (gap_before[starts] | ((starts == 0) & at_start))
    early_end = (open_ns[ends] + native_ns < keys + step) & follows_break[ends]
    minutes = (ends - starts + 1) * (native_ns / 60e9)
    return ~(late_start | early_end), minutes


def session_day_coverage(
    open_ns: np.ndarray, native_ns: int, day_keys: np.ndarray, sessions: SessionBoundaries
) -> tuple[np.ndarray, np.ndarray]:
    """(complete, bar_minutes) per trading-day bin: only the data's first and last day can be cut
    (the data starts after that session opened, or ends before it closed); a closure inside a trading
    day is the day's shape, not a cut."""
    _, starts, ends = _bins(open_ns, DAY_NS, day_keys)
    session_open, session_close = sessions.session_span(open_ns)
    complete = np.ones(len(starts), dtype=bool)
    if len(starts):
        complete[0] &= bool(open_ns[starts[0]] <= session_open[starts[0]])
        complete[-1] &= bool(open_ns[ends[-1]] + native_ns >= session_close[ends[-1]])
    return complete, (ends - starts + 1) * (native_ns / 60e9)


def _resample(out: pd.DataFrame, ctx: StageContext, native_ns: int, gap_before: np.ndarray) -> pd.DataFrame:
    """Resample to the run's timeframe, dropping (or flagging) bins that a break or an edge cuts."""
    bars, complete, minutes = resample_part(out, ctx.config, native_ns, gap_before, sessions=ctx.sessions)
    return partial_bins(bars, complete, minutes, ctx)


def resample_part(
    out: pd.DataFrame,
    cfg: RunConfig,
    native_ns: int,
    gap_before: np.ndarray,
    *,
    at_start: bool = True,
    break_after: bool = True,
    sessions: SessionBoundaries | None = None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Bars of whole bins resampled, with each bin's completeness and minutes (see ``bin_coverage``).
    Daily bins follow the exchange's trade days when ``sessions`` is given."""
    assert cfg.timeframe is not None
    step = int(pd.Timedelta(cfg.timeframe).value)
    open_ns = out["datetime"].to_numpy("datetime64[ns]").astype("int64")
    sessions = sessions if step == DAY_NS else None
    day_keys = sessions.trade_day_ns(open_ns) if sessions is not None else None
    if day_keys is not None and sessions is not None:
        complete, minutes = session_day_coverage(open_ns, native_ns, day_keys, sessions)
    else:
        complete, minutes = bin_coverage(
            open_ns, native_ns, step, gap_before, at_start=at_start, break_after=break_after
        )
    bars = resample_bars(out, cfg.timeframe, day_keys)
    if BAD_TICK_FLAG in out.columns:
        _, starts, _ = _bins(open_ns, step, day_keys)
        bars[BAD_TICK_FLAG] = np.maximum.reduceat(out[BAD_TICK_FLAG].to_numpy(np.int8), starts).astype(bool)
    return bars, complete, minutes


def partial_bins(
    bars: pd.DataFrame, complete: np.ndarray, minutes: np.ndarray, ctx: StageContext
) -> pd.DataFrame:
    """Drop (or keep, marked) the bins a break or an edge cut, per the run's policy."""
    cfg = ctx.config
    partial = int((~complete).sum())
    ctx.checks["partial_bars"] = {"policy": cfg.partial_bars, "count": partial}
    if cfg.partial_bars == "keep":
        bars["bar_minutes"], bars["complete"] = minutes, complete
    elif partial:
        bars = bars.loc[complete].reset_index(drop=True)
    return bars


def _breaks(out: pd.DataFrame, ctx: StageContext, bar_ns: int) -> np.ndarray:
    open_ns = out["datetime"].to_numpy("datetime64[ns]").astype("int64")
    # A daily bar is a whole session: session boundaries would break between every pair of them.
    use = ctx.sessions is not None and bar_ns < DAY_NS
    extra = ctx.sessions.boundaries(ctx.symbol, open_ns) if use and ctx.sessions is not None else None
    return breaks(open_ns, open_ns + bar_ns, ctx.config.gap_ns(bar_ns), extra)


def listed_ticks(
    out: pd.DataFrame, bad: np.ndarray, reference: np.ndarray, room: int
) -> list[dict[str, Any]]:
    """The first ``room`` bad ticks of ``out`` as run.json lists them."""
    rows = np.flatnonzero(bad)[:room]
    times = out["datetime"].to_numpy("datetime64[ns]")[rows]
    closes = out["close"].to_numpy("float64")[rows]
    return [
        {"time": str(pd.Timestamp(t, tz="UTC")), "close": float(c), "reference": round(float(r), 10)}
        for t, c, r in zip(times, closes, reference[rows], strict=True)
    ]


def report_ticks(ctx: StageContext, count: int, listed: list[dict[str, Any]]) -> None:
    cfg = ctx.config
    ctx.checks["bad_ticks"] = {"policy": cfg.bad_ticks, "count": count, "listed": listed}
    if count:
        done = "dropped" if cfg.bad_ticks == "drop" else "flagged in the bad_tick column"
        ctx.warn(f"{count} bad tick{'s' if count > 1 else ''} {done}, first at {listed[0]['time']}")


def apply_ticks(out: pd.DataFrame, bad: np.ndarray, policy: str) -> pd.DataFrame:
    """Drop the bad ticks, or keep them flagged in ``bad_tick``."""
    if policy == "flag":
        return out.assign(**{BAD_TICK_FLAG: bad})
    return out.loc[~bad].reset_index(drop=True) if bad.any() else out


def _bad_ticks(out: pd.DataFrame, ctx: StageContext, native_ns: int) -> pd.DataFrame:
    """Find bad ticks; drop or flag them per the run's policy, and list each in the checks."""
    cfg = ctx.config
    if cfg.bad_ticks == "off":
        return out
    gap_before = _breaks(out, ctx, native_ns)
    bad, reference = bad_tick_mask(out, gap_before, cfg.bad_tick_window, cfg.bad_tick_threshold)
    report_ticks(ctx, int(bad.sum()), listed_ticks(out, bad, reference, MAX_LISTED))
    return apply_ticks(out, bad, cfg.bad_ticks)


def clean(frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Drop invalid rows, keep the session, filter bad ticks, resample; mark close times and breaks."""
    cfg = ctx.config
    ok = valid_rows(frame)
    ctx.checks["invalid_rows_dropped"] = int((~ok).sum())
    out = frame[list(BAR_COLUMNS)] if ok.all() else frame.loc[ok, list(BAR_COLUMNS)]
    ctx.checks["extra_columns_dropped"] = sorted(set(frame.columns) - set(BAR_COLUMNS) - {INVALID_FLAG})
    if cfg.session:
        keep = session_mask(out["datetime"], cfg.session, cfg.session_tz)
        ctx.checks["outside_session_dropped"] = int((~keep).sum())
        out = out.loc[keep]
    out = out.reset_index(drop=True)
    if len(out) < 2:
        ctx.fail(f"{len(out)} bars left after dropping invalid rows and the session: need at least 2")
    native = native_interval(out["datetime"])
    ctx.checks["input_interval"] = str(native)
    bar = target_bar(native, ctx)
    out = _bad_ticks(out, ctx, native.value)
    if bar > native:
        out = _resample(out, ctx, native.value, _breaks(out, ctx, native.value))
    elif cfg.partial_bars == "keep":
        out = out.assign(bar_minutes=native.value / 60e9, complete=True)
    return finish_clean(out, ctx, bar)


def target_bar(native: pd.Timedelta, ctx: StageContext) -> pd.Timedelta:
    """The run's bar size over input bars ``native`` apart; fails when it cannot be made from them."""
    cfg = ctx.config
    if not cfg.timeframe:
        return native
    target = pd.Timedelta(cfg.timeframe)
    if native > target:
        ctx.fail(f"cannot resample {native} bars to the shorter timeframe {cfg.timeframe}")
    if target.value % native.value:
        ctx.fail(f"timeframe {cfg.timeframe} is not a whole multiple of the {native} input bars")
    return target


def finish_clean(out: pd.DataFrame, ctx: StageContext, bar: pd.Timedelta) -> pd.DataFrame:
    """Clean bars at the run's timeframe: close times, breaks and the stage's closing checks."""
    cfg = ctx.config
    if out.empty:
        ctx.fail("no bars left after cleaning")
    out["close_time"] = out["datetime"] + bar
    out["gap_before"] = _breaks(out, ctx, bar.value)
    gap = cfg.gap_ns(bar.value)
    ctx.checks["bar_interval"] = str(bar)
    ctx.checks["max_gap"] = "none" if gap is None else str(pd.Timedelta(gap, "ns"))
    ctx.checks["breaks"] = int(out["gap_before"].sum())
    ctx.checks["rows"] = len(out)
    return out
