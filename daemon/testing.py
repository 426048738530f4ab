"""Test helpers for the watcher, shipped with it (as ``trading_pipeline.testing``): a daemon in a thread,
bounded waits, and readers for the jobs and ledger rows a test asserts on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from rq import Queue
from rq.job import Job

from daemon.service import Daemon
from trading_pipeline.jobqueue import INGEST_QUEUE, SERIALIZER
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.testing import make_bars, write_bars_csv

__all__ = [
    "RunningDaemon",
    "bars_csv",
    "csv_bytes",
    "job_paths",
    "ledger_rows",
    "make_settings",
    "queued_jobs",
    "wait_for",
]


class WaitTimeout(AssertionError):
    """A bounded wait ran out."""


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; raise with its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value:
        if time.monotonic() > deadline:
            raise WaitTimeout(f"condition not met within {timeout} s (last value: {value!r})")
        time.sleep(interval)
        value = predicate()
    return value


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


class RunningDaemon:
    """A Daemon in a background thread, as `pipeline daemon` runs it in its main thread."""

    def __init__(self, settings: Settings, connection: redis.Redis) -> None:
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


def queued_jobs(connection: redis.Redis) -> list[Job]:
    """Jobs waiting in the ingest queue (tests without a worker)."""
    jobs: list[Job] = Queue(INGEST_QUEUE, connection=connection, serializer=SERIALIZER).get_jobs()
    return jobs


def job_paths(connection: redis.Redis) -> list[str]:
    return sorted(str(job.kwargs["path"]) for job in queued_jobs(connection))


def ledger_rows(settings: Settings) -> list[FileRecord]:
    return Ledger(settings.ledger_path).files()


def bars_csv(path: Path, rows: int = 50, seed: int = 0) -> Path:
    return write_bars_csv(path, make_bars(rows, seed=seed))


def csv_bytes(rows: int = 50, seed: int = 0) -> bytes:
    frame = make_bars(rows, seed=seed)
    frame["datetime"] = frame["datetime"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return str(frame.to_csv(index=False)).encode()
