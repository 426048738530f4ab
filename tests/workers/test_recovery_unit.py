"""Telling a dead worker from a busy one (pure logic over fakeredis)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from rq.job import Job

from jobqueue import INGEST_JOB, SERIALIZER
from jobqueue.recovery import worker_is_dead
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings
from workers import jobs
from workers.worker import _horse_killed

SHA = "ab" * 32


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


@pytest.fixture
def job_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    """The ledger ``workers.jobs`` writes to, in a fresh data folder."""
    settings = Settings.from_env({}, data_dir=tmp_path)
    monkeypatch.setattr(jobs, "_settings", lambda: settings)
    jobs._ledger.cache_clear()
    yield jobs._ledger()
    jobs._ledger.cache_clear()


def _ingest_job(fake: fakeredis.FakeRedis, ledger: Ledger, status: str, retries_left: int | None) -> Job:
    path = str(Path(ledger.path).parent / "A.csv")
    ledger.record_seen("default", path, SHA, 1, 1.0)
    ledger.set_status("default", path, SHA, status)  # type: ignore[arg-type]
    kwargs = {"path": path, "sha256": SHA, "options": IngestOptions().to_json()}
    job = Job.create(INGEST_JOB, kwargs=kwargs, connection=fake, serializer=SERIALIZER)
    job.retries_left = retries_left
    return job


@pytest.mark.parametrize(("retries_left", "expected"), [(1, "queued"), (0, "pending"), (None, "pending")])
def test_a_dead_work_horse_is_recorded_on_the_ledger_row(
    fake: fakeredis.FakeRedis, job_ledger: Ledger, retries_left: int | None, expected: str
) -> None:
    """Before: the row said ``ingesting`` forever once RQ gave up on a job whose horse kept dying."""
    job = _ingest_job(fake, job_ledger, "ingesting", retries_left)
    _horse_killed(job, 123, 9, None)
    row = job_ledger.get("default", job.kwargs["path"], SHA)
    assert row is not None and row.status == expected and "work horse died" in row.reason


def test_a_dead_work_horse_never_reopens_a_finished_row(
    fake: fakeredis.FakeRedis, job_ledger: Ledger
) -> None:
    job = _ingest_job(fake, job_ledger, "ingested", 0)
    _horse_killed(job, 123, 9, None)
    row = job_ledger.get("default", job.kwargs["path"], SHA)
    assert row is not None and row.status == "ingested"
