"""DatabaseDataSource against a real PostgreSQL server started by the fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.errors import ConflictingBarsError, SourceError, UsageError
from trading_pipeline.settings import Settings
from trading_pipeline.sources import (
    DatabaseDataSource,
    DataSourceRepository,
    PipelineDataLoader,
    SymbolNotFoundError,
)

pytestmark = pytest.mark.postgres

Insert = Callable[[str, pd.DataFrame], None]


@pytest.fixture
def db_source(postgres_dsn: str, pg_table: str, settings: Settings) -> DatabaseDataSource:
    return DatabaseDataSource("warehouse", dsn=postgres_dsn, table=pg_table, settings=settings)


def test_load_symbol_returns_canonical_bars(db_source: DatabaseDataSource, pg_insert: Insert) -> None:
    """Rows come back in time order as UTC ns timestamps and float64 prices."""
    bars = make_bars(50)
    pg_insert("MES", bars.iloc[::-1])
    loaded = db_source.load_symbol("MES")
    assert str(loaded["datetime"].dtype) == "datetime64[ns, UTC]"
    assert list(loaded.columns[:6]) == ["datetime", "open", "high", "low", "close", "volume"]
    assert loaded["close"].tolist() == bars["close"].tolist()
    assert loaded["datetime"].tolist() == bars["datetime"].tolist()


def test_metadata_per_symbol(db_source: DatabaseDataSource, pg_insert: Insert) -> None:
    """Symbols, rows and ranges come from one aggregate query."""
    pg_insert("MES", make_bars(30))
    pg_insert("MGC", make_bars(20, start="2024-02-01"))
    meta = db_source.get_metadata()
    assert meta.symbols == ["MES", "MGC"] and meta.row_count == 50 and meta.validated
    assert meta.symbol_info["MGC"].start == pd.Timestamp("2024-02-01", tz="UTC").isoformat()
    assert "vwap" in meta.columns


def test_preview_limits_rows(db_source: DatabaseDataSource, pg_insert: Insert) -> None:
    """preview returns only the first rows."""
    pg_insert("MES", make_bars(30))
    assert len(db_source.preview("MES", 4)) == 4


def test_unknown_symbol(db_source: DatabaseDataSource, pg_insert: Insert) -> None:
    """A symbol not in the table lists the ones that are."""
    pg_insert("MES", make_bars(3))
    with pytest.raises(SymbolNotFoundError, match="available: MES"):
        db_source.load_symbol("ZZZ")


def test_conflicting_duplicate_rows_raise(db_source: DatabaseDataSource, pg_insert: Insert) -> None:
    """Two different rows for one bar are a conflict, identical repeats merge."""
    bars = make_bars(5)
    pg_insert("MES", bars)
    pg_insert("MES", bars.iloc[:2])
    assert len(db_source.load_symbol("MES")) == 5
    changed = bars.iloc[[3]].copy()
    changed["close"] += 1
    pg_insert("MES", changed)
    with pytest.raises(ConflictingBarsError):
        db_source.load_symbol("MES")


def test_missing_table_fails_validation(postgres_dsn: str, settings: Settings) -> None:
    """A table that does not exist is a validation error, not a crash."""
    ok, errors = DatabaseDataSource(
        "w", dsn=postgres_dsn, table="no_such_table", settings=settings
    ).validate()
    assert not ok and "no_such_table" in errors[0]


def test_unreachable_server_is_a_source_error(settings: Settings) -> None:
    """A server that is down gives a SourceError naming the source."""
    source = DatabaseDataSource("w", dsn="host=127.0.0.1 port=1 user=x dbname=x", settings=settings)
    with pytest.raises(SourceError, match="'w'"):
        source.load_symbol("MES")


def test_password_in_dsn_is_refused(settings: Settings) -> None:
    """Registration would store the DSN, so one holding a password fails validation."""
    ok, errors = DatabaseDataSource("w", dsn="host=db user=u password=secret dbname=d").validate()
    assert not ok and "dsn_env" in errors[0]


def test_bad_table_name_is_a_usage_error() -> None:
    """Table names are identifiers, never SQL."""
    with pytest.raises(UsageError):
        DatabaseDataSource("w", dsn="host=db", table="bars; DROP TABLE x")


def test_registered_database_source_works_through_the_loader(
    postgres_dsn: str, pg_table: str, pg_insert: Insert, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registered with dsn_env, the source is rebuilt from the repository and loads through the loader."""
    monkeypatch.setenv("WAREHOUSE_DSN", postgres_dsn)
    pg_insert("MES", make_bars(12))
    repo = DataSourceRepository(settings)
    repo.register_source(
        "warehouse", DatabaseDataSource("warehouse", dsn_env="WAREHOUSE_DSN", table=pg_table)
    )
    # What is on disk: the database and its write-ahead log (recent commits stay there until a checkpoint).
    files = [Path(repo.path), Path(f"{repo.path}-wal")]
    on_disk = b"".join(p.read_bytes() for p in files if p.exists()).decode(errors="replace")
    assert "WAREHOUSE_DSN" in on_disk
    assert postgres_dsn not in on_disk
    loader = PipelineDataLoader(settings=settings, source_id="warehouse")
    assert len(loader.load_symbol_data("MES")) == 12
    assert loader.input_files("MES") == []
    assert "warehouse" in repo.list_sources()
    assert "warehouse" not in {sid for sid, _, _ in repo.watched_directories()}


@pytest.mark.integration
def test_cli_shows_and_previews_a_database_source(
    postgres_dsn: str,
    pg_table: str,
    pg_insert: Insert,
    settings: Settings,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`pipeline sources show/preview` work for a database source with no CLI change."""
    import json
    import subprocess

    monkeypatch.setenv("WAREHOUSE_DSN", postgres_dsn)
    pg_insert("MES", make_bars(8))
    env = {**cli_env, "WAREHOUSE_DSN": postgres_dsn}
    repo = DataSourceRepository(settings)
    repo.register_source(
        "warehouse", DatabaseDataSource("warehouse", dsn_env="WAREHOUSE_DSN", table=pg_table)
    )
    shown = subprocess.run(
        ["pipeline", "sources", "show", "warehouse", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["symbol_info"]["MES"]["rows"] == 8
    preview = subprocess.run(
        ["pipeline", "sources", "preview", "warehouse", "MES", "--rows", "2", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert preview.returncode == 0, preview.stderr
    rows = json.loads(preview.stdout)["rows"]
    assert len(rows) == 2 and rows[0]["vwap"] is None
