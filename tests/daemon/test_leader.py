"""Exactly one daemon per data folder: a second one waits as a standby and takes over when the first dies.

Real `pipeline daemon` processes, a real Redis, and (parametrised) a real PostgreSQL for the advisory
lock; the Redis lease is used when the ledger is on SQLite."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from daemon.leader import RedisLease
from testkit import PipelineProcess, drop_csv, wait_for
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration

TAKEN = "daemon lock taken"
STANDBY = "standby: another daemon holds the lock"


@pytest.fixture
def daemons(
    db_settings: Settings, cli_env: dict[str, str], redis_url: str, tmp_path: Path
) -> Iterator[list[PipelineProcess]]:
    started: list[PipelineProcess] = []
    env = {**cli_env, "PIPELINE_REDIS_URL": redis_url, "PIPELINE_LOG_FORMAT": "json"}
    env["PIPELINE_QUIET_PERIOD_S"] = "0.3"
    if db_settings.database_url:
        env["PIPELINE_DATABASE_URL"] = db_settings.database_url
    for name in ("first", "second"):
        started.append(PipelineProcess(["daemon"], env, tmp_path / f"{name}.log"))
    yield started
    for proc in started:
        proc.kill()


def test_a_second_daemon_waits_and_takes_over_within_seconds(
    daemons: list[PipelineProcess], db_settings: Settings
) -> None:
    first, second = daemons
    first.start()
    wait_for(lambda: TAKEN in first.output(), timeout_s=60, what="the first daemon takes the lock")
    second.start()
    wait_for(lambda: STANDBY in second.output(), timeout_s=60, what="the second daemon waits")
    assert TAKEN not in second.output()
    first.kill()
    killed = time.monotonic()
    wait_for(lambda: TAKEN in second.output(), timeout_s=30, what="the standby takes over")
    took_s = time.monotonic() - killed
    assert took_s < (15 if db_settings.database_url is None else 5), took_s  # lease 10 s; PG at once
    path, sha, _ = drop_csv(db_settings.raw_dir, "MES_1m.csv", rows=50)
    wait_for(
        lambda: (
            (r := Ledger(db_settings).get("default", str(path), sha)) is not None and r.status == "queued"
        ),
        timeout_s=60,
        what="the new daemon watches the folder and queues a dropped file",
    )
    assert second.terminate(30) == 0


def test_a_redis_lease_of_another_host_is_waited_out_and_a_dead_local_holder_is_not(
    conn: redis.Redis,
) -> None:
    """Another host's daemon may be alive: its lease must run out first. A holder on this host whose
    pid is gone is dead for sure: its lease is taken over at once."""
    lease = RedisLease(conn, "daemon:test")
    other = json.dumps({"holder": "pipeline-daemon elsewhere pid 1", "host": "elsewhere", "pid": 1})
    conn.set(lease.key, other, px=1500)
    assert not lease.try_acquire() and "elsewhere" in (lease.holder() or "")
    time.sleep(1.6)
    assert lease.try_acquire() and lease.check()
    lease.release()
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = json.dumps({"holder": "x", "host": socket.gethostname(), "pid": gone.pid})
    conn.set(lease.key, dead, px=60_000)
    assert lease.try_acquire()
    conn.delete(lease.key)  # Redis flushed or restarted empty: the lease is taken again, not lost
    assert lease.check() and "pipeline-daemon" in (lease.holder() or "")
    conn.set(lease.key, "someone else")  # another daemon took it meanwhile: lost
    assert not lease.check()
