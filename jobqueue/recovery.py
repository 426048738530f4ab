"""Getting work back from dead workers, faster and more surely than RQ alone.

The workers, `pipeline up` and the daemon all call this:
  * RQ alone notices a SIGKILLed worker only after its ~90 s heartbeat expires AND some process runs
    a registry cleanup (every 600 s by default): up to ~11 minutes.
  * ``recover_abandoned_jobs`` instead asks "is the worker that holds this job alive?": a worker on
    this host whose pid (and whose work horse's pid, kept in ``job.meta["pid"]``) no longer exists,
    or whose Redis key is gone or marked dead, is dead, and its job goes straight back to the FRONT
    of its queue. Workers on other hosts fall back to RQ's heartbeat expiry.
  * Who calls it: `pipeline up` as soon as a worker child exits; every `pipeline worker` at start-up
    and every ``RECOVERY_INTERVAL_S`` in its maintenance; the daemon's reconcile may call it too
    (cheap, idempotent, guarded by a per-execution lock) before it re-enqueues ledger rows that are
    stuck in ``queued``/``ingesting`` with no active job.
  * A job abandoned more than ``MAX_ABANDONS`` times (a file that kills its worker every time) is
    handed to RQ's own abandoned-job path instead: its Retry budget, then FailedJobRegistry.
  * Re-running is safe: output paths are a function of the content and the ledger makes a finished
    file a no-op, so the result is one copy of the data.
  * ``enqueue_ready_jobs`` puts on their queue the dependents (stage jobs) that RQ marked ready but
    left behind when two workers finished jobs at the same moment.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from typing import Any

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import ReadyJobRegistry, StartedJobRegistry

from jobqueue.names import INGEST_QUEUE, PIPELINE_QUEUE, SERIALIZER

__all__ = [
    "MAX_ABANDONS",
    "enqueue_ready_jobs",
    "recover_abandoned_jobs",
    "requeue_lost_jobs",
    "worker_is_dead",
]

MAX_ABANDONS = 3


def worker_is_dead(connection: redis.Redis, worker_name: str, horse_pid: int | None = None) -> bool:
    """True when the named worker certainly no longer runs its job; False when alive or unknowable."""
    if not worker_name:
        return False
    data = {_text(k): _text(v) for k, v in connection.hgetall(f"rq:worker:{worker_name}").items()}
    if not data or "death" in data:
        return True
    if data.get("hostname") != socket.gethostname():
        return False  # another machine: only RQ's heartbeat expiry can tell
    pids = [_as_int(data.get("pid")), int(horse_pid or 0)]
    return not any(_pid_alive(pid) for pid in pids if pid > 0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_abandoned_jobs(connection: redis.Redis, queue_names: Iterable[str] | None = None) -> list[str]:
    """Requeue (at the front) every started job whose worker is dead; returns the recovered job ids."""
    names = list(queue_names) if queue_names is not None else [INGEST_QUEUE, PIPELINE_QUEUE]
    recovered: list[str] = []
    for name in names:
        queue = Queue(name, connection=connection, serializer=SERIALIZER)
        registry = StartedJobRegistry(queue=queue)
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            if _recover_one(connection, queue, registry, job_id, execution_id):
                recovered.append(job_id)
    return recovered


def _recover_one(
    connection: redis.Redis, queue: Queue, registry: StartedJobRegistry, job_id: str, execution_id: str
) -> bool:
    worker = connection.hget(f"rq:execution:{job_id}:{execution_id}", "worker_name")
    try:
        job = Job.fetch(job_id, connection=connection, serializer=SERIALIZER)
    except Exception:  # the job hash expired or is unreadable: nothing to rerun
        connection.zrem(registry.key, f"{job_id}:{execution_id}")
        return False
    worker_name = _text(worker) or (job.worker_name or "")
    if not worker_is_dead(connection, worker_name, _as_int(job.meta.get("pid"))):
        return False
    if not connection.set(f"pipeline:recover-lock:{job_id}:{execution_id}", b"1", nx=True, ex=60):
        return False
    abandons = _as_int(job.meta.get("abandoned")) + 1
    if abandons > MAX_ABANDONS:
        # Let RQ's own cleanup apply the Retry budget and then FailedJobRegistry.
        connection.zadd(registry.key, {f"{job_id}:{execution_id}": 0}, xx=True)
        registry.cleanup()
        return False
    job.meta.update({"abandoned": abandons, "stage": "requeued", "percent": 0})
    job.save_meta()  # type: ignore[no-untyped-call]
    # Queue first, then forget the dead execution: a crash in between runs the job twice (harmless),
    # never zero times. (No shared pipeline: enqueue_job WATCHes the dependencies of stage jobs.)
    queue.enqueue_job(job, at_front=True)
    # RQ's own delete knows every key rq 3 keeps for an execution: its hash, the started registry
    # entry, the job's execution registry and the dead worker's index of its executions.
    execution = Execution(execution_id, job_id, connection, worker_name=worker_name)
    with connection.pipeline() as pipe:
        execution.delete(job=job, pipeline=pipe)
        pipe.execute()
    return True


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _as_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def requeue_lost_jobs(
    connection: redis.Redis, queue_names: Iterable[str] | None = None, *, settle_s: float = 1.0
) -> list[str]:
    """Requeue jobs whose status is ``queued`` but that sit in no queue and in no started registry.

    A worker listening on several queues takes a job with BLPOP; killed before it registers the job as
    started (a window of milliseconds), the job is in neither place and nothing would ever run it.
    This scans every job key (SCAN, cheap but not free), so it runs when a worker is known to have died
    or started, not periodically; ``settle_s`` lets live workers finish registering jobs they just took.
    """
    names = list(queue_names) if queue_names is not None else [INGEST_QUEUE, PIPELINE_QUEUE]
    lost = _lost_jobs(connection, names)
    if lost and settle_s > 0:
        time.sleep(settle_s)
        lost = {job_id: queue for job_id, queue in _lost_jobs(connection, names).items() if job_id in lost}
    recovered = []
    for job_id, queue_name in lost.items():
        if not connection.set(f"pipeline:recover-lock:{job_id}:lost", b"1", nx=True, ex=60):
            continue
        try:
            job = Job.fetch(job_id, connection=connection, serializer=SERIALIZER)
        except NoSuchJobError:  # expired meanwhile
            continue
        Queue(queue_name, connection=connection, serializer=SERIALIZER).enqueue_job(job, at_front=True)
        recovered.append(job_id)
    return recovered


def _lost_jobs(connection: redis.Redis, names: list[str]) -> dict[str, str]:
    present: set[str] = set()
    for name in names:
        queue = Queue(name, connection=connection, serializer=SERIALIZER)
        present.update(queue.get_job_ids())
        present.update(StartedJobRegistry(queue=queue).get_job_ids(cleanup=False))
    keys = [_text(k) for k in connection.scan_iter(match="rq:job:*", count=1000)]
    keys = [k for k in keys if k.count(":") == 2]  # not rq:job:<id>:dependents and friends
    with connection.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hmget(key, "status", "origin")
        rows = pipe.execute()
    lost = {}
    for key, (status, origin) in zip(keys, rows, strict=True):
        job_id, queue_name = key.removeprefix("rq:job:"), _text(origin)
        if _text(status) == JobStatus.QUEUED.value and queue_name in names and job_id not in present:
            lost[job_id] = queue_name
    return lost


def enqueue_ready_jobs(connection: redis.Redis, queue_names: Iterable[str] | None = None) -> list[str]:
    """Queue the dependents RQ marked ready to enqueue but left in its ready registry; returns their ids.

    rq 3 moves a finished job's dependents to a per-queue ready registry, then enqueues each one in a
    transaction that WATCHes the whole registry. When another worker touches the registry in between
    (it finished a job with dependents too), RQ gives up on that dependent until its registry
    maintenance, every 10 minutes by default: a research run stalls. Measured with two workers on 40
    four-stage chains: 5-10 of the 160 jobs were left behind. RQ's own cleanup re-checks each job under
    WATCH, so calling this often never queues a job twice; it costs one ZRANGE per queue when empty.
    """
    names = list(queue_names) if queue_names is not None else [INGEST_QUEUE, PIPELINE_QUEUE]
    enqueued: list[str] = []
    for name in names:
        registry = ReadyJobRegistry(name, connection=connection, serializer=SERIALIZER)
        enqueued += [job.id for job in registry.cleanup()]
    return enqueued
