"""`pipeline db`: versioned migrations on both backends, a lossless copy from SQLite to PostgreSQL, and
paths stored relative to the data folder."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import drop_csv
from testkit.postgres import ThrowawayPostgres
from trading_pipeline.dbadmin import copy_database, migrate_all, schema_state
from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.sources import DataSourceRepository, FileDataSource
from trading_pipeline.stages import build_config
from trading_pipeline.stages.runs import create_run, list_runs


def _fill(settings: Settings, tmp_path: Path, files: int = 6) -> None:
    """Real ingests (rows and outputs), a rejection, a second source and an active-source choice."""
    for i in range(files):
        drop_csv(settings.raw_dir, f"SYM{chr(65 + i)}_1m.csv", rows=50, seed=i)
        DataIngestor(settings).ingest(settings.raw_dir / f"SYM{chr(65 + i)}_1m.csv", IngestOptions(tz="UTC"))
    (settings.raw_dir / "BAD_1m.csv").write_text("not,a,bar,file\n1,2,3,4\n")
    DataIngestor(settings).ingest(settings.raw_dir / "BAD_1m.csv")
    repo = DataSourceRepository(settings)
    other = tmp_path / "vendor"
    other.mkdir()
    repo.register_source("vendor", FileDataSource("vendor", other))
    repo.set_active_source("vendor")


def test_migrate_twice_is_a_no_op(db_settings: Settings) -> None:
    """The first run creates every store's schema; the second applies nothing and changes nothing."""
    first = migrate_all(db_settings)
    assert [s.version for s in first] == [s.latest for s in first]
    again = migrate_all(db_settings)
    assert all(s.applied == () for s in again)
    assert all(s.current for s in schema_state(db_settings))


def test_paths_inside_the_data_folder_are_stored_relative(db_settings: Settings, tmp_path: Path) -> None:
    """Hosts that mount the share at different paths read the same rows as their own paths."""
    path, _, _ = drop_csv(db_settings.raw_dir, "MES_1m.csv", rows=50)
    DataIngestor(db_settings).ingest(path)
    with Ledger(db_settings).db.read() as conn:
        stored = conn.execute("SELECT path FROM files").fetchone()[0]
        output = conn.execute("SELECT output FROM outputs").fetchone()[0]
    assert stored == "raw/MES_1m.csv" and output.startswith("processed/default/MES/")
    mounted = tmp_path / "srv" / "share" / "data"  # the same share, seen by another host
    shutil.copytree(db_settings.data_dir, mounted)
    elsewhere = db_settings.replace(data_dir=mounted)
    (record,) = Ledger(elsewhere).files()
    assert record.path == f"{mounted}/raw/MES_1m.csv"
    assert Ledger(elsewhere).outputs("default")[0].output.startswith(f"{mounted}/processed/")


def test_an_old_ledger_with_absolute_paths_is_upgraded(settings: Settings) -> None:
    """A ledger written before versioned migrations (absolute paths, no schema_version) is upgraded
    in place when opened: its rows keep their ids and read back with the same paths."""
    path, sha, _ = drop_csv(settings.raw_dir, "MES_1m.csv", rows=50)
    DataIngestor(settings).ingest(path)
    conn = sqlite3.connect(settings.ledger_path)
    prefix = f"{settings.data_dir}/"
    conn.execute("UPDATE files SET path=? || path", (prefix,))
    conn.execute("UPDATE outputs SET output=? || output", (prefix,))
    conn.execute("DROP TABLE schema_version")
    conn.commit()
    conn.close()
    ledger = Ledger(settings)
    assert ledger.get("default", str(path), sha) is not None
    with ledger.db.read() as db:
        assert db.execute("SELECT path FROM files").fetchone()[0] == "raw/MES_1m.csv"


@pytest.mark.postgres
def test_copy_from_sqlite_to_postgresql_loses_no_row(
    settings: Settings, tmp_path: Path, postgres_server: ThrowawayPostgres
) -> None:
    """`pipeline db copy` moves every row (ids kept, outputs attached), and new rows follow on."""
    _fill(settings, tmp_path)
    run_id = create_run(settings, build_config(symbols="SYMA"), mode="rq").run_id
    url = postgres_server.new_database()
    script = Path(sys.executable).with_name("pipeline")
    env = {"PATH": str(script.parent), "PIPELINE_DATA_DIR": str(settings.data_dir)}
    run = subprocess.run(
        [str(script), "db", "copy", "--from", f"sqlite://{settings.data_dir}", "--to", url, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    counts = json.loads(run.stdout)["tables"]
    before = Ledger(settings).files()
    assert counts == {
        "sources": 2,
        "repository_state": 1,
        "files": len(before),
        "outputs": 6,
        "builds": 0,
        "runs": 1,
    }
    on_pg = settings.replace(database_url=url)
    after = Ledger(on_pg).files()
    assert [(r.id, r.path, r.status, r.symbols) for r in after] == [
        (r.id, r.path, r.status, r.symbols) for r in before
    ]
    assert DataSourceRepository(on_pg).active_source_id() == "vendor"
    assert [r.run_id for r in list_runs(on_pg)] == [run_id]
    drop_csv(settings.raw_dir, "NQ_1m.csv", rows=50, seed=99)
    new = DataIngestor(on_pg).ingest(settings.raw_dir / "NQ_1m.csv", IngestOptions(tz="UTC"))
    assert new.status == "ingested", new.reason()
    with pytest.raises(UsageError, match="already holds rows"):
        copy_database(f"sqlite://{settings.data_dir}", url, settings.data_dir)
