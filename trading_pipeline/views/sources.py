"""Data sources as screens show them: metadata with its state in words, chart-ready bars, coverage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import DataSourceMetadata
from trading_pipeline.sources.repository import DataSourceRepository
from trading_pipeline.sources.stored import StoredDataSource
from trading_pipeline.statuses import Tone
from trading_pipeline.store import BarStore

__all__ = [
    "CHART_POINTS",
    "ChartData",
    "SourceSummary",
    "chart_data",
    "coverage",
    "downsample_bars",
    "source_state",
    "source_summaries",
    "source_summary",
    "source_symbols",
    "symbol_times",
]

CHART_POINTS = 2_000
"""Candles a chart draws at most: more are merged into wider bars, so a 5M-row symbol stays quick."""


@dataclass(frozen=True)
class SourceSummary:
    """A source's metadata, whether it is the active one, and its state in words with a tone."""

    meta: DataSourceMetadata
    active: bool

    @property
    def state(self) -> tuple[Tone, str]:
        return source_state(self.meta)

    def to_json(self) -> dict[str, object]:
        return {**self.meta.to_json(), "active": self.active}


def source_state(meta: DataSourceMetadata) -> tuple[Tone, str]:
    """``ok``, ``2 pending``, ``ok, 1 file(s) with warnings`` or ``1 error(s)``, with how to show it."""
    if meta.validation_errors:
        return Tone.BAD, f"{len(meta.validation_errors)} error(s)"
    if meta.pending_files:
        return Tone.BUSY, f"{meta.pending_files} pending"
    if meta.warnings:
        return Tone.BUSY, f"ok, {len(meta.warnings)} file(s) with warnings"
    return Tone.GOOD, "ok"


def source_summaries(settings: Settings) -> list[SourceSummary]:
    """Every registered source (a broken one is listed with its error, never hides the others)."""
    repo = DataSourceRepository(settings)
    active = repo.active_source_id()
    return [SourceSummary(meta, meta.source_id == active) for meta in repo.list_sources().values()]


def source_symbols(settings: Settings) -> tuple[dict[str, list[str]], str]:
    """Every source's stored symbols (one query each, no metadata) and the active source's id: what a
    form choosing a source and its symbols needs."""
    repo = DataSourceRepository(settings)
    return {
        source.source_id: source.get_available_symbols() for source in repo.sources()
    }, repo.active_source_id()


def source_summary(settings: Settings, source_id: str) -> SourceSummary:
    """One source; ``SourceNotFoundError`` for an unknown id."""
    repo = DataSourceRepository(settings)
    meta = repo.get_source(source_id).get_metadata()
    return SourceSummary(meta, repo.active_source_id() == source_id)


OHLCV = ("datetime", "open", "high", "low", "close", "volume")
DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class ChartData:
    """What a symbol's chart needs: at most CHART_POINTS candles, bars per UTC day, the bar count."""

    candles: pd.DataFrame
    days: pd.DataFrame
    rows: int


def downsample_bars(bars: pd.DataFrame, max_points: int = CHART_POINTS) -> pd.DataFrame:
    """At most ``max_points`` bars: consecutive bars merge into one (first open, highest high, lowest
    low, last close, summed volume), so the chart keeps every extreme while drawing few candles."""
    times = pd.DatetimeIndex(bars["datetime"]).tz_convert("UTC").asi8
    return _candles(times, {c: bars[c].to_numpy(dtype="float64") for c in OHLCV[1:]}, max_points)


