"""Work horses that serve many jobs (workers/horse.py), on real `pipeline worker` processes.

A horse is forked once and reused until it has served ``PIPELINE_HORSE_MAX_JOBS`` jobs; it dies
with its worker when idle, and a horse killed mid-job fails only that job, which RQ retries.
"""

from __future__ import annotations

import os
import signal
import zlib

import psutil  # type: ignore[import-untyped]
import pytest
import redis
from rq.job import Job, JobStatus

from jobqueue import SERIALIZER
from testkit import drop_csv, enqueue, parquet_rows, wait_for
from trading_pipeline.durable import temp_path
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.store import BarStore

pytestmark = pytest.mark.integration


def _job(conn: redis.Redis, job_id: str) -> Job:
    return Job.fetch(job_id, connection=conn, serializer=SERIALIZER)


def _finished(conn: redis.Redis, job_ids: list[str]) -> bool:
    return all(_job(conn, j).get_status() == JobStatus.FINISHED for j in job_ids)


def _horse_pid(conn: redis.Redis, job_id: str) -> int:
    """The pid the job ran in: MetaProgress records it at the job's first progress call."""
    return int(_job(conn, job_id).get_meta(refresh=True)["pid"])


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _run_files(conn: redis.Redis, settings: Settings, names: list[str]) -> list[str]:
    """Enqueue one small CSV per name and wait until every job has finished; returns the job ids."""
    dropped = [drop_csv(settings.raw_dir, name, seed=zlib.crc32(name.encode())) for name in names]
    job_ids = [enqueue(conn, settings, path, sha) for path, sha, _ in dropped]
    wait_for(lambda: _finished(conn, job_ids), timeout_s=120, what="the jobs to finish")
    return job_ids


def test_one_horse_serves_several_jobs_then_retires(
    queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    """With PIPELINE_HORSE_MAX_JOBS=3, seven jobs run in three horses, in order, none in the worker."""
    worker = spawn("worker", "ingest", env={"PIPELINE_HORSE_MAX_JOBS": "3"})
    names = [f"SYM{chr(65 + i)}_1m.csv" for i in range(7)]
    job_ids = _run_files(conn, queue_settings, names)
    pids = [_horse_pid(conn, j) for j in job_ids]
    assert worker.pid not in pids
    runs = [pids[0:3], pids[3:6], pids[6:]]
    assert [len(set(r)) for r in runs] == [1, 1, 1], pids
    assert len(set(pids)) == 3, pids
    assert sorted(parquet_rows(queue_settings).values()) == [500] * 7
    assert worker.terminate(timeout_s=60) == 0, worker.output()
    assert all(_gone(pid) for pid in pids)


def test_a_horse_killed_while_idle_is_replaced_at_the_next_job(
    queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    worker = spawn("worker", "ingest")
    (first,) = _run_files(conn, queue_settings, ["A_1m.csv"])
    old = _horse_pid(conn, first)
    os.kill(old, signal.SIGKILL)
    (second,) = _run_files(conn, queue_settings, ["B_1m.csv"])
    assert _horse_pid(conn, second) not in (old, worker.pid)
    assert worker.alive()
    assert [r.status for r in Ledger(queue_settings).files()] == ["ingested", "ingested"]


def test_a_horse_killed_mid_job_costs_one_retry_and_the_worker_carries_on(
    queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    """The OOM killer's view: the parent records the death, RQ's Retry re-runs the job in a new horse."""
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv", rows=2000)
    worker = spawn("worker", "ingest")
    job_id = enqueue(conn, queue_settings, path, sha, pause=("writing", 3))

    def writing() -> bool:
        meta = _job(conn, job_id).get_meta(refresh=True)
        return meta.get("stage") == "writing"

    wait_for(writing, timeout_s=60, what="the job to reach 'writing'")
    victim = _horse_pid(conn, job_id)
    # What the horse leaves when killed a moment later, inside pq.write_table: its temp file, named by
    # durable.temp_path with its host and pid.
    target = BarStore(queue_settings.processed_dir).path_for("default", "MES", sha)
    ours = temp_path(target).name
    half_written = target.with_name(ours.replace(f"-{os.getpid()}-", f"-{victim}-"))
    half_written.parent.mkdir(parents=True)
    half_written.write_bytes(b"PAR1 half a file")
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: _finished(conn, [job_id]), timeout_s=90, what="the retried job to finish")
    assert not half_written.exists(), "the retry removed the killed horse's temp file"
    job = _job(conn, job_id)
    assert job.retries_left == queue_settings.ingest_retries - 1
    assert _horse_pid(conn, job_id) not in (victim, worker.pid)
    assert parquet_rows(queue_settings) == {f"default/MES/{sha[:20]}.parquet": len(bars)}
    assert [r.status for r in Ledger(queue_settings).files()] == ["ingested"]
    assert worker.alive()


def test_an_idle_horse_exits_when_its_worker_is_killed(
    queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    """No orphans: the horse reads end-of-file on its job pipe once the parent is gone."""
    worker = spawn("worker", "ingest")
    (job_id,) = _run_files(conn, queue_settings, ["A_1m.csv"])
    horse = _horse_pid(conn, job_id)
    assert not _gone(horse)
    os.kill(worker.pid, signal.SIGKILL)
    wait_for(lambda: _gone(horse), timeout_s=30, what="the orphaned horse to exit")
