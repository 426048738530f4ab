"""Fixtures for the research pipeline: synthetic bars stored as if ingested, and fake loaders."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from testkit import make_bars, write_bars_csv
from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport, SymbolResult
from trading_pipeline.schema import conform
from trading_pipeline.settings import Settings
from trading_pipeline.sources import InputFile
from trading_pipeline.store import BarStore

Ingest = Callable[[str, pd.DataFrame], Path]


def trending_bars(n: int, *, drift_ticks: float = 2.0, seed: int = 1, tick: float = 0.25) -> pd.DataFrame:
    """Random-walk bars plus a steady rise: 'down' labels become rare, so the distribution check fails."""
    bars = make_bars(n, seed=seed, tick=tick)
    rise = np.arange(n) * drift_ticks * tick
    for column in ("open", "high", "low", "close"):
        bars[column] = bars[column] + rise
    return bars


class FakeLoader:
    """A BarLoader over in-memory frames."""

    def __init__(self, frames: dict[str, pd.DataFrame], source_id: str = "fake") -> None:
        self.frames = frames
        self.source_id = source_id

    def load_with_lineage(self, symbol: str) -> tuple[pd.DataFrame, list[InputFile]]:
        return self.frames[symbol].copy(), [InputFile(f"{symbol}.csv", "0" * 64)]

    def get_available_symbols(self) -> list[str]:
        return sorted(self.frames)


def store_as_ingested(settings: Settings, csv_path: Path, symbol: str, bars: pd.DataFrame) -> None:
    """What `pipeline ingest` leaves behind: canonical Parquet in the store and an 'ingested' ledger row."""
    sha256 = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    store = BarStore(settings.processed_dir)
    table = conform(pa.Table.from_pandas(bars, preserve_index=False))
    output = store.write(table, store.path_for("default", symbol, sha256))
    start, end = bars["datetime"].iloc[0].to_pydatetime(), bars["datetime"].iloc[-1].to_pydatetime()
    report = FileReport(
        path=str(csv_path),
        status="ingested",
        profile="generic",
        interval="1min",
        symbols={symbol: SymbolResult(len(bars), start, end, str(output))},
        sha256=sha256,
        source_id="default",
    )
    Ledger(settings).record_report(report)


@pytest.fixture
def ingest(settings: Settings) -> Ingest:
    """Write bars as a CSV in data/raw and store them as ingest would; returns the CSV path."""

    def _ingest(symbol: str, bars: pd.DataFrame) -> Path:
        csv_path = write_bars_csv(settings.raw_dir / f"{symbol}_1m.csv", bars)
        store_as_ingested(settings, csv_path, symbol, bars)
        return csv_path

    return _ingest


@pytest.fixture
def trending() -> Callable[..., pd.DataFrame]:
    return trending_bars


@pytest.fixture
def fake_loader() -> type[FakeLoader]:
    return FakeLoader
