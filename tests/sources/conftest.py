"""Fixtures for the data-source tests: hand-stored bars, real ingest when available, a private PostgreSQL."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from stack.embedded_redis import free_port
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
    Ledger(settings.ledger_path).record_report(report, size=path.stat().st_size if path.is_file() else 1000)
    return report


def reject_file(
    settings: Settings, source_id: str, path: str, reason: str, *, sha256: str = "f" * 64
) -> None:
    """Record a rejection in the ledger as ingest would."""
    from trading_pipeline.report import Finding

    report = FileReport(path=path, status="rejected", sha256=sha256, source_id=source_id)
    report.add(Finding("ohlc", reason))
    Ledger(settings.ledger_path).record_report(report)


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


# --- PostgreSQL ----------------------------------------------------------------------------------
def _pg_bin_dir() -> Path | None:
    """The newest installed server's bin folder (Debian layout), else the folder of initdb on PATH."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in Path(path).parts[4].split(".") if part.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def _as_postgres_user() -> tuple[list[str], int | None, int | None]:
    """PostgreSQL refuses to run as root: as root, run its tools as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and no 'postgres' system user to run the PostgreSQL server as")
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


def _start_postgres(bin_dir: Path, workdir: Path, prefix: list[str], port: int) -> str:
    data = workdir / "data"
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(workdir / "log"),
            "-o",
            opts,
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return f"host=127.0.0.1 port={port} user=postgres dbname=postgres"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A private PostgreSQL server on a free port in a temp folder, for this test session.

    Skips only when no server binary exists. If starting fails, ``PIPELINE_TEST_POSTGRES_DSN`` may name
    a server to use instead; otherwise the test fails with the server's log.
    """
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binary (initdb/pg_ctl) found; install the postgresql package")
    prefix, uid, gid = _as_postgres_user()
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-pg-"))
    if uid is not None and gid is not None:
        os.chown(workdir, uid, gid)
    try:
        dsn = _start_postgres(bin_dir, workdir, prefix, free_port())
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        fallback = os.environ.get("PIPELINE_TEST_POSTGRES_DSN")
        log = (workdir / "log").read_text() if (workdir / "log").exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
        if fallback:
            yield fallback
            return
        detail = getattr(exc, "stderr", b"") or b""
        pytest.fail(f"could not start PostgreSQL from {bin_dir}: {detail.decode(errors='replace')}\n{log}")
    _wait_ready(dsn)
    try:
        yield dsn
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(workdir / "data"), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_ready(dsn: str) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


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
