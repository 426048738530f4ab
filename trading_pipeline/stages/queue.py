"""Runs on RQ: one job per (symbol, stage) on the ``pipeline`` queue, chained with ``depends_on``.

RQ leaves the dependents of a failed job deferred forever, so a failing stage cancels its own symbol's
later jobs (``cancel_downstream``), and a waiter that finds a job RQ failed without the run knowing
(its work horse was killed) records the failure itself (``reconcile``). Other symbols' chains are not
touched: they finish.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from typing import Any

import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus

from trading_pipeline.jobqueue import PIPELINE_QUEUE, SERIALIZER
from trading_pipeline.settings import Settings
from trading_pipeline.stages.execute import mark_failed
from trading_pipeline.stages.runs import STAGE_NAMES, read_run, update_run

__all__ = [
    "STAGE_JOB",
    "cancel_downstream",
    "pipeline_queue",
    "reconcile",
    "stage_job_id",
    "submit_run",
    "workers",
]

STAGE_JOB = "workers.run_jobs.run_stage"
"""Dotted path stored in Redis: a wire format, never rename without draining the queue."""
DEAD_STATES = frozenset({JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})


def stage_job_id(run_id: str, symbol: str, stage: str) -> str:
    """RQ ids allow only ``[A-Za-z0-9_-]``; a symbol such as ``BRK.B`` is made safe and hashed."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in symbol)
    if safe != symbol:
        safe = f"{safe}_{hashlib.sha256(symbol.encode()).hexdigest()[:8]}"
    return f"{run_id}-{safe}-{stage}"


def pipeline_queue(connection: redis.Redis, settings: Settings) -> Queue:
    return Queue(
        PIPELINE_QUEUE, connection=connection, serializer=SERIALIZER, default_timeout=settings.job_timeout_s
    )


def submit_run(connection: redis.Redis, settings: Settings, run_id: str) -> dict[str, dict[str, str]]:
    """Enqueue every pending stage of every symbol; each stage depends on the one before it."""
    record = read_run(settings, run_id)
    queue = pipeline_queue(connection, settings)
    jobs: dict[str, dict[str, str]] = {}
    for symbol, sym in record["symbols"].items():
        parent: Job | None = None
        jobs[symbol] = {}
        for stage in STAGE_NAMES:
            if sym["stages"][stage]["status"] != "pending":
                continue
            parent = queue.enqueue(
                STAGE_JOB,
                kwargs={"run_id": run_id, "symbol": symbol, "stage": stage},
                job_id=stage_job_id(run_id, symbol, stage),
                depends_on=parent,
                result_ttl=settings.result_ttl_s,
                failure_ttl=settings.failure_ttl_s,
                description=f"{stage} {symbol} ({run_id})",
                meta={"run_id": run_id, "symbol": symbol, "stage": stage, "status": "queued", "percent": 0},
            )
            jobs[symbol][stage] = parent.id

    def store(r: dict[str, Any]) -> None:
        r["jobs"] = jobs
        for symbol, stages in jobs.items():
            for stage in stages:
                r["symbols"][symbol]["stages"][stage]["status"] = "queued"

    update_run(settings, run_id, store)
    return jobs


def cancel_downstream(connection: redis.Redis, run_id: str, symbol: str, stage: str) -> list[str]:
    """Cancel this symbol's later stage jobs, which RQ would otherwise keep deferred forever."""
    cancelled = []
    for later in STAGE_NAMES[STAGE_NAMES.index(stage) + 1 :]:
        job_id = stage_job_id(run_id, symbol, later)
        with contextlib.suppress(Exception):  # no such job (rerun skipped it) or already cancelled
            Job.fetch(job_id, connection=connection, serializer=SERIALIZER).cancel()
            cancelled.append(job_id)
    return cancelled


def reconcile(connection: redis.Redis, settings: Settings, run_id: str) -> None:
    """Record failures RQ knows of but the run does not (a killed work horse never reached our handler)."""
    record = read_run(settings, run_id)
    for symbol, stages in record.get("jobs", {}).items():
        sym = record["symbols"][symbol]
        if sym["status"] in ("done", "failed"):
            continue
        for stage, job_id in stages.items():
            if sym["stages"][stage]["status"] not in ("queued", "running"):
                continue
            status, reason = _job_state(connection, job_id)
            if status in DEAD_STATES or status is None:
                update_run(
                    settings,
                    run_id,
                    functools.partial(_fail_if_open, symbol=symbol, stage=stage, reason=reason),
                )
                cancel_downstream(connection, run_id, symbol, stage)
                break


def _fail_if_open(record: dict[str, Any], symbol: str, stage: str, reason: str) -> None:
    """Under the lock, on the fresh record: the stage's own handler may have written first."""
    if record["symbols"][symbol]["stages"][stage]["status"] in ("queued", "running"):
        mark_failed(record, symbol, stage, reason)


def _job_state(connection: redis.Redis, job_id: str) -> tuple[JobStatus | None, str]:
    try:
        job = Job.fetch(job_id, connection=connection, serializer=SERIALIZER)
    except Exception:  # NoSuchJobError: flushed Redis or an expired job
        return None, f"job {job_id} is gone from Redis (flushed or expired)"
    status = job.get_status(refresh=False)
    info = (job.exc_info or "").strip().splitlines()
    return status, f"job {job_id} {status}: {info[-1] if info else 'no error recorded (worker killed?)'}"


def workers(connection: redis.Redis) -> int:
    """How many workers listen on the pipeline queue (0 means a waiting run will not move)."""
    queue = Queue(PIPELINE_QUEUE, connection=connection, serializer=SERIALIZER)
    return len(Worker.all(connection=connection, queue=queue))
