"""What we rely on RQ for, pinned on real redis-server and real forking `pipeline worker`s.

The rq pin in pyproject.toml names this file: an rq upgrade that changes one of these behaviours fails
here, loudly, instead of in production. Each behaviour and the test that pins it:

* abandoned jobs: a worker SIGKILLed mid-job is recovered by ``recover_abandoned_jobs`` within seconds
  (tests/workers/test_worker_process.py); a job abandoned too often goes to RQ's own path, which spends
  a Retry and then fails it into the FailedJobRegistry (here); a *finished* job's leftover started-registry
  entry is never reported abandoned (here; rq 2.12 moved such jobs to FAILED); `rq info` run without our
  serializer retries an abandoned job and keeps its JSON meta readable (here; rq 2.12 corrupted it).
* Retry: an interval needs the scheduler; a transient error is retried, bad data never (here; the backoff
  itself in tests/workers/test_ingest_job.py).
* job ids: one job per (source, sha256); an active job is kept, an ended one replaced together with its
  old results (here); enqueue_many gets each id once (rq 3 raises on repeats;
  tests/daemon/test_enqueue_many.py).
* the reusing work horse (workers/horse.py, which overrides Worker internals): it serves several jobs
  (tests/workers/test_horse.py); a horse that dies mid-job fails only that job, the parent's
  ``work_horse_killed_handler`` records it, and the worker's execution index (rq 3) says what it runs (here).
* `rq info -u URL` (with or without ``--serializer``) lists our queues and workers (here).
* dependencies: stage chains run with ``depends_on`` and a failing stage cancels its symbol's later jobs
  (tests/stages/test_e2e.py, on plain `rq worker` processes); rq 3 leaves some dependents in its ready
  registry when two workers finish jobs at once, and our drain queues them within seconds (here).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest
import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from jobqueue import (
    INGEST_QUEUE,
    PIPELINE_QUEUE,
    SERIALIZER,
    enqueue_ingest,
    enqueue_ready_jobs,
    ingest_job_id,
    stage_job_id,
)
from jobqueue.recovery import MAX_ABANDONS, recover_abandoned_jobs
from jobqueue.status import queue_summary
from testkit import PipelineProcess, drop_csv, enqueue, parquet_rows, wait_for
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def _job(conn: redis.Redis, job_id: str) -> Job:
    return Job.fetch(job_id, connection=conn, serializer=SERIALIZER)


def _status(conn: redis.Redis, job_id: str) -> JobStatus:
    return _job(conn, job_id).get_status()


def _stage(conn: redis.Redis, job_id: str) -> object:
    return _job(conn, job_id).get_meta(refresh=True).get("stage")


def _registry(cls: type, conn: redis.Redis) -> list[str]:
    registry = cls(INGEST_QUEUE, connection=conn, serializer=SERIALIZER)
    return list(registry.get_job_ids(cleanup=False))


def _burst(env: dict[str, str], *args: str) -> None:
    run = subprocess.run(
        [str(BIN / "pipeline"), "worker", "--burst", *args, INGEST_QUEUE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]


def _rq_info(redis_url: str, *args: str) -> str:
    run = subprocess.run(
        [str(BIN / "rq"), "info", "-u", redis_url, *args], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def _kill_worker_and_horse(worker: PipelineProcess, conn: redis.Redis, job_id: str) -> None:
    """kill -9 of a worker and of the horse running ``job_id``. Its scheduler process gets SIGTERM
    (it dies with its parent) and frees its lock; killed too, the lock would hold for ~61 s."""
    horse = int(_job(conn, job_id).get_meta(refresh=True)["pid"])
    os.kill(worker.pid, signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    assert worker.proc is not None
    worker.proc.wait()
    wait_for(lambda: not psutil.pid_exists(horse), timeout_s=30, what="the horse to be gone")
    wait_for(lambda: not conn.keys("rq:scheduler-lock:*"), timeout_s=30, what="the scheduler lock")


def _row(settings: Settings, path: Path, sha: str) -> tuple[str, str]:
    record = Ledger(settings).get("default", str(path), sha)
    assert record is not None
    return record.status, record.reason or ""


# --- abandoned jobs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("retries", [3, 0])
def test_a_job_abandoned_too_often_gets_rqs_retry_then_the_failed_registry(
    retries: int, queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    """Past ``MAX_ABANDONS`` our recovery hands the job to RQ's abandoned-job cleanup: with retries left
    RQ schedules it again (``retries_left`` - 1), without it RQ fails it with ``AbandonedJobError``."""
    settings = queue_settings.replace(ingest_retries=retries)
    path, sha, bars = drop_csv(settings.raw_dir, "MES_1m.csv", rows=3000)
    victim = spawn("worker", INGEST_QUEUE)
    job_id = enqueue(conn, settings, path, sha, pause=("writing", 300))
    wait_for(lambda: _stage(conn, job_id) == "writing", timeout_s=90, what="the job to reach 'writing'")
    job = _job(conn, job_id)
    job.meta["abandoned"] = MAX_ABANDONS  # as if it had killed its worker that often already
    job.save_meta()
    _kill_worker_and_horse(victim, conn, job_id)

    assert recover_abandoned_jobs(conn, [INGEST_QUEUE]) == []  # not requeued by us: RQ decided
    job = _job(conn, job_id)
    assert _registry(StartedJobRegistry, conn) == []
    if retries:
        assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == retries - 1
        assert _registry(ScheduledJobRegistry, conn) == [job_id]
        spawn("worker", INGEST_QUEUE)  # its scheduler enqueues the retry once due (1 s)
        wait_for(lambda: _status(conn, job_id) == JobStatus.FINISHED, timeout_s=90, what="the retry to run")
        assert _row(settings, path, sha)[0] == "ingested"
        assert parquet_rows(settings) == {f"default/MES/{sha[:20]}.parquet": len(bars)}
    else:
        assert job.get_status() == JobStatus.FAILED
        assert _registry(FailedJobRegistry, conn) == [job_id]
        assert "AbandonedJobError" in (job.exc_info or "")
        assert job.meta["path"] == str(path)  # the meta our UI shows survived RQ's failure path


def test_a_finished_jobs_leftover_started_entry_is_not_reported_abandoned(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    """A stale execution entry of a job that finished (a worker killed between the two writes) must not
    turn the job FAILED when the entry expires: the file was ingested, the UI must say so."""
    path, sha, _ = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    job_id = enqueue(conn, queue_settings, path, sha)
    _burst(worker_env)
    assert _status(conn, job_id) == JobStatus.FINISHED
    registry = StartedJobRegistry(INGEST_QUEUE, connection=conn, serializer=SERIALIZER)
    conn.zadd(registry.key, {f"{job_id}:leftover": 1})  # expired long ago
    registry.cleanup()
    assert _status(conn, job_id) == JobStatus.FINISHED
    assert _registry(FailedJobRegistry, conn) == [] and _registry(StartedJobRegistry, conn) == []


def test_rq_info_without_our_serializer_retries_an_abandoned_job_and_keeps_its_meta(
    queue_settings: Settings, conn: redis.Redis, spawn, redis_url: str
) -> None:
    """`rq info` cleans registries with the pickle serializer whatever ``--serializer`` says; the job it
    retries must stay readable as JSON (our recovery counts abandons and finds the horse in meta)."""
    path, sha, _ = drop_csv(queue_settings.raw_dir, "MES_1m.csv", rows=3000)
    victim = spawn("worker", INGEST_QUEUE)
    job_id = enqueue(conn, queue_settings, path, sha, pause=("writing", 300))
    wait_for(lambda: _stage(conn, job_id) == "writing", timeout_s=90, what="the job to reach 'writing'")
    victim.kill()
    registry = StartedJobRegistry(INGEST_QUEUE, connection=conn, serializer=SERIALIZER)
    (entry,) = conn.zrange(registry.key, 0, -1)
    conn.zadd(registry.key, {entry: 1}, xx=True)  # the heartbeat expired (~90 s in real life)

    _rq_info(redis_url)  # exactly what docs/operations.md tells people to run
    job = _job(conn, job_id)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == queue_settings.ingest_retries - 1
    assert job.meta["path"] == str(path) and job.meta["stage"] == "writing" and job.meta["pid"] > 0
    assert job.kwargs["sha256"] == sha


# --- Retry -----------------------------------------------------------------------------------------------


def test_a_retry_needs_the_scheduler_and_reruns_transient_failures_never_bad_data(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str], spawn
) -> None:
    good, good_sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    bad = queue_settings.raw_dir / "MGC_1m.csv"
    bad.write_text("datetime,open,high,low,close,volume\n2024-01-02 00:00:00,10,9,8,9.5,1\n")
    bad_sha = hashlib.sha256(bad.read_bytes()).hexdigest()
    queue_settings.processed_dir.rmdir()
    queue_settings.processed_dir.write_text("not a folder")  # the store cannot be written: transient
    good_id, bad_id = (enqueue(conn, queue_settings, p, s) for p, s in ((good, good_sha), (bad, bad_sha)))

    _burst(worker_env, "--without-scheduler")
    retries = queue_settings.ingest_retries
    assert _status(conn, bad_id) == JobStatus.FINISHED and _job(conn, bad_id).retries_left == retries
    assert _job(conn, bad_id).return_value()["status"] == "rejected"
    assert _status(conn, good_id) == JobStatus.SCHEDULED and _job(conn, good_id).retries_left == retries - 1
    assert _registry(ScheduledJobRegistry, conn) == [good_id]

    queue_settings.processed_dir.unlink()  # the disk is fixed
    scheduled = ScheduledJobRegistry(INGEST_QUEUE, connection=conn, serializer=SERIALIZER)
    wait_for(lambda: scheduled.get_jobs_to_schedule(), timeout_s=30, what="the retry to be due")
    _burst(worker_env, "--without-scheduler")
    assert _status(conn, good_id) == JobStatus.SCHEDULED  # due, but nobody moves it without a scheduler

    worker = spawn("worker", INGEST_QUEUE)  # the long-running worker's scheduler process
    wait_for(lambda: _status(conn, good_id) == JobStatus.FINISHED, timeout_s=90, what="the retry to run")
    assert _job(conn, good_id).retries_left == retries - 1
    assert _row(queue_settings, good, good_sha)[0] == "ingested"
    assert _row(queue_settings, bad, bad_sha)[0] == "rejected"
    assert list(parquet_rows(queue_settings).values()) == [len(bars)]
    # rq's own log lines reach our JSON log (rq 3 stops propagation only where it installs its handler)
    events = [json.loads(line).get("event", "") for line in worker.output().splitlines() if line[:1] == "{"]
    assert any("Job OK" in event and good_id in event for event in events), worker.output()[-3000:]


# --- job ids ---------------------------------------------------------------------------------------------


def test_one_job_per_source_and_content_active_kept_ended_replaced_with_its_results(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    path, sha, _ = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    job_id = enqueue(conn, queue_settings, path, sha)
    assert job_id == ingest_job_id("default", sha)
    again = {"path": str(path), "sha256": sha, "options": IngestOptions()}
    assert enqueue_ingest(conn, queue_settings, **again) is None  # queued: kept
    _burst(worker_env)
    assert _status(conn, job_id) == JobStatus.FINISHED and len(_job(conn, job_id).results()) == 1

    assert enqueue_ingest(conn, queue_settings, **again) == job_id  # finished: replaced
    replaced = _job(conn, job_id)
    assert replaced.get_status() == JobStatus.QUEUED and replaced.results() == []
    assert Queue(INGEST_QUEUE, connection=conn, serializer=SERIALIZER).job_ids == [job_id]
    _burst(worker_env)
    rerun = _job(conn, job_id)
    assert rerun.get_status() == JobStatus.FINISHED and len(rerun.results()) == 1
    assert rerun.return_value()["rerun"] is True  # the ledger made the second run a no-op


@pytest.mark.parametrize("name", ["default", "BRK.B", "a b/c:d", "MES²", "é" * 80])
def test_job_ids_are_valid_rq_ids_for_any_source_or_symbol(name: str, conn: redis.Redis) -> None:
    """RQ accepts only ASCII ``[A-Za-z0-9_-]`` in ids; ours always qualify, and stay distinct."""
    sha = "ab" * 32
    queue = Queue(INGEST_QUEUE, connection=conn, serializer=SERIALIZER)
    for job_id in (ingest_job_id(name, sha), stage_job_id("run-1", name, "load")):
        assert re.fullmatch(r"[A-Za-z0-9_-]+", job_id)
        assert queue.enqueue("os.getcwd", job_id=job_id).id == job_id
    with pytest.raises(ValueError, match="Job ID must only contain"):
        queue.enqueue("os.getcwd", job_id=f"ingest-{name}.csv")
    assert ingest_job_id(name, sha) != ingest_job_id(name + "_", sha)
    assert stage_job_id("run-1", name, "load") != stage_job_id("run-1", name + "_", "load")


# --- dependencies ----------------------------------------------------------------------------------------


def test_a_dependent_rq_left_ready_is_queued_by_our_drain(conn: redis.Redis) -> None:
    """rq 3 marks a finished job's dependents ready, then enqueues them; the second step can lose a
    WATCH race to another worker and leave the dependent ready until RQ's 10-minute maintenance."""
    queue = Queue(PIPELINE_QUEUE, connection=conn, serializer=SERIALIZER)
    parent = queue.enqueue("os.getpid", job_id="parent")
    child = queue.enqueue("os.getpid", job_id="child", depends_on=parent)
    assert child.get_status() == JobStatus.DEFERRED
    with conn.pipeline() as pipe:  # the first step, as a worker's success handling does it
        queue.ready_job_registry.register_jobs([child], pipeline=pipe)
        pipe.execute()
    assert child.get_status() == JobStatus.READY_TO_ENQUEUE and queue.job_ids == ["parent"]

    assert enqueue_ready_jobs(conn) == ["child"]
    assert child.get_status() == JobStatus.QUEUED and queue.job_ids == ["parent", "child"]
    assert enqueue_ready_jobs(conn) == []  # never twice


