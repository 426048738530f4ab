"""The RQ worker process behind `pipeline worker`: a forking ``rq.Worker`` with a warm parent.

Why a subclass rather than plain ``rq worker`` (which also works, see docs/operations.md):
* pandas, pyarrow and the ingest code are imported once in the parent, and ``gc.freeze()`` keeps
  their pages shared, so every forked work horse starts warm instead of paying ~0.3 s of imports;
* a work horse serves up to ``settings.horse_max_jobs`` jobs instead of one (workers/horse.py): a
  fork per job cost more CPU than ingesting a small file;
* abandoned jobs (a worker SIGKILLed mid-job) are recovered in seconds, not RQ's ~11 minutes: at
  start-up and every ``RECOVERY_INTERVAL_S`` an idle worker requeues jobs whose worker process is gone;
* results stay for ``settings.result_ttl_s`` (days) instead of RQ's 500 s; JSON serializer; the
  scheduler runs (Retry intervals need it); rq's stdlib logs go through structlog.
SIGTERM or SIGINT asks for a warm shutdown (the current job finishes); a second one is a cold shutdown.
Under systemd that needs ``KillMode=mixed`` so the work horse is not SIGTERMed with the parent.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pkgutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job
from rq.scheduler import RQScheduler

from jobqueue.names import DEFAULT_QUEUES, SERIALIZER
from jobqueue.recovery import enqueue_ready_jobs, recover_abandoned_jobs, requeue_lost_jobs
from stack.supervisor import die_with_parent
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings
from workers.horse import ReusingWorker

__all__ = ["PipelineWorker", "preload", "run_worker"]

log = get_logger(__name__)

PRELOAD = (
    "pandas",
    "numpy",
    "pyarrow",
    "pyarrow.parquet",
    "pyarrow.csv",
    "pyarrow.compute",
    "trading_pipeline.ledger",
    "trading_pipeline.store",
    "trading_pipeline.ingest.ingestor",
    "workers.jobs",
    "workers.run_jobs",
)
"""Imported in the parent before the first fork. Missing optional modules are skipped."""
PRELOAD_PACKAGES = ("trading_pipeline.ingest", "trading_pipeline.validation", "trading_pipeline.stages")
"""Every module in these packages is imported too: the readers import vendor modules lazily."""
RECOVERY_INTERVAL_S = 3.0
"""How often a worker looks for jobs held by dead workers and for dependents RQ left ready (cheap:
one ZRANGE per queue each)."""
RQ_MAINTENANCE_INTERVAL_S = 60
"""RQ's own registry cleaning (and scheduler take-over) runs this often instead of every 600 s."""
WORKER_TTL_S = 18
"""RQ blocks in dequeue for worker_ttl - 15 s, so an idle worker wakes every 3 s to do maintenance."""
JOB_MONITORING_INTERVAL_S = 5
"""How often the parent refreshes the running job's heartbeat (RQ default 30 s)."""


def preload(modules: Sequence[str] = PRELOAD, packages: Sequence[str] = PRELOAD_PACKAGES) -> list[str]:
    """Import ``modules`` and every module of ``packages`` now, then warm up; return what was missing."""
    missing = []
    names = [*modules, *(m.name for p in packages for m in _walk(p))]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing.append(name)
            log.debug("preload skipped", module=name, error=str(exc))
    warm_up()
    from workers.jobs import prime

    prime()
    gc.freeze()  # objects created so far are never scanned again: forked horses keep the pages shared
    return missing


def _walk(package: str) -> list[pkgutil.ModuleInfo]:
    try:
        module = importlib.import_module(package)
    except ImportError:
        return []
    return list(pkgutil.walk_packages(module.__path__, prefix=f"{package}."))


