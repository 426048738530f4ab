"""Synthetic futures contract chains with known rolls, spreads and ratios (tests and benchmarks).

Every contract's bars sit exactly on the product's CME Globex sessions. Prices follow one random walk
``P`` (on the tick grid); contract k trades at ``P + spreads[k]`` (``mode="difference"``) or
``P * factors[k]`` (``mode="ratio"``), so the adjustment a builder must find is known in advance.
Volume: contract k prints ``high`` per bar from the session where it overtakes k-1 (``crossings``) until
k+1 overtakes it, ``low`` otherwise; open interest follows ``oi_crossings`` the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from trading_pipeline.futures.calendar import session_calendar
from trading_pipeline.futures.symbols import parse_contract

__all__ = ["make_chain"]

VolumeFn = Callable[[int, dt.date], float]


def make_chain(
    symbols: Sequence[str] = ("MESH25", "MESM25", "MESU25"),
    *,
    start: str = "2024-12-02",
    interval: str = "1h",
    mode: str = "difference",
    spreads: Sequence[float] = (0.0, 20.0, 45.0),
    factors: Sequence[float] = (1.0, 1.004, 1.009),
    crossings: Sequence[str | None] | None = None,
    oi_crossings: Sequence[str | None] | None = None,
    volume_fn: VolumeFn | None = None,
    price: float = 5000.0,
    seed: int = 0,
    high: float = 1000.0,
    low: float = 50.0,
    lifetime_days: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Bars per symbol. ``crossings[k]``: the trade date whose volume first shows contract k+1 above k
    (None: never, so a volume rule falls back to the calendar). ``lifetime_days``: each contract trades
    only that many days before its last trade (default: from ``start``)."""
    contracts = [parse_contract(s) for s in symbols]
    root = contracts[0].root
    tick = contracts[0].product.tick
    step = int(pd.Timedelta(interval).value)
    sessions = session_calendar(root).sessions(dt.date.fromisoformat(start), contracts[-1].last_trade)
    starts, ends, owner = sessions.windows()
    stamps = np.concatenate(
        [np.arange(a, b, step, dtype=np.int64) for a, b in zip(starts, ends, strict=True)]
    )
    trade = sessions.trade_date[owner[np.searchsorted(starts, stamps, side="right") - 1]]
    rng = np.random.default_rng(seed)
    walk = price + np.cumsum(rng.integers(-4, 5, size=len(stamps))) * tick
    cross = list(crossings or [None] * (len(contracts) - 1))
    oi_cross = list(oi_crossings or cross)
    out: dict[str, pd.DataFrame] = {}
    for k, (symbol, contract) in enumerate(zip(symbols, contracts, strict=True)):
        alive = trade <= np.datetime64(contract.last_trade, "D")
        if lifetime_days is not None:
            alive &= trade > np.datetime64(contract.last_trade - dt.timedelta(days=lifetime_days), "D")
        base = walk[alive] + spreads[k] if mode == "difference" else walk[alive] * factors[k]
        days = trade[alive]
        volume = _front(days, k, cross, high, low)
        if volume_fn is not None:
            volume = np.array([volume_fn(k, dt.date.fromisoformat(str(d))) for d in days], dtype="float64")
        out[symbol] = pd.DataFrame(
            {
                "datetime": pd.to_datetime(stamps[alive], utc=True),
                "open": base,
                "high": base + tick,
                "low": base - tick,
                "close": base,
                "volume": volume,
                "open_interest": _front(days, k, oi_cross, high * 100, low * 100),
            }
        )
    return out


def _front(days: np.ndarray, k: int, cross: list[str | None], high: float, low: float) -> np.ndarray:
    """``high`` while contract k leads (from its predecessor's crossing until its own), else ``low``."""
    far = np.datetime64("2100-01-01", "D")
    before = cross[k - 1] if k > 0 else "1970-01-01"
    begin = np.datetime64(before, "D") if before else far
    after = cross[k] if k < len(cross) else None
    end = np.datetime64(after, "D") if after else far
    return np.where((days >= begin) & (days < end), high, low).astype("float64")