def test_chains_on_two_workers_never_wait_for_rqs_maintenance(conn: redis.Redis, spawn) -> None:
    """Two workers finishing chained jobs at once: every chain ends in seconds, not at RQ's maintenance
    (60 s on our workers); without the drain, 5-10 of these 160 jobs were left ready."""
    workers = [spawn("worker", PIPELINE_QUEUE) for _ in range(2)]
    wait_for(lambda: conn.scard("rq:workers") == 2, timeout_s=60, what="two workers")
    queue = Queue(PIPELINE_QUEUE, connection=conn, serializer=SERIALIZER)
    last = []
    for chain in range(40):
        job = None
        for step in range(4):
            job = queue.enqueue("time.sleep", args=[0.005], job_id=f"c{chain}-s{step}", depends_on=job)
        last.append(job.id)  # type: ignore[union-attr]

    def ended() -> bool:
        return all(status == JobStatus.FINISHED for status in (_status(conn, j) for j in last))

    wait_for(ended, timeout_s=40, interval_s=0.2, what="every chain to finish")
    assert queue.ready_job_registry.get_job_ids(cleanup=False) == []
    drained = sum(w.output().count("enqueued dependents rq left ready") for w in workers)
    print(f"batches of dependents rq left ready, queued by our drain: {drained}")


