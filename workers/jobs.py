"""RQ job functions. The dotted path of each (``workers.jobs.ingest_job``) is a wire format stored in
Redis: never rename or move one without draining the queues first. Arguments and results are
JSON-friendly (RQ's JSONSerializer, no pickle).

Failure policy of ``ingest_job``:
* bad data is not an error: the DataIngestor returns a rejected report, the ledger records it, and the
  job *finishes* (its result says ``rejected``). Retrying would reject again.
* a file this host cannot see because the shared data folder is not mounted here (its folder is
  missing, not just the file) fails with ``MountMissingError`` and is retried; its row is not marked
  vanished: the file is not lost, this host is just blind to it.
* a file that vanished, was replaced, may not be read or is no regular file (a FIFO swapped in) gets
  its final status on its ledger row (``vanished``, ``unreadable``, ``ignored``) and the job finishes:
  the daemon enqueues new content under its own job id, and the same bytes back again reopen the row.
* a file that needs more memory than the worker has (``MemoryError``, or the work horse killed by the
  kernel while larger than ``PIPELINE_HORSE_MAX_RSS_MB``) is rejected with check ``memory`` and never
  retried: the same file would exhaust memory again, four times over.
* anything else (OSError, Redis blips, a full disk) raises, so RQ's Retry re-runs it with backoff; the
  ledger row says ``queued`` with the error while a retry is coming and ``pending`` after the last one.
* a worker killed mid-job is recovered by ``jobqueue.recovery.recover_abandoned_jobs``; re-running is
  safe because output paths are a function of the content and a finished ledger row makes it a no-op.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from pathlib import Path
from typing import Any

from rq import get_current_job
from rq.job import Job

from jobqueue.ingest import local_arguments
from trading_pipeline.durable import file_sha256, sweep_temps
from trading_pipeline.errors import (
    FileRefusedError,
    IngestError,
    MountMissingError,
    PipelineError,
    StoreError,
)
from trading_pipeline.ingest.ingestor import DataIngestor, refusal_report
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.logs import get_logger
from trading_pipeline.names import check_source_id
from trading_pipeline.report import FileReport, Finding
from trading_pipeline.safeio import Refusal, inspect_file, refusal_for_error, vanished
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FILE_FINAL, FileStatus

__all__ = ["MetaProgress", "ingest_job", "record_horse_death", "run_ingest"]

log = get_logger(__name__)

META_INTERVAL_S = 0.25
"""Progress is written at most this often (plus the first and the last stage): enough for a person
watching a big file, and no Redis round trips to slow down a burst of small ones."""


@functools.cache
def _settings() -> Settings:
    """Read once per worker process; ``prime()`` does it in the parent so horses inherit it."""
    return Settings()


@functools.cache
def _ledger() -> Ledger:
    return Ledger(_settings())  # holds only where the tables are; opening it migrates, so do it once


def prime() -> None:
    """Called by the worker parent before forking: settings and ledger ready in every horse."""
    _ledger()


def ingest_job(path: str, sha256: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate and store one input file; returns the FileReport JSON (plus ``job`` details).

    The same bytes queued under other names of the same source (``Ledger.twins``) are done here too,
    right after: they share this job's id, so no other job would pick them up before a reconcile.
    """
    return run_ingest(path, sha256, options)


def run_ingest(
    path: str, sha256: str, options: dict[str, Any], *, progress_class: type[MetaProgress] | None = None
) -> dict[str, Any]:
    """``ingest_job``'s body; ``progress_class`` replaces the progress callback (tests pause in it)."""
    settings = _settings()
    path, opts = local_arguments(settings, path, options)  # absolute on this host, symlinks kept
    make_progress = progress_class or MetaProgress
    result = _ingest_file(settings, path, sha256, opts, make_progress)
    twins = _ledger().twins(opts.source_id, sha256, path)
    if twins:
        done = [_ingest_file(settings, twin, sha256, opts, make_progress) for twin in twins]
        result["twins"] = [{"path": r.get("path"), "status": r.get("status")} for r in done]
    return result


