"""The work list in Redis: queue names, job ids, and idempotent enqueueing of ingest jobs.

Redis only holds work; the ledger on disk is the truth. Job functions are referenced by dotted path
(a wire format: never rename ``workers.jobs`` without draining the queues) and take JSON-friendly
arguments, serialised with RQ's JSON serializer (no pickle).
"""

from __future__ import annotations

import hashlib
from typing import Any

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from pipeline.errors import QueueUnavailableError
from pipeline.ingest.options import IngestOptions
from pipeline.settings import Settings

__all__ = [
    "INGEST_JOB",
    "INGEST_QUEUE",
    "PIPELINE_QUEUE",
    "SERIALIZER",
    "connect_redis",
    "enqueue_ingest",
    "ingest_job_id",
    "ingest_queue",
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
