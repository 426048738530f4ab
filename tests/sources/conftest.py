"""Fixtures for the data-source tests: hand-stored bars, real ingest when available, a private PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from testkit.postgres import ThrowawayPostgres
from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport, SymbolResult
from trading_pipeline.schema import conform
from trading_pipeline.settings import Settings
from trading_pipeline.store import BarStore

StoreBars = Callable[..., FileReport]


def store_bars(
    settings: Settings,
    source_id: str,
    path: Path | str,
    bars: dict[str, pd.DataFrame],
    *,
    sha256: str | None = None,
) -> FileReport:
    """Record ``bars`` as if ingest had stored the input ``path``: Parquet in the store plus a ledger row."""
    path = Path(path)
    if sha256 is None:
        content = path.read_bytes() if path.is_file() else str(path).encode() + uuid.uuid4().bytes
        sha256 = hashlib.sha256(content).hexdigest()
    store = BarStore(settings.processed_dir)
    symbols = {}
    for symbol, frame in bars.items():
        table = conform(pa.Table.from_pandas(frame, preserve_index=False))
        out = store.write(table, store.path_for(source_id, symbol, sha256))
        times = frame["datetime"]
        symbols[symbol] = SymbolResult(
            len(frame), times.min().to_pydatetime(), times.max().to_pydatetime(), str(out)
        )
    report = FileReport(
        path=str(path), status="ingested", symbols=symbols, sha256=sha256, source_id=source_id
    )
    Ledger(settings).record_report(report, size=path.stat().st_size if path.is_file() else 1000)
    return report


def reject_file(
    settings: Settings, source_id: str, path: str, reason: str, *, sha256: str = "f" * 64
) -> None:
    """Record a rejection in the ledger as ingest would."""
    from trading_pipeline.report import Finding

    report = FileReport(path=path, status="rejected", sha256=sha256, source_id=source_id)
    report.add(Finding("ohlc", reason))
    Ledger(settings).record_report(report)


@pytest.fixture
def stored(settings: Settings) -> StoreBars:
    """``stored(source_id, path, {SYMBOL: bars})`` stores bars as ingest would."""

    def _store(source_id: str, path: Path | str, bars: dict[str, pd.DataFrame], **kw: str) -> FileReport:
        return store_bars(settings, source_id, path, bars, **kw)

    return _store


@pytest.fixture
def rejected(settings: Settings) -> Callable[..., None]:
    """``rejected(source_id, path, reason)`` records a rejection as ingest would."""

    def _reject(source_id: str, path: str, reason: str, **kw: str) -> None:
        reject_file(settings, source_id, path, reason, **kw)

    return _reject


@pytest.fixture
def ingest(settings: Settings) -> Callable[..., FileReport]:
    """``ingest(path, source_id, **options)``: the real DataIngestor."""

    def _ingest(path: Path, source_id: str, **options: str) -> FileReport:
        return ingest_file(settings, path, source_id, **options)

    return _ingest


def ingest_file(settings: Settings, path: Path, source_id: str, **options: str) -> FileReport:
    """Ingest ``path`` with the real DataIngestor into ``source_id``."""
    from trading_pipeline.ingest.ingestor import DataIngestor
    from trading_pipeline.ingest.options import IngestOptions

    opts = IngestOptions(source_id=source_id, **options)  # type: ignore[arg-type]
    return DataIngestor(settings).ingest(path, opts)


# --- PostgreSQL (the server itself is tests/conftest.py's ``postgres_server``) ---------------------
@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: ThrowawayPostgres) -> str:
    """libpq keywords of the session's private PostgreSQL server."""
    return postgres_server.dsn


@pytest.fixture
def pg_table(postgres_dsn: str) -> Iterator[str]:
    """A fresh, empty bars table (canonical columns plus symbol and vwap), dropped afterwards."""
    import psycopg

    name = f"bars_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {name} (symbol text NOT NULL, datetime timestamptz NOT NULL, open float8 NOT NULL,"
            " high float8 NOT NULL, low float8 NOT NULL, close float8 NOT NULL, volume float8, vwap float8)"
        )
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
def pg_insert(postgres_dsn: str, pg_table: str) -> Callable[[str, pd.DataFrame], None]:
    """``pg_insert(symbol, bars)`` adds bars to this test's table."""

    def _insert(symbol: str, bars: pd.DataFrame) -> None:
        insert_bars(postgres_dsn, pg_table, symbol, bars)

    return _insert


def insert_bars(dsn: str, table: str, symbol: str, bars: pd.DataFrame) -> None:
    import psycopg

    rows = [
        (symbol, r.datetime.to_pydatetime(), r.open, r.high, r.low, r.close, r.volume)
        for r in bars.itertuples(index=False)
    ]
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} (symbol, datetime, open, high, low, close, volume)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
