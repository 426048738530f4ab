"""Shared fixtures: an isolated data folder, a real redis-server on a free port, the real sample files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from testkit import ThrowawayRedis
from testkit.postgres import PostgresUnavailable, ThrowawayPostgres
from trading_pipeline.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for this test session (never the machine's own Redis); yields its URL."""
    with ThrowawayRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The session's Redis, flushed before each test."""
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    yield redis_server
    client.flushall()


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the flushed test Redis (bytes responses, as RQ needs)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    """A private PostgreSQL server on a free port in a temp folder, for this test session.

    Skips only when no server binary exists; a server that fails to start fails the test with its log.
    """
    try:
        server = ThrowawayPostgres()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = server.log_path.read_text() if server.log_path.exists() else ""
        server.stop()
        detail = getattr(exc, "stderr", b"") or b""
        pytest.fail(f"could not start PostgreSQL: {detail.decode(errors='replace')}\n{log}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Each state test runs twice: SQLite in the data folder (None), and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def db_settings(data_dir: Path, database_url: str | None) -> Settings:
    """``settings`` on either backend (see ``database_url``)."""
    value = Settings.from_env({}, data_dir=data_dir, database_url=database_url)
    value.ensure_dirs()
    return value


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Settings pointing at an empty data folder; created directories included."""
    value = Settings.from_env({}, data_dir=data_dir)
    value.ensure_dirs()
    return value


@pytest.fixture
def cli_env(data_dir: Path) -> dict[str, str]:
    """Environment for running the real `pipeline` command in a subprocess against ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_") and k != "REDIS_URL"}
    env["PIPELINE_DATA_DIR"] = str(data_dir)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def real_data() -> Path:
    """The shared real sample files; tests that need them skip cleanly when ../shared is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real sample files not present at {REAL_DATA}")
    return REAL_DATA
