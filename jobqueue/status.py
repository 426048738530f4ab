"""What the queues and workers are doing, for people (`pipeline jobs`, the UI).

Registries are read with ``cleanup=False``: a cleanup can run failure callbacks under SIGALRM, which
fails outside the main thread (the Streamlit script thread) and is not a reader's business anyway.
"""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import (
    BaseRegistry,
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.worker import BaseWorker

from jobqueue.names import INGEST_QUEUE, PIPELINE_QUEUE, SERIALIZER

__all__ = ["queue_summary"]

REGISTRIES: dict[str, type[BaseRegistry]] = {
    "started": StartedJobRegistry,
    "finished": FinishedJobRegistry,
    "failed": FailedJobRegistry,
    "scheduled": ScheduledJobRegistry,
    "deferred": DeferredJobRegistry,
    "canceled": CanceledJobRegistry,
}


def queue_summary(connection: redis.Redis, *, failures: int = 10) -> dict[str, Any]:
    """Counts per queue, the workers, and the latest ``failures`` failed jobs with their exception."""
    known = {q.name for q in Queue.all(connection=connection, serializer=SERIALIZER)}
    queues = [Queue(n, connection=connection, serializer=SERIALIZER) for n in sorted(known | _DEFAULT)]
    return {
        "queues": [_queue_counts(q) for q in queues],
        "workers": [_worker_info(w) for w in Worker.all(connection=connection)],
        "failures": _latest_failures(connection, queues, failures),
    }


_DEFAULT = {INGEST_QUEUE, PIPELINE_QUEUE}


def _queue_counts(queue: Queue) -> dict[str, Any]:
    counts: dict[str, Any] = {"queue": queue.name, "queued": queue.count}
    for name, cls in REGISTRIES.items():
        registry = cls(queue=queue, serializer=SERIALIZER)
        counts[name] = registry.get_job_count(cleanup=False)
    return counts


def _worker_info(worker: BaseWorker) -> dict[str, Any]:
    return {
        "name": worker.name,
        "state": worker.get_state(),
        "queues": worker.queue_names(),
        "current_job": worker.get_current_job_id(),
        "hostname": worker.hostname,
        "pid": worker.pid,
        "successful_jobs": worker.successful_job_count,
        "failed_jobs": worker.failed_job_count,
        "last_heartbeat": worker.last_heartbeat.isoformat() if worker.last_heartbeat else None,
    }


def _latest_failures(connection: redis.Redis, queues: list[Queue], limit: int) -> list[dict[str, Any]]:
    """Most recent first: a failed job's score is its expiry, i.e. failure time + failure_ttl."""
    scored: list[tuple[float, str, str]] = []
    for queue in queues:
        registry = FailedJobRegistry(queue=queue, serializer=SERIALIZER)
        entries: Any = connection.zrevrange(registry.key, 0, limit - 1, withscores=True)
        for member, score in entries:
            text = member.decode() if isinstance(member, bytes) else str(member)
            scored.append((float(score), queue.name, text))
    scored.sort(reverse=True)
    rows = []
    for _score, queue_name, job_id in scored[:limit]:
        job = Job.fetch_many([job_id], connection=connection, serializer=SERIALIZER)[0]
        if job is None:
            continue
        exc = job.exc_info or ""
        rows.append(
            {
                "job_id": job_id,
                "queue": queue_name,
                "description": job.description,
                "path": job.meta.get("path"),
                "ended_at": job.ended_at.isoformat() if job.ended_at else None,
                "error": _last_line(exc),
                "exception": exc,
            }
        )
    return rows


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