# --- the reusing work horse ------------------------------------------------------------------------------


def test_a_horse_that_dies_mid_job_fails_only_that_job(
    queue_settings: Settings, conn: redis.Redis, spawn
) -> None:
    settings = queue_settings.replace(ingest_retries=0)
    first, first_sha, _ = drop_csv(settings.raw_dir, "MES_1m.csv", rows=2000)
    second, second_sha, bars = drop_csv(settings.raw_dir, "MGC_1m.csv", seed=1)
    worker = spawn("worker", INGEST_QUEUE)
    victim_id = enqueue(conn, settings, first, first_sha, pause=("writing", 300))
    other_id = enqueue(conn, settings, second, second_sha)
    wait_for(lambda: _stage(conn, victim_id) == "writing", timeout_s=90, what="the job to reach 'writing'")
    (info,) = queue_summary(conn)["workers"]
    assert info["current_job"] == victim_id and info["state"] == "busy"  # rq 3's execution index
    horse = int(_job(conn, victim_id).get_meta(refresh=True)["pid"])
    os.kill(horse, signal.SIGKILL)

    wait_for(lambda: _status(conn, victim_id) == JobStatus.FAILED, timeout_s=60, what="the job to fail")
    assert "Work-horse terminated unexpectedly" in (_job(conn, victim_id).exc_info or "")
    assert _registry(FailedJobRegistry, conn) == [victim_id]
    status, reason = _row(settings, first, first_sha)
    assert status == "pending" and "work horse died" in reason  # our work_horse_killed_handler ran
    wait_for(lambda: _status(conn, other_id) == JobStatus.FINISHED, timeout_s=90, what="the next job")
    assert int(_job(conn, other_id).get_meta(refresh=True)["pid"]) not in (horse, worker.pid)
    assert list(parquet_rows(settings).values()) == [len(bars)]
    assert worker.alive()
    (rq_worker,) = Worker.all(connection=conn)
    wait_for(lambda: rq_worker.get_state() == "idle", timeout_s=30, what="the worker to be idle")
    assert rq_worker.get_current_executions(refresh=True) == []
    assert queue_summary(conn)["workers"][0]["current_job"] is None
    assert _registry(StartedJobRegistry, conn) == []


