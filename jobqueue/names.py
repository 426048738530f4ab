"""Names that are a wire format between processes: queues, job function paths, the serializer.

Job function paths are stored in Redis with every job: renaming a module or function here strands the
jobs already queued, so drain the queues before an upgrade that changes one (docs/operations.md).
"""

from __future__ import annotations

from rq.job import JobStatus
from rq.serializers import JSONSerializer

__all__ = [
    "ACTIVE_JOB_STATES",
    "DEAD_JOB_STATES",
    "DEFAULT_QUEUES",
    "INGEST_JOB",
    "INGEST_QUEUE",
    "PIPELINE_QUEUE",
    "SERIALIZER",
    "STAGE_JOB",
]

INGEST_QUEUE = "ingest"
"""One job per (source, content sha256): validate and store one input file."""
PIPELINE_QUEUE = "pipeline"
"""One job per (run, symbol, stage) of the research pipeline."""
DEFAULT_QUEUES = (INGEST_QUEUE, PIPELINE_QUEUE)
"""What `pipeline worker` and `pipeline up` listen on, in priority order."""
INGEST_JOB = "workers.jobs.ingest_job"
STAGE_JOB = "workers.run_jobs.run_stage"
SERIALIZER = JSONSerializer
"""JSON, never pickle: nothing a job carries can execute code when it is loaded."""
ACTIVE_JOB_STATES: frozenset[JobStatus] = frozenset(
    {
        JobStatus.QUEUED,
        JobStatus.STARTED,
        JobStatus.DEFERRED,
        JobStatus.SCHEDULED,
        JobStatus.READY_TO_ENQUEUE,  # rq 3: a dependent whose parents finished, on its way to the queue
        JobStatus.RATE_LIMITED,  # rq 3: waiting for a concurrency slot
    }
)
"""RQ states in which a job will still run: its id is never enqueued a second time."""
DEAD_JOB_STATES: frozenset[JobStatus] = frozenset({JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})
"""RQ states in which a job will not run again by itself."""
