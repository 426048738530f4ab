"""Fixtures for the watcher: an in-process daemon with real observers against the session's Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from testkit import RunningDaemon, ThrowawayRedis, make_settings
from trading_pipeline.settings import Settings


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


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    """A private Redis that a test may stop and restart (the session's one is shared)."""
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()