# --- rq info ---------------------------------------------------------------------------------------------


def test_rq_info_lists_our_queues_and_workers(
    queue_settings: Settings, conn: redis.Redis, spawn, redis_url: str
) -> None:
    path, sha, _ = drop_csv(queue_settings.raw_dir, "MES_1m.csv", rows=2000)
    spawn("worker")  # the default queues: ingest, pipeline
    job_id = enqueue(conn, queue_settings, path, sha, pause=("writing", 300))
    wait_for(lambda: _stage(conn, job_id) == "writing", timeout_s=90, what="the job to reach 'writing'")
    (worker,) = Worker.all(connection=conn)

    documented = _rq_info(redis_url)
    assert re.search(r"^ingest +\|\S* 0, 1 executing, 0 finished, 0 failed$", documented, re.M), documented
    assert re.search(rf"^{re.escape(worker.name)} \(.*\): busy ingest, pipeline\.", documented, re.M)
    for serializer in ("rq.serializers.JSONSerializer", "json"):
        raw = _rq_info(redis_url, "--serializer", serializer, "--raw", "ingest", "pipeline")
        assert "queue ingest 0, 1 executing, 0 finished, 0 failed" in raw, raw
        assert "queue pipeline 0, 0 executing, 0 finished, 0 failed" in raw, raw
        assert re.search(rf"^worker {re.escape(worker.name)} \(.*\) busy ingest, pipeline\.", raw, re.M), raw
    assert _status(conn, job_id) == JobStatus.STARTED  # looking changed nothing
