"""The `labels` stage: what a model predicts from bar t, and when that answer is known.

A label at bar t looks forward from the close of bar t. A horizon of ``h`` bars ends at the close of bar
t+h; a horizon given as a duration ``H`` ends at the instant ``close_t + H``, priced by the last close at
or before it. A label whose window crosses a break (see ``stages.gaps``) is dropped and counted, never
stretched over the missing time; so are the last rows, whose window runs past the data. A row is kept
only when every horizon has a label, so no label is NaN. ``label_end`` is when the row's longest label
is known: the splits purge on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_pipeline.stages.base import StageContext
from trading_pipeline.stages.config import Horizon, RunConfig, horizon_name, horizon_ns
from trading_pipeline.stages.features import GAP_FLAG
from trading_pipeline.stages.gaps import segments

__all__ = ["CLASS_NAMES", "LABEL_END", "Targets", "label_columns", "labels", "targets"]

CLASS_NAMES: dict[int, str] = {-1: "down", 0: "flat", 1: "up"}
LABEL_END = "label_end"


def label_columns(config: RunConfig) -> list[str]:
    return [name for h in config.horizons for name in (f"fwd_ret_{h}", f"label_{h}")]


@dataclass
class Targets:
    """Per row, for one horizon: the bar whose close prices the label, whether that is allowed, when
    it is known, and how many bars the horizon is (for the volatility band)."""

    row: np.ndarray
    valid: np.ndarray
    trailing: np.ndarray
    end_ns: np.ndarray
    steps: float


def targets(open_ns: np.ndarray, close_ns: np.ndarray, gap_before: np.ndarray, horizon: Horizon) -> Targets:
    """Where the horizon's window of every row ends, and whether it crosses a break or the data's end."""
    n = len(open_ns)
    index = np.arange(n)
    segment = segments(gap_before)
    bar_ns = int(close_ns[0] - open_ns[0]) if n else 1
    if isinstance(horizon, int):
        row = np.minimum(index + horizon, n - 1)
        trailing = index + horizon >= n
        valid = ~trailing & (segment[row] == segment)
        return Targets(row, valid, trailing, close_ns[row], float(horizon))
    span = horizon_ns(horizon, bar_ns)
    end = close_ns + span
    row = np.searchsorted(close_ns, end, side="right") - 1
    trailing = end > close_ns[-1] if n else np.zeros(0, bool)
    # The price at `end` is the last close before it; if the next bar opens after a break, the window
    # reaches into that break even though no bar inside it was missed.
    after = np.minimum(row + 1, n - 1)
    into_break = (close_ns[row] < end) & gap_before[after] & (row + 1 < n)
    valid = ~trailing & (segment[row] == segment) & ~into_break
    return Targets(row, valid, trailing, end, span / bar_ns)


def _rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The kept rows; a slice (no copy) when they are one run from the top, as on gapless data."""
    count = int(keep.sum())
    if keep[:count].all():
        return frame.iloc[:count].reset_index(drop=True)
    return frame.loc[keep].reset_index(drop=True)


def labels(frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Forward log returns and up/flat/down classes with a flat band of ``k * vol_t * sqrt(bars)``."""
    cfg = ctx.config
    vol_column = f"vol_{cfg.vol_window}"
    for needed in (vol_column, "close_time", GAP_FLAG):
        if needed not in frame.columns:
            ctx.fail(f"needs the {needed} column; run the clean and features stages first")
    open_ns = frame["datetime"].to_numpy("datetime64[ns]").astype("int64")
    close_ns = frame["close_time"].to_numpy("datetime64[ns]").astype("int64")
    bar_ns = int(close_ns[0] - open_ns[0])
    for h in cfg.horizons:
        if isinstance(h, str) and horizon_ns(h, bar_ns) % bar_ns:
            ctx.fail(f"horizon {h} is not a whole multiple of the {pd.Timedelta(bar_ns, 'ns')} bars")
    log_close = np.log(frame["close"].to_numpy("float64"))
    vol = frame[vol_column].to_numpy("float64")
    gap_before = frame[GAP_FLAG].to_numpy(bool)
    keep = np.ones(len(frame), dtype=bool)
    trailing = np.zeros(len(frame), dtype=bool)
    end_ns = close_ns.copy()
    new: dict[str, np.ndarray] = {}
    crossing: dict[str, int] = {}
    for h in cfg.horizons:
        target = targets(open_ns, close_ns, gap_before, h)
        forward = log_close[target.row] - log_close
        band = cfg.label_threshold * vol * math.sqrt(target.steps)
        new[f"fwd_ret_{horizon_name(h)}"] = forward
        new[f"label_{horizon_name(h)}"] = (forward > band).astype(np.int8) - (forward < -band).astype(np.int8)
        crossing[f"label_{horizon_name(h)}"] = int((~target.valid & ~target.trailing).sum())
        keep &= target.valid
        trailing |= target.trailing
        end_ns = np.maximum(end_ns, target.end_ns)
    if not keep.any():
        why = "the data is too short or too broken"
        if ctx.sessions is not None:  # a label never crosses a session's end: a horizon must fit in one
            why += (
                "; with a session calendar every horizon must fit inside one session (use shorter horizons)"
            )
        ctx.fail(f"no row of {len(frame)} has every horizon's label: {why}")
    columns = pd.DataFrame(new, index=frame.index, copy=False)
    columns[LABEL_END] = pd.DatetimeIndex(end_ns.view("datetime64[ns]"), tz="UTC")
    out = _rows(pd.concat([frame, columns], axis=1), keep)
    ctx.checks["trailing_rows_dropped"] = int((trailing & ~keep).sum())
    ctx.checks["crossing_break_dropped"] = int((~keep & ~trailing).sum())
    ctx.checks["crossing_break_by_label"] = crossing
    ctx.checks["rows"] = len(out)
    return out