def warm_up() -> None:
    """Ingest a tiny file in a throwaway data folder, so lazy imports and first-use set-up inside
    pandas/pyarrow/the readers happen once here, not in every forked horse (measured: 150 -> 30 ms
    per small file)."""
    from trading_pipeline.ingest.ingestor import DataIngestor

    try:
        with tempfile.TemporaryDirectory(prefix="pipeline-warm-up-") as tmp:
            # database_url=None: the throwaway ledger must not land in a configured PostgreSQL.
            settings = Settings.from_env({}, data_dir=Path(tmp), database_url=None)
            settings.raw_dir.mkdir(parents=True)
            path = settings.raw_dir / "WARM_1m.csv"
            path.write_text(_warm_up_csv(50))
            DataIngestor(settings).ingest(path)
    except Exception as exc:  # a warm-up must never stop a worker from starting
        log.warning("worker warm-up failed", error=f"{type(exc).__name__}: {exc}")


def _warm_up_csv(rows: int) -> str:
    """A small valid 1-minute bar file, written here so that production never imports test helpers."""
    lines = ["datetime,open,high,low,close,volume"]
    for i in range(rows):
        p = 5000 + (i % 7) * 0.25
        lines.append(f"2024-01-02 {i // 60:02d}:{i % 60:02d}:00,{p},{p + 0.5},{p - 0.5},{p},{i + 1}")
    return "\n".join(lines) + "\n"


def worker_name() -> str:
    """Unique per process and readable in `rq info`: host, pid and a short random suffix."""
    return f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:4]}"


class PipelineScheduler(RQScheduler):
    """RQ's scheduler process, which dies with the worker that forked it.

    It inherits the worker's Redis sockets. Left running after its worker is SIGKILLed, it keeps the
    dead worker's blocking BLPOP connection open, so Redis hands the next queued job id to a client
    nobody reads and the job is silently lost (seen in tests/e2e/test_up.py before this fix).
    """

    _parent_pid = 0

    def start(self) -> Any:
        self._parent_pid = os.getpid()
        return super().start()  # type: ignore[no-untyped-call]

    def work(self) -> None:
        die_with_parent(signal.SIGTERM)  # its SIGTERM handler releases the scheduler locks
        if os.getppid() != self._parent_pid:
            return  # the worker died before the line above took effect
        super().work()  # type: ignore[no-untyped-call]


class PipelineWorker(ReusingWorker):
    """A forking RQ worker whose horse serves many jobs (workers/horse.py), and which recovers jobs
    abandoned by dead workers every few seconds."""

    _last_recovery = 0.0
    stop_asked = False
    """SIGTERM/SIGINT arrived: a return from ``work()`` is a shutdown, not a lost Redis."""

    def handle_warm_shutdown_request(self) -> None:
        self.stop_asked = True
        super().handle_warm_shutdown_request()  # type: ignore[no-untyped-call]

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """RQ's own start-up, with ``PipelineScheduler`` instead of ``RQScheduler``."""
        scheduler = PipelineScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler = scheduler
        scheduler.acquire_locks()  # type: ignore[no-untyped-call]
        if not scheduler.acquired_locks:
            return
        if not burst:
            scheduler.start()
            return
        try:
            scheduler.register_birth()
            scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
        finally:
            scheduler.release_locks()  # type: ignore[no-untyped-call]
            scheduler.register_death()

    @property
    def should_run_maintenance_tasks(self) -> bool:
        recovery_due = time.monotonic() - self._last_recovery >= RECOVERY_INTERVAL_S
        return recovery_due or bool(super().should_run_maintenance_tasks)

    def run_maintenance_tasks(self) -> None:
        if super().should_run_maintenance_tasks:
            super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        first = self._last_recovery == 0.0
        self._last_recovery = time.monotonic()
        try:
            recovered = recover_abandoned_jobs(self.connection, self.queue_names())
            if first:  # a worker starting may be the replacement of one killed mid-dequeue
                recovered += requeue_lost_jobs(self.connection, self.queue_names())
            ready = enqueue_ready_jobs(self.connection, self.queue_names())
        except redis.RedisError as exc:
            log.warning("abandoned-job recovery failed", error=str(exc))
            return
        if recovered:
            log.warning("requeued jobs of dead workers", jobs=recovered)
        if ready:
            log.info("enqueued dependents rq left ready", jobs=ready)


