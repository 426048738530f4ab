"""Continuous series: contracts stitched at their rolls, back-adjusted to the newest one, with a roll log.

Adjustment is priced from both contracts' closes in the last bar both have before the roll's effective
open. ``difference`` adds the later spreads to every earlier bar (points and $ P&L stay true, percent
returns do not); ``ratio`` multiplies by the later ratios (percent returns stay true, the tick grid does
not) and refuses a non-positive price (CL in April 2020); ``none`` splices raw prices. Each bar keeps its
``contract`` and ``adjustment`` (the offset added, or the factor applied), so raw prices come back as
``price - adjustment`` or ``price / adjustment``.

The same inputs give byte-identical outputs: no wall-clock time is written, Parquet is written with
fixed options, JSON with sorted keys, both atomically (temp file, fsync, rename).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.durable import atomic_write_bytes
from trading_pipeline.errors import FuturesError, UsageError
from trading_pipeline.futures.calendar import session_calendar
from trading_pipeline.futures.chain import next_in_chain
from trading_pipeline.futures.roll import Roll, RollRule, decide_rolls
from trading_pipeline.futures.symbols import Contract

__all__ = ["ADJUSTMENTS", "ContinuousBuild", "build_continuous", "check_chain", "frame_sha256"]

ADJUSTMENTS = ("none", "difference", "ratio")
BAR_COLUMNS = ("datetime", "open", "high", "low", "close", "volume")
PRICES = ("open", "high", "low", "close")


@dataclass
class ContinuousBuild:
    root: str
    series: Path
    roll_log: Path
    rolls: list[dict[str, Any]]
    roll_log_sha256: str
    series_sha256: str
    rows: int

    def to_json(self) -> dict[str, Any]:
        """The ``pipeline continuous build --json`` shape: root, series, roll_log, rolls."""
        return {
            "root": self.root,
            "series": str(self.series),
            "roll_log": str(self.roll_log),
            "rolls": self.rolls,
        }


def frame_sha256(frame: pd.DataFrame) -> str:
    """A content hash of a contract's bars (canonical columns, time order) for the roll log."""
    digest = hashlib.sha256()
    for name in BAR_COLUMNS:
        if name in frame.columns:
            values = frame[name].to_numpy("datetime64[ns]" if name == "datetime" else "float64")
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def check_chain(contracts: list[Contract]) -> list[Contract]:
    """Contracts in expiry order, each the next of the one before in the product's roll cycle."""
    chain = sorted(set(contracts))
    if len(chain) < 2:
        raise FuturesError(f"a continuous series needs at least two contracts; found {len(chain)}")
    for a, b in itertools.pairwise(chain):
        expected = next_in_chain(a)
        if b != expected:
            raise FuturesError(
                f"contract {expected.code} is missing between {a.code} and {b.code}: ingest it, "
                f"or build from a source that holds every contract of the {a.product.roll_months} cycle"
            )
    return chain


def _price_pair(
    out_bars: pd.DataFrame, in_bars: pd.DataFrame, before_ns: int, roll: Roll
) -> tuple[int, float, float]:
    """(time, outgoing close, incoming close) of the last bar both contracts have before the roll."""
    a_ts = out_bars["datetime"].to_numpy("datetime64[ns]").astype(np.int64)
    b_ts = in_bars["datetime"].to_numpy("datetime64[ns]").astype(np.int64)
    a_ts, b_ts = a_ts[a_ts < before_ns], b_ts[b_ts < before_ns]
    # Both are sorted and unique: look each incoming stamp up among the outgoing ones.
    at = np.minimum(np.searchsorted(a_ts, b_ts), max(len(a_ts) - 1, 0))
    common = b_ts[a_ts[at] == b_ts] if len(a_ts) else b_ts[:0]
    if not len(common):
        raise FuturesError(
            f"{roll.outgoing.code} and {roll.incoming.code} share no bar before the roll on "
            f"{roll.effective}: the adjustment cannot be priced"
        )
    t = int(common[-1])
    close_a = float(out_bars["close"].to_numpy("float64")[int(np.searchsorted(a_ts, t))])
    close_b = float(in_bars["close"].to_numpy("float64")[int(np.searchsorted(b_ts, t))])
    return t, close_a, close_b


