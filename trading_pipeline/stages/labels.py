"""The `labels` and `splits` stages: what a model predicts, and which rows it may learn from.

A label at bar t looks forward from the close of bar t to the close of bar t+h. The last max(h) rows
cannot be labelled and are dropped, so labels never hold NaN. Splits are chronological with a purge gap
of max(h) bars between them, so no training label reaches into the validation period (and likewise
validation into test).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trading_pipeline.stages.base import StageContext
from trading_pipeline.stages.config import RunConfig

__all__ = ["CLASS_NAMES", "SPLIT_NAMES", "label_columns", "labels", "split_sizes", "splits"]

CLASS_NAMES: dict[int, str] = {-1: "down", 0: "flat", 1: "up"}
SPLIT_NAMES: tuple[str, str, str] = ("train", "val", "test")


def label_columns(config: RunConfig) -> list[str]:
    return [name for h in config.horizons for name in (f"fwd_ret_{h}", f"label_{h}")]


def labels(frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Forward log returns and up/flat/down classes with a flat band of ``k * vol_t * sqrt(h)``."""
    cfg = ctx.config
    vol_column = f"vol_{cfg.vol_window}"
    if vol_column not in frame.columns:
        ctx.fail(f"needs the {vol_column} feature; run the features stage first")
    log_close = np.log(frame["close"].to_numpy("float64"))
    vol = frame[vol_column].to_numpy("float64")
    n_keep = len(frame) - max(cfg.horizons)
    if n_keep <= 0:
        ctx.fail(f"{len(frame)} rows cannot be labelled {max(cfg.horizons)} bars ahead")
    new: dict[str, np.ndarray] = {}
    for h in cfg.horizons:
        forward = log_close[h : h + n_keep] - log_close[:n_keep]
        band = cfg.label_threshold * vol[:n_keep] * math.sqrt(h)
        new[f"fwd_ret_{h}"] = forward
        new[f"label_{h}"] = (forward > band).astype(np.int8) - (forward < -band).astype(np.int8)
    # Adding columns one by one to a copy costs a full consolidation; one concat of a slice does not.
    out = pd.concat([frame.iloc[:n_keep], pd.DataFrame(new, index=frame.index[:n_keep])], axis=1)
    ctx.checks["trailing_rows_dropped"] = len(frame) - n_keep
    ctx.checks["distribution"] = {f"label_{h}": _shares(out[f"label_{h}"]) for h in cfg.horizons}
    for h in cfg.horizons:
        _check_distribution(ctx, f"label_{h}", ctx.checks["distribution"][f"label_{h}"], n_keep)
    ctx.checks["rows"] = n_keep
    return out.reset_index(drop=True)


def _shares(label: pd.Series) -> dict[str, float]:
    counts = np.bincount(label.to_numpy().astype(np.int64) + 1, minlength=3)
    return {name: round(float(counts[code + 1]) / len(label), 6) for code, name in CLASS_NAMES.items()}


def _check_distribution(ctx: StageContext, column: str, shares: dict[str, float], rows: int) -> None:
    minimum = ctx.config.min_class_share
    for name, share in shares.items():
        if share < minimum:
            spread = ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
            ctx.fail(
                f"{column}: class '{name}' is {share:.1%} of {rows:,} rows, below the minimum "
                f"{minimum:.1%} ({spread}); adjust label_threshold or min_class_share"
            )


def split_sizes(rows: int, ratios: tuple[float, float, float], gap: int) -> tuple[int, int, int]:
    """Rows in train, val and test once two purge gaps are set aside."""
    usable = rows - 2 * gap
    n_train = round(usable * ratios[0])
    n_val = round(usable * ratios[1])
    return n_train, n_val, usable - n_train - n_val


def splits(frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Tag rows train/val/test in time order and drop the purge gaps between them."""
    cfg = ctx.config
    gap = cfg.purge_bars
    sizes = split_sizes(len(frame), cfg.splits, gap)
    if min(sizes) < 1:
        ctx.fail(f"{len(frame)} rows are too few for splits {cfg.splits} with two purge gaps of {gap} bars")
    codes = np.full(len(frame), -1, dtype=np.int8)
    start = 0
    for code, (name, size) in enumerate(zip(SPLIT_NAMES, sizes, strict=True)):
        codes[start : start + size] = code
        times = frame["datetime"].iloc[[start, start + size - 1]]
        ctx.checks[name] = {"rows": size, "start": str(times.iloc[0]), "end": str(times.iloc[1])}
        start += size + gap
    keep = codes >= 0
    out = frame.loc[keep].reset_index(drop=True)
    out["split"] = pd.Categorical.from_codes(codes[keep], categories=pd.Index(SPLIT_NAMES))
    ctx.checks["purge_bars"] = gap
    ctx.checks["rows"] = len(out)
    return out
