"""Data sources as screens show them: metadata with its state in words, chart-ready bars, coverage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import DataSourceMetadata
from trading_pipeline.sources.repository import DataSourceRepository
from trading_pipeline.statuses import Tone

__all__ = [
    "CHART_POINTS",
    "SourceSummary",
    "coverage",
    "downsample_bars",
    "source_state",
    "source_summaries",
    "source_summary",
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


def source_summary(settings: Settings, source_id: str) -> SourceSummary:
    """One source; ``SourceNotFoundError`` for an unknown id."""
    repo = DataSourceRepository(settings)
    meta = repo.get_source(source_id).get_metadata()
    return SourceSummary(meta, repo.active_source_id() == source_id)


def downsample_bars(bars: pd.DataFrame, max_points: int = CHART_POINTS) -> pd.DataFrame:
    """At most ``max_points`` bars: consecutive bars merge into one (first open, highest high, lowest
    low, last close, summed volume), so the chart keeps every extreme while drawing few candles."""
    n = len(bars)
    if n <= max_points:
        return bars[["datetime", "open", "high", "low", "close", "volume"]].reset_index(drop=True)
    group = np.arange(n) // -(-n // max_points)
    cuts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[cuts[1:], n] - 1
    return pd.DataFrame(
        {
            "datetime": bars["datetime"].to_numpy()[cuts],
            "open": bars["open"].to_numpy()[cuts],
            "high": np.maximum.reduceat(bars["high"].to_numpy(), cuts),
            "low": np.minimum.reduceat(bars["low"].to_numpy(), cuts),
            "close": bars["close"].to_numpy()[ends],
            "volume": np.add.reduceat(bars["volume"].to_numpy(), cuts),
        }
    )


def coverage(bars: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day with bars: how many, and whether it is short (under half the median day: a gap)."""
    if bars.empty:
        return pd.DataFrame({"day": [], "bars": [], "gap": []})
    days = pd.Series(bars["datetime"].dt.floor("D").to_numpy()).value_counts().sort_index()
    typical = float(days.median())
    return pd.DataFrame(
        {"day": days.index, "bars": days.to_numpy(), "gap": days.to_numpy() < typical / 2}
    ).reset_index(drop=True)
