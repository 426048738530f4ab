"""The `load` and `clean` stages: canonical bars in, clean bars at the run's timeframe out.

Resampling is done with numpy ``reduceat`` over the sorted bars rather than ``DataFrame.resample``:
only bins that hold at least one bar exist (no empty bars are invented, so nothing has to be dropped
again) and 2M rows aggregate in a few tens of milliseconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading_pipeline.schema import BAR_COLUMNS, PRICE_COLUMNS, REQUIRED_COLUMNS
from trading_pipeline.stages.base import StageContext

__all__ = ["clean", "load", "resample_bars", "session_mask", "valid_rows"]

INVALID_FLAG = "invalid"
"""A boolean column a validator may add; rows where it is true are dropped by `clean`."""


def load(_frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Bars of one symbol from the data source, checked against the canonical contract."""
    if ctx.loader is None:
        ctx.fail("no data loader configured")
    frame, ctx.inputs = ctx.loader.load_with_lineage(ctx.symbol)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        ctx.fail(f"the source returned no {', '.join(missing)} column")
    if frame.empty:
        ctx.fail("the source holds no bars for this symbol")
    frame = frame.copy(deep=False)  # copy-on-write: our column changes never reach the loader's frame
    if "volume" not in frame.columns:
        frame["volume"] = np.nan
    dt = frame["datetime"]
    if not isinstance(dt.dtype, pd.DatetimeTZDtype):
        ctx.fail(f"datetime must be tz-aware UTC, got {dt.dtype}")
    frame["datetime"] = dt.dt.tz_convert("UTC").dt.as_unit("ns")
    for column in (*PRICE_COLUMNS, "volume"):
        frame[column] = frame[column].astype("float64")
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


def resample_bars(frame: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """OHLCV bars aggregated into ``timeframe`` bins aligned to the Unix epoch (UTC), labelled by open.

    First open, max high, min low, last close, summed volume (null when every bar of the bin has none).
    Bins are epoch-aligned so a bin's edges never depend on where the data happens to start.
    """
    step = int(pd.Timedelta(timeframe).value)
    ns = frame["datetime"].to_numpy("datetime64[ns]").astype("int64")
    keys = ns // step * step
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:] - 1, len(keys) - 1]
    volume = frame["volume"].to_numpy("float64")
    present = ~np.isnan(volume)
    summed = np.add.reduceat(np.where(present, volume, 0.0), starts)
    counts = np.add.reduceat(present.astype(np.int64), starts)
    return pd.DataFrame(
        {
            "datetime": pd.to_datetime(keys[starts], utc=True).as_unit("ns"),
            "open": frame["open"].to_numpy("float64")[starts],
            "high": np.maximum.reduceat(frame["high"].to_numpy("float64"), starts),
            "low": np.minimum.reduceat(frame["low"].to_numpy("float64"), starts),
            "close": frame["close"].to_numpy("float64")[ends],
            "volume": np.where(counts > 0, summed, np.nan),
        }
    )


def clean(frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Drop invalid rows, keep the session, resample; extras are dropped (features use OHLCV only)."""
    cfg = ctx.config
    ok = valid_rows(frame)
    ctx.checks["invalid_rows_dropped"] = int((~ok).sum())
    out = frame[list(BAR_COLUMNS)] if ok.all() else frame.loc[ok, list(BAR_COLUMNS)]
    ctx.checks["extra_columns_dropped"] = sorted(set(frame.columns) - set(BAR_COLUMNS) - {INVALID_FLAG})
    if cfg.session:
        keep = session_mask(out["datetime"], cfg.session, cfg.session_tz)
        ctx.checks["outside_session_dropped"] = int((~keep).sum())
        out = out.loc[keep]
    native = native_interval(out["datetime"])
    ctx.checks["input_interval"] = str(native)
    if cfg.timeframe:
        target = pd.Timedelta(cfg.timeframe)
        if native > target:
            ctx.fail(f"cannot resample {native} bars to the shorter timeframe {cfg.timeframe}")
        if native > pd.Timedelta(0) and target.value % native.value:
            ctx.fail(f"timeframe {cfg.timeframe} is not a whole multiple of the {native} input bars")
        if target > native:
            out = resample_bars(out, cfg.timeframe)
    if out.empty:
        ctx.fail("no bars left after cleaning")
    ctx.checks["rows"] = len(out)
    return out.reset_index(drop=True)