def _horse_killed(job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
    """The horse died under a live parent (OOM killer, a stray SIGTERM).

    Killed by SIGKILL while larger than ``PIPELINE_HORSE_MAX_RSS_MB`` is the kernel's OOM killer: the
    same file would do it again, so the file is rejected and the job not retried. Anything else is
    RQ's Retry's, and the ledger row says so (``queued`` while a retry is coming, ``pending`` after)."""
    peak_mb = int(getattr(rusage, "ru_maxrss", 0) or 0) // 1024  # Linux reports KiB
    limit_mb = Settings().horse_max_rss_mb
    killed = os.WIFSIGNALED(ret_val) and os.WTERMSIG(ret_val) == signal.SIGKILL
    memory = killed and peak_mb >= limit_mb
    log.error(
        "work horse died", job=job.id, pid=retpid, status=ret_val, peak_mb=peak_mb, out_of_memory=memory
    )
    from workers.jobs import record_horse_death

    text = f"work horse died (wait status {ret_val})"
    if memory:
        text = f"the work horse was killed (SIGKILL, out of memory) at {peak_mb:,} MB"
    try:
        record_horse_death(job, text, out_of_memory=memory)
    except Exception:  # RQ's own failure handling must still run
        log.exception("could not record the work horse's death", job=job.id)


def build_worker(
    connection: redis.Redis,
    settings: Settings,
    queues: Sequence[str] = DEFAULT_QUEUES,
    name: str | None = None,
) -> PipelineWorker:
    worker = PipelineWorker(
        list(queues),
        name=name or worker_name(),
        connection=connection,
        serializer=SERIALIZER,
        default_result_ttl=settings.result_ttl_s,
        worker_ttl=WORKER_TTL_S,
        maintenance_interval=RQ_MAINTENANCE_INTERVAL_S,
        job_monitoring_interval=JOB_MONITORING_INTERVAL_S,
        work_horse_killed_handler=_horse_killed,
    )
    worker.horse_max_jobs = settings.horse_max_jobs
    worker.horse_max_rss_mb = settings.horse_max_rss_mb
    return worker


def run_worker(
    connection: redis.Redis,
    settings: Settings,
    queues: Sequence[str] = DEFAULT_QUEUES,
    *,
    burst: bool = False,
    name: str | None = None,
    with_scheduler: bool = True,
    max_jobs: int | None = None,
) -> bool:
    """Preload, then work until stopped (or until the queues are empty with ``burst``).

    RQ's worker quits on a Redis connection error met outside its dequeue loop (Redis restarted under
    a busy worker). A worker that did not ask to stop waits for Redis to come back and starts again
    under a fresh name, so a Redis restart never leaves the queue without workers; its job in flight
    is recovered as abandoned."""
    missing = preload()
    while True:
        worker = build_worker(connection, settings, queues, name)
        log.info("worker starting", name=worker.name, queues=list(queues), burst=burst, not_preloaded=missing)
        try:
            done = worker.work(
                burst=burst,
                logging_level=settings.log_level.upper(),
                with_scheduler=with_scheduler,
                max_jobs=max_jobs,
            )
        except redis.RedisError as exc:
            log.warning("worker lost Redis", error=str(exc))
            done = False
        if burst or max_jobs is not None or worker.stop_asked or not _wait_for_redis(connection):
            return bool(done)
        # Its teardown could not reach Redis: say now that the old name is dead, so the job it held
        # is recovered at once (this same pid is alive, so recovery would otherwise trust it).
        with contextlib.suppress(redis.RedisError):
            worker.register_death()  # type: ignore[no-untyped-call]
        name = None


def _wait_for_redis(connection: redis.Redis, max_wait_s: float = 30.0) -> bool:
    """Until Redis answers again (True), or SIGTERM/SIGINT arrives while waiting (False)."""
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    delay = 0.5
    try:
        while not stopping.is_set():
            try:
                connection.ping()
                log.info("Redis is back; the worker starts again")
                return True
            except redis.RedisError:
                stopping.wait(delay)
                delay = min(delay * 2, max_wait_s)
        return False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
