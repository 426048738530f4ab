"""RQ job entrypoints of the research pipeline: one call runs one stage of one symbol of a run.

This module path is a wire format: RQ stores ``workers.run_jobs.run_stage`` in Redis, so never rename it
without draining the ``pipeline`` queue. Arguments are JSON-friendly ids; the data hand-over between
stages happens on disk under ``runs/<run_id>/``.
"""

from __future__ import annotations

from rq import get_current_job

from jobqueue.runs import advance, cancel_downstream
from trading_pipeline.settings import get_settings
from trading_pipeline.stages.execute import execute_stage

__all__ = ["run_stage"]

LABELS = "labels"
"""The last stage before the run's split plan: finishing it may make the plan due."""


def run_stage(run_id: str, symbol: str, stage: str) -> dict[str, float]:
    """Run the stage; on failure cancel this symbol's later jobs, which RQ would leave deferred forever."""
    settings = get_settings()
    job = get_current_job()

    def report(meta: dict[str, object]) -> None:
        if job is not None:
            job.meta.update(meta)
            job.save_meta()  # type: ignore[no-untyped-call]

    try:
        result = execute_stage(settings, run_id, symbol, stage, report=report)
    except Exception:
        if job is not None:
            cancel_downstream(job.connection, run_id, symbol, stage)
            advance(job.connection, settings, run_id)  # this symbol is settled: the plan may be due
        raise
    if job is not None and stage == LABELS:
        advance(job.connection, settings, run_id)
    return {"rows_in": result.rows_in, "rows_out": result.rows_out, "seconds": result.seconds}
