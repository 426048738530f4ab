"""The work list in Redis: queue names, job ids, and idempotent enqueueing of ingest jobs.

Redis only holds work; the ledger on disk is the truth. Job functions are referenced by dotted path
(a wire format: never rename ``workers.jobs`` without draining the queues) and take JSON-friendly
arguments, serialised with RQ's JSON serializer (no pickle).
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from pipeline.errors import QueueUnavailableError
from pipeline.ingest.options import IngestOptions
from pipeline.settings import Settings

__all__ = [
    "INGEST_JOB",
    "INGEST_QUEUE",
    "PIPELINE_QUEUE",
    "SERIALIZER",
    "IngestRequest",
    "connect_redis",
    "enqueue_ingest",
    "enqueue_ingest_many",
    "ingest_job_id",
    "ingest_queue",
    "recover_abandoned_jobs",
    "requeue_lost_jobs",
    "worker_is_dead",
]

INGEST_QUEUE = "ingest"
PIPELINE_QUEUE = "pipeline"
INGEST_JOB = "workers.jobs.ingest_job"
SERIALIZER = JSONSerializer
ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED})


def connect_redis(url: str, *, check: bool = True) -> redis.Redis:
    """A client for RQ (``decode_responses`` must stay False); raises a clear error when unreachable."""
    client = redis.Redis.from_url(url)
    if check:
        try:
            client.ping()
        except redis.RedisError as exc:
            raise QueueUnavailableError(url=url, reason=str(exc) or type(exc).__name__) from exc
    return client


def redis_from_settings(settings: Settings) -> redis.Redis:
    if not settings.redis_url:
        raise QueueUnavailableError(url="(unset)", reason="PIPELINE_REDIS_URL / REDIS_URL is not set")
    return connect_redis(settings.redis_url)


def ingest_queue(connection: redis.Redis, settings: Settings) -> Queue:
    return Queue(
        INGEST_QUEUE,
        connection=connection,
        serializer=SERIALIZER,
        default_timeout=settings.job_timeout_s,
    )


def ingest_job_id(source_id: str, sha256: str) -> str:
    """One job per (source, content): the same bytes dropped twice, or a reconcile racing an event,
    map to the same id. RQ ids allow only ``[A-Za-z0-9_-]``; source ids are restricted to that too,
    but hash them defensively so an id is always valid."""
    safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in source_id)
    if safe != source_id:
        safe = f"{safe[:40]}_{hashlib.sha256(source_id.encode()).hexdigest()[:8]}"
    return f"ingest-{safe}-{sha256[:32]}"


def _retry(settings: Settings) -> Retry | None:
    """Backoff for transient failures; intervals need a worker started with the scheduler."""
    return Retry(max=settings.ingest_retries, interval=[1, 5, 15]) if settings.ingest_retries else None


def enqueue_ingest(
    connection: redis.Redis,
    settings: Settings,
    *,
    path: str,
    sha256: str,
    options: IngestOptions,
) -> str | None:
    """Enqueue the ingest of ``path`` unless a job for the same content is already waiting or running.

    Returns the job id when a job was enqueued, ``None`` when one was already active. A finished or
    failed job with the same id is replaced: the job itself is idempotent (the ledger turns a second
    run into a no-op or a ``duplicate``), so re-running is always safe; double-queueing is what we avoid.
    """
    job_id = ingest_job_id(options.source_id, sha256)
    lock = connection.set(f"pipeline:enqueue-lock:{job_id}", b"1", nx=True, ex=5)
    if not lock:
        return None
    try:
        try:
            existing = Job.fetch(job_id, connection=connection, serializer=SERIALIZER)
        except NoSuchJobError:
            existing = None
        if existing is not None:
            if existing.get_status(refresh=False) in ACTIVE_STATUSES:
                return None
            existing.delete()
        queue = ingest_queue(connection, settings)
        kwargs: dict[str, Any] = {"path": path, "sha256": sha256, "options": options.to_json()}
        queue.enqueue(
            INGEST_JOB,
            kwargs=kwargs,
            job_id=job_id,
            result_ttl=settings.result_ttl_s,
            failure_ttl=settings.failure_ttl_s,
            retry=_retry(settings),
            description=f"ingest {path}",
            meta={"path": path, "source": options.source_id, "stage": "queued", "percent": 0},
        )
        return job_id
    finally:
        connection.delete(f"pipeline:enqueue-lock:{job_id}")


# --- abandoned jobs -------------------------------------------------------------------------------
# Agreement between the workers (H-workers) and the daemon (H-daemon), both call this:
#   * RQ alone notices a SIGKILLed worker only after its ~90 s heartbeat expires AND some process runs
#     a registry cleanup (every 600 s by default): up to ~11 minutes.
#   * ``recover_abandoned_jobs`` instead asks "is the worker that holds this job alive?": a worker on
#     this host whose pid (and whose work horse's pid, kept in ``job.meta["pid"]``) no longer exists,
#     or whose Redis key is gone or marked dead, is dead, and its job goes straight back to the FRONT
#     of its queue. Workers on other hosts fall back to RQ's heartbeat expiry.
#   * Who calls it: `pipeline up` as soon as a worker child exits; every `pipeline worker` at start-up
#     and every ``RECOVERY_INTERVAL_S`` in its maintenance; the daemon's reconcile may call it too
#     (cheap, idempotent, guarded by a per-execution lock) before it re-enqueues ledger rows that are
#     stuck in ``queued``/``ingesting`` with no active job.
#   * A job abandoned more than ``MAX_ABANDONS`` times (a file that kills its worker every time) is
#     handed to RQ's own abandoned-job path instead: its Retry budget, then FailedJobRegistry.
#   * Re-running is safe: output paths are a function of the content and the ledger makes a finished
#     file a no-op, so the result is one copy of the data.
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
    with connection.pipeline() as pipe:
        pipe.zrem(registry.key, f"{job_id}:{execution_id}")
        pipe.delete(f"rq:execution:{job_id}:{execution_id}")
        pipe.execute()
    return True


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _as_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class IngestRequest:
    """One file to ingest: what ``enqueue_ingest`` takes, as a value a batch can hold."""

    path: str
    sha256: str
    options: IngestOptions

    @property
    def job_id(self) -> str:
        return ingest_job_id(self.options.source_id, self.sha256)


def enqueue_ingest_many(
    connection: redis.Redis, settings: Settings, requests: Sequence[IngestRequest]
) -> list[str | None]:
    """``enqueue_ingest`` for a batch, in a handful of Redis round trips instead of ~10 per file.

    Same rules, same locks: a job id that is already waiting or running (or locked by a concurrent
    enqueue) is skipped; a finished/failed job with the same id is replaced. Returns, per request, the job
    id when this call enqueued it, else ``None`` (also for a repeat of an id earlier in the same batch).
    """
    unique = list(dict.fromkeys(r.job_id for r in requests))
    if not unique:
        return [None] * len(requests)
    with connection.pipeline(transaction=False) as pipe:
        for job_id in unique:
            pipe.set(f"pipeline:enqueue-lock:{job_id}", b"1", nx=True, ex=5)
        locked = [job_id for job_id, ok in zip(unique, pipe.execute(), strict=True) if ok]
    try:
        enqueued = _enqueue_locked(connection, settings, requests, locked)
    finally:
        if locked:
            connection.delete(*(f"pipeline:enqueue-lock:{job_id}" for job_id in locked))
    results: list[str | None] = []
    for request in requests:
        job_id = request.job_id
        results.append(job_id if job_id in enqueued else None)
        enqueued.discard(job_id)
    return results


def _enqueue_locked(
    connection: redis.Redis, settings: Settings, requests: Sequence[IngestRequest], locked: list[str]
) -> set[str]:
    with connection.pipeline(transaction=False) as pipe:
        for job_id in locked:
            pipe.hget(Job.key_for(job_id), "status")
        statuses = pipe.execute()
    active = {status.value for status in ACTIVE_STATUSES}
    to_enqueue: list[str] = []
    for job_id, raw in zip(locked, statuses, strict=True):
        status = raw.decode() if isinstance(raw, bytes) else raw
        if status in active:
            continue
        if status is not None:
            _delete_stale(connection, job_id)
        to_enqueue.append(job_id)
    first: dict[str, IngestRequest] = {}
    for request in requests:
        first.setdefault(request.job_id, request)
    retry = _retry(settings)
    datas = [
        Queue.prepare_data(
            INGEST_JOB,
            kwargs={"path": r.path, "sha256": r.sha256, "options": r.options.to_json()},
            job_id=r.job_id,
            result_ttl=settings.result_ttl_s,
            failure_ttl=settings.failure_ttl_s,
            retry=retry,
            description=f"ingest {r.path}",
            meta={"path": r.path, "source": r.options.source_id, "stage": "queued", "percent": 0},
        )
        for r in (first[job_id] for job_id in to_enqueue)
    ]
    if datas:
        ingest_queue(connection, settings).enqueue_many(datas)
    return set(to_enqueue)


def _delete_stale(connection: redis.Redis, job_id: str) -> None:
    """Drop a finished/failed job and its registry entries before reusing its id."""
    try:
        Job.fetch(job_id, connection=connection, serializer=SERIALIZER).delete()
    except NoSuchJobError:
        pass
    except Exception:  # an unreadable hash: enqueue overwrites it anyway
        connection.delete(Job.key_for(job_id))


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
