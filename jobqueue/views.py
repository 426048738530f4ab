"""What screens read from Redis: whether it is there at all, queue health, and the progress workers
write to job meta. Every function here answers "down" (None, or a reason) instead of raising, because
a page must keep showing the disk's truth when Redis is away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
from rq.job import Job

from jobqueue.connect import NOT_CONFIGURED, connect, redacted, resolve_url
from jobqueue.ids import ingest_job_id
from jobqueue.names import SERIALIZER
from jobqueue.runs import reconcile
from jobqueue.status import queue_summary
from trading_pipeline.errors import QueueUnavailableError
from trading_pipeline.settings import Settings
from trading_pipeline.stages.records import RunRecord
from trading_pipeline.stages.runs import is_finished, read_run

__all__ = [
    "QueueHealth",
    "RedisLink",
    "fresh_run",
    "ingest_progress",
    "queue_health",
    "resolve_redis",
    "run_live",
]

PROBE_TIMEOUT_S = 2.0
"""A page waits at most this long for an absent Redis before saying it is down."""


@dataclass(frozen=True)
class RedisLink:
    """A checked client, or why there is none (``connection`` None: Redis is down or not configured)."""

    connection: redis.Redis | None
    url: str
    """Redacted: fit for a page."""
    problem: str = ""

    @property
    def up(self) -> bool:
        return self.connection is not None


_CLIENTS: dict[tuple[str, float], redis.Redis] = {}
"""One client (one connection pool) per URL for the life of the process: a page asks on every refresh."""


def resolve_redis(settings: Settings, *, timeout_s: float = PROBE_TIMEOUT_S) -> RedisLink:
    """The Redis the settings (or a running `pipeline up`) name, answering PING; never raises."""
    url = resolve_url(settings)
    if url is None:
        return RedisLink(None, "", NOT_CONFIGURED)
    try:
        client = _CLIENTS.get((url, timeout_s))
        if client is None:
            client = _CLIENTS.setdefault((url, timeout_s), connect(url, check=False, timeout_s=timeout_s))
        client.ping()
    except Exception as exc:  # a RedisError, or a malformed URL
        reason = str(exc) or type(exc).__name__
        return RedisLink(None, redacted(url), QueueUnavailableError(url=redacted(url), reason=reason).message)
    return RedisLink(client, redacted(url))


@dataclass(frozen=True)
class QueueHealth:
    """What `rq info` shows: counts per queue, the workers and what each does, the latest failures."""

    queues: list[dict[str, Any]] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)


def queue_health(link: RedisLink, *, failures: int = 10) -> QueueHealth | None:
    """The queues' state, or None when Redis is down or stops answering midway."""
    if link.connection is None:
        return None
    try:
        summary = queue_summary(link.connection, failures=failures)
    except redis.RedisError:
        return None
    return QueueHealth(summary["queues"], summary["workers"], summary["failures"])


def _metas(connection: redis.Redis, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not job_ids:
        return {}
    try:
        jobs = Job.fetch_many(job_ids, connection=connection, serializer=SERIALIZER)
    except redis.RedisError:
        return {}
    return {job_id: dict(job.meta) for job_id, job in zip(job_ids, jobs, strict=True) if job is not None}


def ingest_progress(link: RedisLink, source_id: str, sha256s: Iterable[str]) -> dict[str, tuple[str, float]]:
    """sha256 -> (stage, percent) of each file's ingest job that Redis still holds."""
    if link.connection is None:
        return {}
    ids = {ingest_job_id(source_id, sha): sha for sha in sha256s}
    metas = _metas(link.connection, list(ids))
    return {
        ids[job_id]: (str(meta.get("stage", "")), float(meta.get("percent", 0) or 0))
        for job_id, meta in metas.items()
    }


def run_live(link: RedisLink, record: RunRecord) -> dict[tuple[str, str], dict[str, Any]]:
    """(symbol, stage) -> the meta its job last wrote (``percent``, ``status``, ``reason``)."""
    if link.connection is None:
        return {}
    keys = {
        job_id: (symbol, stage) for symbol, stages in record.jobs.items() for stage, job_id in stages.items()
    }
    return {keys[job_id]: meta for job_id, meta in _metas(link.connection, list(keys)).items()}


def fresh_run(link: RedisLink, settings: Settings, run_id: str) -> RunRecord:
    """The run's record; an unfinished queued run is first checked against RQ, so a stage whose worker
    died shows as failed. Without Redis: what run.json says."""
    record = read_run(settings, run_id)
    if record.mode != "rq" or is_finished(record) or link.connection is None:
        return record
    try:
        reconcile(link.connection, settings, run_id)
    except redis.RedisError:
        return record
    return read_run(settings, run_id)
