"""Test doubles shipped with the package (as structlog ships capture_logs): synthetic bars and files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["make_bars", "write_bars_csv"]


def make_bars(
    n: int = 100,
    *,
    start: str = "2024-01-02 00:00",
    freq: str = "1min",
    tz: str | None = "UTC",
    seed: int = 0,
    price: float = 5000.0,
    tick: float = 0.25,
) -> pd.DataFrame:
    """A random-walk OHLCV frame with valid bars: high >= max(open, close) >= min(open, close) >= low.

    ``tz=None`` gives naive timestamps (wall-clock time of a zone the caller has in mind).
    """
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=n, freq=freq, tz=tz)
    steps = rng.integers(-4, 5, size=n) * tick
    close = price + np.cumsum(steps)
    open_ = np.concatenate([[price], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 3, size=n) * tick
    low = np.minimum(open_, close) - rng.integers(0, 3, size=n) * tick
    volume = rng.integers(1, 500, size=n).astype("float64")
    return pd.DataFrame(
        {"datetime": times, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


def write_bars_csv(path: Path, bars: pd.DataFrame, *, datetime_format: str = "%Y-%m-%d %H:%M:%S") -> Path:
    """Write bars as a plain ``datetime,open,high,low,close,volume`` CSV (naive wall-clock times)."""
    out = bars.copy()
    out["datetime"] = out["datetime"].dt.strftime(datetime_format)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path
