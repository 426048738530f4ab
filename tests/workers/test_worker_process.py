"""Long-running `pipeline worker` processes: warm shutdown, and recovery from a worker killed with -9."""

from __future__ import annotations

import time

import pytest
import redis
from rq.executions import ExecutionRegistry
from rq.job import Job, JobStatus

from jobqueue import SERIALIZER
from testkit import drop_csv, enqueue, parquet_rows, wait_for
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration


def _stage(conn: redis.Redis, job_id: str) -> str:
    return str(Job.fetch(job_id, connection=conn, serializer=SERIALIZER).get_meta(refresh=True).get("stage"))


def _status(conn: redis.Redis, job_id: str) -> JobStatus | None:
    return Job.fetch(job_id, connection=conn, serializer=SERIALIZER).get_status()


def test_sigterm_lets_the_running_job_finish(
    queue_settings: Settings, conn: redis.Redis, spawn, worker_env: dict[str, str]
) -> None:
    """Warm shutdown: the worker exits 0 only after its current job is done."""
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    worker = spawn("worker", "ingest")
    job_id = enqueue(conn, queue_settings, path, sha, pause=("validating", 2))
    wait_for(lambda: _stage(conn, job_id) == "validating", timeout_s=60, what="the job to start")
    assert worker.terminate(timeout_s=60) == 0, worker.output()
    assert _status(conn, job_id) == JobStatus.FINISHED
    assert list(parquet_rows(queue_settings).values()) == [len(bars)]


@pytest.mark.parametrize("rescuer", ["already-running", "started-after"])
def test_a_worker_killed_mid_job_is_recovered_with_exactly_one_copy(
    rescuer: str, queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    """kill -9 of worker and work horse while writing: another worker re-runs the job within seconds.

    ``already-running`` is recovered by the other worker's periodic check (every 3 s when idle);
    ``started-after`` by a new worker's start-up check (what systemd's Restart= or `pipeline up` gives).
    """
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv", rows=5000)
    victim = spawn("worker", "ingest")
    job_id = enqueue(conn, queue_settings, path, sha, pause=("writing", 300))
    wait_for(lambda: _stage(conn, job_id) == "writing", timeout_s=60, what="the job to reach 'writing'")
    other = spawn("worker", "ingest") if rescuer == "already-running" else None
    if other is not None:
        # rq:workers, not rq:worker:*: rq 3 adds a rq:worker:<name>:executions key per busy worker
        wait_for(lambda: conn.scard("rq:workers") >= 2, what="the second worker")  # it is idle now
    killed_at = time.monotonic()
    victim.kill()
    if other is None:
        spawn("worker", "ingest")
    ledger = Ledger(queue_settings)

    def ingested() -> bool:
        record = ledger.get("default", str(path), sha)
        return record is not None and record.status == "ingested"

    wait_for(ingested, timeout_s=90, interval_s=0.2, what="the abandoned job to be re-run")
    recovery_s = time.monotonic() - killed_at
    print(f"kill -9 recovery ({rescuer}): {recovery_s:.1f} s")
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    # The ledger row is final before the job function returns; RQ marks the job finished after that.
    wait_for(lambda: job.get_status() == JobStatus.FINISHED, timeout_s=30, what="RQ to finish the job")
    assert job.get_meta(refresh=True)["abandoned"] == 1  # our recovery, not RQ's 90 s heartbeat expiry
    # No trace of the dead execution is left (rq 3 also indexes executions per job and per worker).
    assert ExecutionRegistry(job_id, connection=conn).get_execution_ids() == []
    assert not any(conn.smembers(key) for key in conn.keys("rq:worker:*:executions"))
    assert parquet_rows(queue_settings) == {f"default/MES/{sha[:20]}.parquet": len(bars)}
    assert not list(queue_settings.processed_dir.rglob("*.tmp"))
    assert [r.status for r in ledger.files()] == ["ingested"]


def test_a_job_taken_by_a_worker_killed_before_it_started_is_requeued(
    queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    """BLPOP took the id, then kill -9 before the job was registered: a starting worker puts it back."""
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    job_id = enqueue(conn, queue_settings, path, sha)
    assert conn.lpop("rq:queue:ingest") == job_id.encode()  # what the dead worker's BLPOP did
    spawn("worker", "ingest")
    wait_for(lambda: _status(conn, job_id) == JobStatus.FINISHED, timeout_s=60, what="the lost job to run")
    assert list(parquet_rows(queue_settings).values()) == [len(bars)]