def _ingest_file(
    settings: Settings, path: str, sha256: str, opts: IngestOptions, make_progress: type[MetaProgress]
) -> dict[str, Any]:
    job = get_current_job()
    ledger = _ledger()
    source = opts.source_id
    done = ledger.get(source, path, sha256)
    if done is not None and done.status in FILE_FINAL:
        # A re-run (retry, recovery after kill -9) of work that already completed: nothing to do.
        return {**(done.report or {"path": path, "status": done.status}), "rerun": True}
    gone = _content_problem(Path(path), sha256, opts.root)
    if gone is not None:
        unmounted = _mount_missing(settings, path, opts)
        if unmounted is not None:
            _mark_retry(ledger, source, path, sha256, job, unmounted)
            raise unmounted
        return _record_gone(ledger, path, sha256, opts, gone)
    if done is None:  # enqueued by something other than the daemon: give the file its row first
        stat = Path(path).stat()
        ledger.record_seen(source, path, sha256, stat.st_size, stat.st_mtime)
    elif done.attempts:
        _sweep_after_kill(settings, source)
    progress = make_progress(job)
    ledger.set_status(
        source,
        path,
        sha256,
        FileStatus.INGESTING,
        job_id=job.id if job else None,
        reason=_where(job),
        count_attempt=True,
        # Most of a small file's job time was this fsync; the report's commit right after is durable
        # and settles the row, and a crash in between leaves it queued for the retry or reconcile.
        durable=False,
    )
    progress("ingesting", 0.0)
    try:
        report = DataIngestor(settings, ledger=ledger).ingest(path, opts, progress=progress, sha256=sha256)
    except MemoryError:
        report = _record_out_of_memory(
            ledger, path, sha256, source, "the file needed more memory than is free"
        )
    except PipelineError as exc:
        report = _handle_pipeline_error(ledger, exc, path, sha256, source, job)
    except Exception as exc:
        _mark_retry(ledger, source, path, sha256, job, exc)
        raise
    if report.sha256 and report.sha256 != sha256:
        ledger.set_status(
            source, path, sha256, FileStatus.PENDING, reason="file changed while it was being ingested"
        )
    progress("done", 100.0)
    return report.to_json()


def _sweep_after_kill(settings: Settings, source: str) -> None:
    """An earlier attempt at this file started and did not finish: its worker may have been killed
    while writing, and its temp files would stay forever beside the outputs this attempt writes. Rare,
    so the walk over the source's folder costs a burst nothing."""
    removed = sweep_temps(
        settings.processed_dir / check_source_id(source), max_age_s=3600 * settings.temp_max_age_h
    )
    if removed:
        log.info("abandoned temp files removed", paths=[str(p) for p in removed])


def _mount_missing(settings: Settings, path: str, opts: IngestOptions) -> MountMissingError | None:
    """A file that is not there because this host does not see the shared folder (the share is not
    mounted, or mounted elsewhere than PIPELINE_DATA_DIR says) is not lost: fail the job (its retries may
    land on a host that sees it, and the daemon re-queues it later) and leave the row as it is."""
    if Path(path).exists():
        return None
    needed = [settings.raw_dir] + ([Path(opts.root)] if opts.root else [])
    missing = [folder for folder in needed if not folder.is_dir()]
    if not missing:
        return None
    return MountMissingError(
        f"mount missing: {path} is not visible on host {socket.gethostname()} because {missing[0]} does"
        f" not exist; mount the shared data folder at PIPELINE_DATA_DIR={settings.data_dir}"
    )


def _content_problem(path: Path, sha256: str, root: str | None) -> Refusal | None:
    """Why the file at ``path`` no longer holds readable bytes this job was queued for, if it does not.

    Checked unopened first (``lstat``): a FIFO swapped in after the event must not block the horse."""
    refusal = inspect_file(path, root)
    if refusal is not None:
        return refusal
    try:
        digest = file_sha256(path)
    except OSError as exc:
        refusal = refusal_for_error(exc)
        if refusal is None:
            raise
        return refusal
    if digest != sha256:
        return vanished("replaced by new content after it was queued; the new content is its own version")
    return None


def _record_gone(
    ledger: Ledger, path: str, sha256: str, opts: IngestOptions, refusal: Refusal
) -> dict[str, Any]:
    """Finish without retrying: the row gets its final status; the daemon queues whatever is on disk now
    under its own job id, and the same bytes back again reopen this row."""
    log.warning("ingest skipped", path=path, status=refusal.status, reason=refusal.reason)
    exc = FileRefusedError(path=path, reason=refusal.reason, check=refusal.check, status=refusal.status)
    report = refusal_report(path, exc, opts, sha256)
    ledger.record_report(report)
    return report.to_json()


def _record_out_of_memory(ledger: Ledger, path: str, sha256: str, source: str, what: str) -> FileReport:
    """A final rejection, never a retry: the same file would exhaust memory again."""
    reason = (
        f"{what}; it is rejected rather than retried. Split the file, lower PIPELINE_MAX_DECOMPRESSED_MB or"
        " PIPELINE_MAX_ROWS so such files are refused early, or give the workers more memory"
    )
    log.error("ingest out of memory", path=path)
    report = FileReport(path=path, status=FileStatus.REJECTED, sha256=sha256, source_id=source)
    report.add(Finding("memory", reason))
    ledger.record_report(report)
    return report


