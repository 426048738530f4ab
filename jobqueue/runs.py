"""Research runs on RQ: one job per (symbol, stage) on the ``pipeline`` queue, chained with ``depends_on``.

Each symbol's chain runs up to its labels. The splits jobs need the run's split plan, which needs every
symbol's labels, so they are not queued with the chain: ``advance`` makes the plan and queues them once
the last symbol's labels are settled. The job that settles them calls it, and so does every waiter's
``reconcile``, so a worker that dies in between delays the splits by one poll at most. RQ's own
multi-job dependencies are not used for this barrier: RQ keeps a job deferred forever when one of
its dependencies is cancelled, which is exactly what a failed symbol's chain becomes.

RQ leaves the dependents of a failed job deferred forever, so a failing stage cancels its own symbol's
later jobs (``cancel_downstream``), and a waiter that finds a job RQ failed without the run knowing
(its work horse was killed) records the failure itself (``reconcile``). Other symbols' chains are not
touched: they finish.
"""

from __future__ import annotations

import contextlib
import functools
import time

import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus

from jobqueue.ids import stage_job_id
from jobqueue.names import DEAD_JOB_STATES, PIPELINE_QUEUE, SERIALIZER, STAGE_JOB
from jobqueue.recovery import enqueue_ready_jobs
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import RunConfig
from trading_pipeline.stages.execute import mark_failed
from trading_pipeline.stages.planning import PLANNED_STAGE, plan_run
from trading_pipeline.stages.records import RunRecord
from trading_pipeline.stages.runner import Watcher, remove_run, start_run
from trading_pipeline.stages.runs import STAGE_NAMES, is_finished, read_run, update_run
from trading_pipeline.statuses import STAGE_OPEN, SYMBOL_ENDED, StageStatus, SymbolStatus

__all__ = [
    "advance",
    "cancel_downstream",
    "pipeline_queue",
    "reconcile",
    "start_queued_run",
    "submit_run",
    "wait_for_run",
    "workers",
]

POLL_S = 0.25
RECONCILE_EVERY_S = 2.0


def pipeline_queue(connection: redis.Redis, settings: Settings) -> Queue:
    return Queue(
        PIPELINE_QUEUE, connection=connection, serializer=SERIALIZER, default_timeout=settings.job_timeout_s
    )


def start_queued_run(
    connection: redis.Redis,
    settings: Settings,
    config: RunConfig,
    *,
    from_stage: str = STAGE_NAMES[0],
    rerun_of: RunRecord | None = None,
) -> RunRecord:
    """Create the run and queue its jobs; a run whose jobs could not be enqueued is removed again, so
    no half-submitted run is left looking queued forever."""
    record = start_run(settings, config, queued=True, from_stage=from_stage, rerun_of=rerun_of)
    try:
        submit_run(connection, settings, record.run_id)
    except redis.RedisError:
        remove_run(settings, record.run_id)
        raise
    return read_run(settings, record.run_id)


def _enqueue(
    queue: Queue, settings: Settings, run_id: str, symbol: str, stage: str, parent: Job | None
) -> Job:
    return queue.enqueue(
        STAGE_JOB,
        kwargs={"run_id": run_id, "symbol": symbol, "stage": stage},
        job_id=stage_job_id(run_id, symbol, stage),
        depends_on=parent,
        result_ttl=settings.result_ttl_s,
        failure_ttl=settings.failure_ttl_s,
        description=f"{stage} {symbol} ({run_id})",
        meta={"run_id": run_id, "symbol": symbol, "stage": stage, "status": StageStatus.QUEUED, "percent": 0},
    )


