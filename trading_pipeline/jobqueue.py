"""The work list in Redis: queue names, job ids, and idempotent enqueueing of ingest jobs.

Redis only holds work; the ledger on disk is the truth. Job functions are referenced by dotted path
(a wire format: never rename ``workers.jobs`` without draining the queues) and take JSON-friendly
arguments, serialised with RQ's JSON serializer (no pickle).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from trading_pipeline.errors import QueueUnavailableError
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings

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
]

INGEST_QUEUE = "ingest"
PIPELINE_QUEUE = "pipeline"
INGEST_JOB = "workers.jobs.ingest_job"
SERIALIZER = JSONSerializer
ACTIVE_STATUSES: frozenset[JobStatus] = frozenset(
    {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
)


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
    return enqueue_ingest_many(connection, settings, [IngestRequest(path, sha256, options)])[0]
