"""What screens do through the queue: launch and rerun research runs, requeue or delete failed jobs.

The CLI and the UI both call these, so a run started from either is the same run.
"""

from __future__ import annotations

import redis
from rq.job import Job
from rq.registry import FailedJobRegistry

from jobqueue.names import SERIALIZER
from jobqueue.runs import start_queued_run
from trading_pipeline.errors import UsageError
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import RunConfig
from trading_pipeline.stages.records import RunRecord
from trading_pipeline.stages.runner import check_symbols, prepare_rerun
from trading_pipeline.stages.runs import STAGE_NAMES

__all__ = ["delete_failed_job", "launch_run", "requeue_failed_job", "rerun"]


def launch_run(connection: redis.Redis, settings: Settings, config: RunConfig) -> RunRecord:
    """Check the symbols against the source, create the run and queue its stage jobs."""
    return start_queued_run(connection, settings, check_symbols(settings, config))


def rerun(connection: redis.Redis, settings: Settings, run_id: str, from_stage: str = "load") -> RunRecord:
    """A new run with ``run_id``'s config, reusing its outputs of the stages before ``from_stage``."""
    config, old = prepare_rerun(settings, run_id, from_stage)
    if from_stage == STAGE_NAMES[0]:
        check_symbols(settings, config)
    return start_queued_run(connection, settings, config, from_stage=from_stage, rerun_of=old)


def _failed_job(connection: redis.Redis, job_id: str) -> Job:
    try:
        job = Job.fetch(job_id, connection=connection, serializer=SERIALIZER)
    except Exception as exc:  # NoSuchJobError: expired or deleted meanwhile
        raise UsageError(f"job {job_id} is no longer in Redis") from exc
    if not job.is_failed:
        raise UsageError(f"job {job_id} is {job.get_status(refresh=False)}, not failed")
    return job


def requeue_failed_job(connection: redis.Redis, job_id: str) -> None:
    """Put a failed job back on its queue, as `rq requeue` does."""
    job = _failed_job(connection, job_id)
    registry = FailedJobRegistry(job.origin, connection=connection, serializer=SERIALIZER)
    registry.requeue(job)


def delete_failed_job(connection: redis.Redis, job_id: str) -> None:
    """Delete a failed job and its registry entry (the ledger keeps the file's own record)."""
    _failed_job(connection, job_id).delete()
