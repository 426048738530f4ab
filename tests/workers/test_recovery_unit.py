"""Telling a dead worker from a busy one (pure logic over fakeredis)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import fakeredis
import pytest

from pipeline.recovery import worker_is_dead


@pytest.fixture
def fake() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _register(fake: fakeredis.FakeRedis, name: str, pid: int, host: str | None = None, **extra: str) -> None:
    fake.hset(f"rq:worker:{name}", mapping={"pid": pid, "hostname": host or socket.gethostname(), **extra})


def test_a_worker_without_a_redis_key_is_dead(fake: fakeredis.FakeRedis) -> None:
    assert worker_is_dead(fake, "gone")


def test_a_worker_that_registered_its_death_is_dead(fake: fakeredis.FakeRedis) -> None:
    _register(fake, "w", os.getpid(), death="2026-01-01T00:00:00Z")
    assert worker_is_dead(fake, "w")


def test_a_live_local_worker_is_alive(fake: fakeredis.FakeRedis) -> None:
    _register(fake, "w", os.getpid())
    assert not worker_is_dead(fake, "w")


def test_a_local_worker_whose_process_is_gone_is_dead(fake: fakeredis.FakeRedis) -> None:
    _register(fake, "w", _dead_pid())
    assert worker_is_dead(fake, "w")


def test_an_orphaned_work_horse_still_running_keeps_the_job(fake: fakeredis.FakeRedis) -> None:
    """Only the parent was killed: its horse finishes the job by itself, so it must not run twice."""
    _register(fake, "w", _dead_pid())
    assert not worker_is_dead(fake, "w", horse_pid=os.getpid())


def test_a_worker_on_another_host_is_left_to_rq_heartbeats(fake: fakeredis.FakeRedis) -> None:
    _register(fake, "w", _dead_pid(), host="some-other-host")
    assert not worker_is_dead(fake, "w")


def test_an_unknown_worker_name_is_never_declared_dead(fake: fakeredis.FakeRedis) -> None:
    assert not worker_is_dead(fake, "")