def _handle_pipeline_error(
    ledger: Ledger, exc: PipelineError, path: str, sha256: str, source: str, job: Job | None
) -> FileReport:
    """An unreadable file is a rejection; a store failure is transient; a config error waits for a fix."""
    if isinstance(exc, StoreError):
        _mark_retry(ledger, source, path, sha256, job, exc)
        raise exc
    if isinstance(exc, IngestError):
        report = FileReport(path=path, status=FileStatus.REJECTED, sha256=sha256, source_id=source)
        report.add(Finding(exc.check, exc.message))
        ledger.record_report(report)
        return report
    ledger.set_status(source, path, sha256, FileStatus.PENDING, reason=f"not ingested: {exc.message}")
    report = FileReport(path=path, status=FileStatus.PENDING, sha256=sha256, source_id=source)
    report.add(Finding("config", exc.message))
    return report


def _mark_retry(
    ledger: Ledger, source: str, path: str, sha256: str, job: Job | None, exc: BaseException
) -> None:
    """Say on the ledger row what went wrong and whether RQ will try again."""
    _record_failure(
        ledger, source, path, sha256, bool(job and job.retries_left), f"{type(exc).__name__}: {exc}"
    )


def _record_failure(ledger: Ledger, source: str, path: str, sha256: str, retrying: bool, text: str) -> None:
    reason = f"ingest failed, retrying: {text}" if retrying else f"ingest failed: {text}"
    try:
        ledger.set_status(
            source, path, sha256, FileStatus.QUEUED if retrying else FileStatus.PENDING, reason=reason[:500]
        )
    except Exception:  # the ledger itself may be what failed; RQ still records the exception
        log.exception("could not record the failure in the ledger", path=path)


def record_horse_death(job: Job, text: str, *, out_of_memory: bool = False) -> None:
    """Called by the worker parent when the work horse died mid-job (OOM killer, hard timeout): the
    job function never got to say so, and without this the row would say ``ingesting`` forever once
    RQ runs out of retries. Must run before RQ's failure handling, which spends a retry.

    ``out_of_memory``: the kernel killed a horse grown past ``PIPELINE_HORSE_MAX_RSS_MB``. Not a
    transient failure: the file is rejected and the job's retries are cancelled."""
    kwargs = job.kwargs
    if not isinstance(kwargs.get("options"), dict) or "sha256" not in kwargs:
        return  # not an ingest job
    path, options = local_arguments(_settings(), str(kwargs["path"]), kwargs["options"])
    sha256, source = str(kwargs["sha256"]), options.source_id
    if out_of_memory:
        job.retries_left = 0  # RQ's failure handling reads it next, on this same object
    ledger = _ledger()
    row = ledger.get(source, path, sha256)
    if row is None or row.status in FILE_FINAL:  # a death after the result was recorded
        return
    if out_of_memory:
        _record_out_of_memory(ledger, path, sha256, source, text)
    else:
        _record_failure(ledger, source, path, sha256, bool(job.retries_left), text)


def _where(job: Job | None) -> str:
    worker = (job.worker_name if job else None) or "inline"
    return f"on worker {worker} (host {socket.gethostname()}, pid {os.getpid()})"


class MetaProgress:
    """The DataIngestor's progress callback: ``stage`` and ``percent`` in ``job.meta`` for the UI.

    The first call (which also records the work horse's pid, used by ``recover_abandoned_jobs`` to
    tell a dead worker from a busy one) and ``done`` are always written; anything in between at most
    every ``META_INTERVAL_S``.
    """

    def __init__(self, job: Job | None) -> None:
        self.job = job
        self.saved_at: float | None = None

    def __call__(self, stage: str, percent: float = 0.0, *_args: Any, **_kwargs: Any) -> None:
        now = time.monotonic()
        due = self.saved_at is None or now - self.saved_at >= META_INTERVAL_S
        if self.job is not None and (due or stage == "done"):
            self.saved_at = now
            self.job.meta.update({"stage": stage, "percent": round(float(percent), 1), "pid": os.getpid()})
            try:
                self.job.save_meta()  # type: ignore[no-untyped-call]
            except Exception:  # progress is cosmetic: never fail an ingest for it
                log.debug("could not save job progress", exc_info=True)