def _adjustments(rolls: list[Roll], bars: dict[Contract, pd.DataFrame], adjust: str) -> list[dict[str, Any]]:
    """Per roll: prices, gap, ratio, and the cumulative adjustment of the segment before it."""
    entries: list[dict[str, Any]] = []
    for roll in rolls:
        t, out_close, in_close = _price_pair(
            bars[roll.outgoing], bars[roll.incoming], roll.effective_ns, roll
        )
        if adjust == "ratio" and (out_close <= 0 or in_close <= 0):
            raise FuturesError(
                f"ratio adjustment needs positive prices: {roll.outgoing.code} closed {out_close:g} and "
                f"{roll.incoming.code} {in_close:g} at {pd.Timestamp(t, tz='UTC')}; use --adjust difference"
            )
        entry = roll.to_json()
        entry |= {
            "priced_at": pd.Timestamp(t, tz="UTC").isoformat(),
            "from_close": out_close,
            "to_close": in_close,
            "difference": in_close - out_close,
            "gap": in_close - out_close,
            "ratio": in_close / out_close if out_close > 0 and in_close > 0 else None,
        }
        entries.append(entry)
    # Backward-anchored: the newest contract is unadjusted; each earlier segment takes every later roll.
    cumulative = 1.0 if adjust == "ratio" else 0.0
    for entry in reversed(entries):
        if adjust == "ratio":
            cumulative *= entry["ratio"]
        elif adjust == "difference":
            cumulative += entry["difference"]
        entry["cumulative_adjustment"] = cumulative
    return entries


def _stitch(
    chain: list[Contract],
    bars: dict[Contract, pd.DataFrame],
    rolls: list[Roll],
    entries: list[dict[str, Any]],
    adjust: str,
) -> pd.DataFrame:
    bounds = [np.iinfo(np.int64).min, *(r.effective_ns for r in rolls), np.iinfo(np.int64).max]
    neutral = 1.0 if adjust == "ratio" else 0.0
    factors = [e["cumulative_adjustment"] if adjust != "none" else neutral for e in entries] + [neutral]
    parts = []
    for i, contract in enumerate(chain):
        frame = bars[contract]
        ts = frame["datetime"].to_numpy("datetime64[ns]").astype(np.int64)
        part = frame.loc[(ts >= bounds[i]) & (ts < bounds[i + 1]), list(BAR_COLUMNS)].copy()
        for name in PRICES:
            values = part[name].to_numpy("float64")
            part[name] = values * factors[i] if adjust == "ratio" else values + factors[i]
        part["contract"] = contract.code
        part["adjustment"] = factors[i]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return sink.getvalue()


def build_continuous(
    root: str,
    bars: dict[Contract, pd.DataFrame],
    out_dir: Path,
    *,
    rule: RollRule,
    adjust: str,
    source_id: str = "default",
    input_hashes: dict[str, list[str]] | None = None,
) -> ContinuousBuild:
    """Decide the rolls of ``bars`` (contract -> canonical bars), stitch, write series and roll log."""
    if adjust not in ADJUSTMENTS:
        raise UsageError(f"unknown adjustment {adjust!r}: use {', '.join(ADJUSTMENTS)}")
    chain = check_chain(list(bars))
    if any(c.root != root for c in chain):
        raise FuturesError(f"every contract must be of root {root}")
    first = min(pd.Timestamp(bars[c]["datetime"].iloc[0]).date() for c in chain) - dt.timedelta(days=3)
    last = chain[-1].last_trade + dt.timedelta(days=3)
    sessions = session_calendar(root).sessions(first, last)
    rolls = decide_rolls(chain, bars, sessions, rule)
    entries = _adjustments(rolls, bars, adjust)
    series = _stitch(chain, bars, rolls, entries, adjust)
    name = f"{root}_{rule.rule}_{adjust}"
    series_bytes = _parquet_bytes(series)
    series_sha = hashlib.sha256(series_bytes).hexdigest()
    log = {
        "root": root,
        "source": source_id,
        "rule": rule.rule,
        "oi_lag": rule.oi_lag if rule.rule == "oi" else None,
        "adjust": adjust,
        "anchor": "backward: the newest contract is unadjusted",
        "contracts": [
            {
                "contract": c.code,
                "last_trade": c.last_trade.isoformat(),
                "rows": len(bars[c]),
                "bars_sha256": frame_sha256(bars[c]),
                "input_files": (input_hashes or {}).get(c.code, []),
            }
            for c in chain
        ],
        "calendar": {
            "pandas_market_calendars": version("pandas_market_calendars"),
            "overrides_version": sessions.overrides_version,
        },
        "series_sha256": series_sha,
        "rolls": entries,
    }
    log_bytes = (json.dumps(log, indent=2, sort_keys=True) + "\n").encode()
    series_path, log_path = out_dir / f"{name}.parquet", out_dir / f"{name}.rolls.json"
    atomic_write_bytes(series_path, series_bytes)
    atomic_write_bytes(log_path, log_bytes)
    return ContinuousBuild(
        root,
        series_path,
        log_path,
        entries,
        hashlib.sha256(log_bytes).hexdigest(),
        series_sha,
        len(series),
    )
