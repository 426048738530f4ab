"""The work list: everything that talks to Redis through RQ.

Queue and job names (a wire format), the one way to connect, job ids, enqueueing ingest jobs and
research runs, getting work back from dead workers, and what the queues are doing. The core package
(``trading_pipeline``) never imports this: Redis only holds work, the disk is the truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from jobqueue.connect import connect, connect_settings, redacted, resolve_url
    from jobqueue.ids import ingest_job_id, stage_job_id
    from jobqueue.ingest import IngestRequest, enqueue_ingest, enqueue_ingest_many, ingest_queue
    from jobqueue.names import (
        ACTIVE_JOB_STATES,
        DEAD_JOB_STATES,
        DEFAULT_QUEUES,
        INGEST_JOB,
        INGEST_QUEUE,
        PIPELINE_QUEUE,
        SERIALIZER,
        STAGE_JOB,
    )
    from jobqueue.recovery import enqueue_ready_jobs, recover_abandoned_jobs, requeue_lost_jobs

_EXPORTS = {
    "connect": "jobqueue.connect",
    "connect_settings": "jobqueue.connect",
    "redacted": "jobqueue.connect",
    "resolve_url": "jobqueue.connect",
    "ingest_job_id": "jobqueue.ids",
    "stage_job_id": "jobqueue.ids",
    "IngestRequest": "jobqueue.ingest",
    "enqueue_ingest": "jobqueue.ingest",
    "enqueue_ingest_many": "jobqueue.ingest",
    "ingest_queue": "jobqueue.ingest",
    "ACTIVE_JOB_STATES": "jobqueue.names",
    "DEAD_JOB_STATES": "jobqueue.names",
    "DEFAULT_QUEUES": "jobqueue.names",
    "INGEST_JOB": "jobqueue.names",
    "INGEST_QUEUE": "jobqueue.names",
    "PIPELINE_QUEUE": "jobqueue.names",
    "SERIALIZER": "jobqueue.names",
    "STAGE_JOB": "jobqueue.names",
    "enqueue_ready_jobs": "jobqueue.recovery",
    "recover_abandoned_jobs": "jobqueue.recovery",
    "requeue_lost_jobs": "jobqueue.recovery",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ACTIVE_JOB_STATES",
    "DEAD_JOB_STATES",
    "DEFAULT_QUEUES",
    "INGEST_JOB",
    "INGEST_QUEUE",
    "PIPELINE_QUEUE",
    "SERIALIZER",
    "STAGE_JOB",
    "IngestRequest",
    "connect",
    "connect_settings",
    "enqueue_ingest",
    "enqueue_ingest_many",
    "enqueue_ready_jobs",
    "ingest_job_id",
    "ingest_queue",
    "recover_abandoned_jobs",
    "redacted",
    "requeue_lost_jobs",
    "resolve_url",
    "stage_job_id",
]