def submit_run(connection: redis.Redis, settings: Settings, run_id: str) -> dict[str, dict[str, str]]:
    """Enqueue each symbol's pending stages up to its labels, each depending on the one before; the
    splits follow through ``advance`` (at once when the labels are reused from an earlier run)."""
    record = read_run(settings, run_id)
    queue = pipeline_queue(connection, settings)
    chain = STAGE_NAMES[: STAGE_NAMES.index(PLANNED_STAGE)]
    jobs: dict[str, dict[str, str]] = {}
    for symbol, sym in record.symbols.items():
        parent: Job | None = None
        jobs[symbol] = {}
        for stage in chain:
            if sym.stages[stage].status == StageStatus.PENDING:
                parent = _enqueue(queue, settings, run_id, symbol, stage, parent)
                jobs[symbol][stage] = parent.id

    def store(r: RunRecord) -> None:
        r.jobs = jobs
        for symbol, stages in jobs.items():
            for stage in stages:
                r.stage(symbol, stage).status = StageStatus.QUEUED

    update_run(settings, run_id, store)
    advance(connection, settings, run_id)
    return read_run(settings, run_id).jobs


def advance(connection: redis.Redis, settings: Settings, run_id: str) -> list[str]:
    """Once every symbol's labels are settled: make the split plan and queue each waiting symbol's
    splits job. Safe to call any time from any process; returns the symbols it queued."""
    if plan_run(settings, run_id).split_plan is None:
        return []
    queue = pipeline_queue(connection, settings)
    queued: list[str] = []

    def claim(r: RunRecord) -> None:
        # Under the run's lock, so two callers never queue the same symbol; the enqueue happens here
        # too, so a waiter never sees a claimed job that is not in Redis yet.
        for symbol, sym in r.symbols.items():
            step = sym.stages[PLANNED_STAGE]
            if (
                step.status != StageStatus.PENDING
                or sym.status == SymbolStatus.FAILED
                or PLANNED_STAGE in r.jobs.get(symbol, {})
            ):
                continue
            job = _enqueue(queue, settings, run_id, symbol, PLANNED_STAGE, None)
            r.jobs.setdefault(symbol, {})[PLANNED_STAGE] = job.id
            step.status = StageStatus.QUEUED
            queued.append(symbol)

    update_run(settings, run_id, claim)
    return queued


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
    """Record failures RQ knows of but the run does not (a killed work horse never reached our handler),
    and queue stage jobs RQ marked ready but left behind (plain `rq worker`s only look every 10 min)."""
    enqueue_ready_jobs(connection, [PIPELINE_QUEUE])
    record = read_run(settings, run_id)
    for symbol, stages in record.jobs.items():
        sym = record.symbols[symbol]
        if sym.status in SYMBOL_ENDED:
            continue
        for stage, job_id in stages.items():
            if sym.stages[stage].status not in STAGE_OPEN:
                continue
            status, _ = _job_state(connection, job_id)
            if status in DEAD_JOB_STATES or status is None:
                update_run(
                    settings,
                    run_id,
                    functools.partial(_fail_if_dead, connection, symbol=symbol, stage=stage, job_id=job_id),
                )
                cancel_downstream(connection, run_id, symbol, stage)
                break
    advance(connection, settings, run_id)


def _fail_if_dead(connection: redis.Redis, record: RunRecord, symbol: str, stage: str, job_id: str) -> None:
    """Under the lock, on the fresh record and a fresh look at RQ: the stage's own handler may have
    written first, or the job may have been queued a moment ago."""
    if record.stage(symbol, stage).status not in STAGE_OPEN:
        return
    status, reason = _job_state(connection, job_id)
    if status in DEAD_JOB_STATES or status is None:
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


def wait_for_run(
    settings: Settings,
    run_id: str,
    connection: redis.Redis,
    watch: Watcher | None = None,
    poll_s: float = POLL_S,
) -> RunRecord:
    """Block until every symbol is done or failed, checking RQ now and then for jobs that died silently.

    ``watch`` also gets how many workers listen on the queue (0: nothing will move).
    """
    last_reconcile = time.monotonic()
    listening = workers(connection)
    while True:
        record = read_run(settings, run_id)
        if watch:
            watch(record, listening)
        if is_finished(record):
            return record
        if time.monotonic() - last_reconcile >= RECONCILE_EVERY_S:
            reconcile(connection, settings, run_id)
            listening = workers(connection)
            last_reconcile = time.monotonic()
        time.sleep(poll_s)