def coverage(bars: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day with bars: how many, and whether it is short (under half the median day: a gap)."""
    return _days(pd.DatetimeIndex(bars["datetime"]).tz_convert("UTC").asi8)


def chart_data(settings: Settings, source_id: str, symbol: str, max_points: int = CHART_POINTS) -> ChartData:
    """One symbol's chart without building a 5M-row frame: stored Parquet files are read as Arrow
    columns and merged by time in numpy (a later file wins a repeated time, as ``merge_bars`` does);
    only the candles become pandas. A source that stores no Parquet goes through ``load_symbol``."""
    columns = _stored_columns(settings, source_id, symbol, OHLCV)
    if columns is None:
        bars = DataSourceRepository(settings).get_source(source_id).load_symbol(symbol)
        return ChartData(downsample_bars(bars, max_points), coverage(bars), len(bars))
    times = columns.pop("datetime")
    return ChartData(_candles(times, columns, max_points), _days(times), len(times))


def symbol_times(settings: Settings, source_id: str, symbol: str) -> np.ndarray:
    """A symbol's bar open times (UTC ns, sorted, distinct), reading only that column when stored."""
    columns = _stored_columns(settings, source_id, symbol, ("datetime",))
    if columns is not None:
        return columns["datetime"]
    bars = DataSourceRepository(settings).get_source(source_id).load_symbol(symbol)
    return np.asarray(pd.DatetimeIndex(bars["datetime"]).tz_convert("UTC").asi8, dtype="int64")


def _stored_columns(
    settings: Settings, source_id: str, symbol: str, names: tuple[str, ...]
) -> dict[str, np.ndarray] | None:
    """``names`` of a stored symbol as numpy arrays in time order (times as UTC ns), None for a source
    that stores no Parquet; ``SymbolNotFoundError`` for a symbol it does not have."""
    source = DataSourceRepository(settings).get_source(source_id)
    if not isinstance(source, StoredDataSource):
        return None
    store = BarStore(settings.processed_dir)
    paths = [
        Path(rec.output) if rec.output else store.path_for(source_id, symbol, rec.sha256)
        for rec in source.ledger.outputs(source_id, symbol)
    ]
    if not paths:
        source.preview(symbol, 1)  # raises SymbolNotFoundError naming the symbols it has
    tables = [pq.read_table(path, columns=list(names)) for path in paths]
    out = {"datetime": np.concatenate([_ns(t.column("datetime")) for t in tables])}
    for name in names[1:]:
        out[name] = np.concatenate([t.column(name).to_numpy().astype("float64") for t in tables])
    if len(tables) > 1:
        order = np.argsort(out["datetime"], kind="stable")
        ordered = out["datetime"][order]
        keep = np.r_[ordered[1:] != ordered[:-1], True]  # the last, i.e. the newest file's, of each time
        out = {name: values[order][keep] for name, values in out.items()}
    return out


def _ns(column: pa.ChunkedArray) -> np.ndarray:
    utc_ns = column.combine_chunks().cast(pa.timestamp("ns", tz="UTC"))
    return np.asarray(utc_ns.cast(pa.int64()).to_numpy(), dtype="int64")


def _candles(times: np.ndarray, values: dict[str, np.ndarray], max_points: int) -> pd.DataFrame:
    n = len(times)
    if n <= max_points:
        cuts = ends = np.arange(n)
        merged = values
    else:
        group = np.arange(n) // -(-n // max_points)
        cuts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[cuts[1:], n] - 1
        merged = {
            "high": np.maximum.reduceat(values["high"], cuts),
            "low": np.minimum.reduceat(values["low"], cuts),
            "volume": np.add.reduceat(values["volume"], cuts),
        }
    return pd.DataFrame(
        {
            "datetime": pd.DatetimeIndex(times[cuts], tz="UTC"),
            "open": values["open"][cuts],
            "high": merged["high"] if n > max_points else values["high"],
            "low": merged["low"] if n > max_points else values["low"],
            "close": values["close"][ends],
            "volume": merged["volume"] if n > max_points else values["volume"],
        }
    )


def _days(times: np.ndarray) -> pd.DataFrame:
    if len(times) == 0:
        return pd.DataFrame({"day": pd.DatetimeIndex([], tz="UTC"), "bars": [], "gap": []})
    days, counts = np.unique(times // DAY_NS, return_counts=True)
    typical = float(np.median(counts))
    return pd.DataFrame(
        {"day": pd.DatetimeIndex(days * DAY_NS, tz="UTC"), "bars": counts, "gap": counts < typical / 2}
    )
