"""The embedded Redis `pipeline up` runs: loopback only, persistent, discoverable, never two at once."""

from __future__ import annotations

import pytest
import redis

from jobqueue.connect import resolve_url
from stack.embedded_redis import EmbeddedRedis
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_starts_publishes_its_url_and_stops(settings: Settings) -> None:
    """A running server answers PING and is findable through the data folder; stopping removes both."""
    server = EmbeddedRedis(settings)
    url = server.start()
    try:
        assert redis.Redis.from_url(url).ping()
        assert resolve_url(settings) == url
        assert url.startswith("redis://127.0.0.1:")
    finally:
        server.stop()
    assert server.proc is not None and server.proc.returncode is not None
    assert resolve_url(settings) is None


def test_data_survives_a_restart(settings: Settings) -> None:
    """The append-only file under data/state/redis keeps queued work across restarts."""
    with EmbeddedRedis(settings) as first:
        redis.Redis.from_url(first.url).rpush("rq:queue:ingest", b"job-1")
    assert (settings.redis_dir / "appendonly.aof").exists()
    with EmbeddedRedis(settings) as second:
        assert redis.Redis.from_url(second.url).lrange("rq:queue:ingest", 0, -1) == [b"job-1"]


def test_an_explicit_redis_url_wins(settings: Settings) -> None:
    """With REDIS_URL set, that is the Redis every command uses."""
    chosen = settings.replace(redis_url="redis://example:6379/2")
    assert resolve_url(chosen) == "redis://example:6379/2"


def test_a_stale_server_is_shut_down_before_a_new_one_starts(settings: Settings) -> None:
    """Two servers appending to one AOF would corrupt it: a leftover from a killed `up` is stopped."""
    stale = EmbeddedRedis(settings)
    stale.start()
    try:
        fresh = EmbeddedRedis(settings)
        fresh.start()
        try:
            assert stale.proc is not None
            assert stale.proc.wait(10) == 0
            assert redis.Redis.from_url(fresh.url).ping()
        finally:
            fresh.stop()
    finally:
        stale.stop()
