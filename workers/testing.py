"""Test helpers for the service processes, shipped with the package (as ``trading_pipeline.testing`` is).

``PipelineProcess`` runs a real `pipeline ...` command in a subprocess with its output in a file and
knows how to stop it warmly, SIGKILL it together with its RQ work horse (which runs in its own process
group), and reap everything; ``wait_for`` is the bounded polling every test uses instead of sleeps.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import pandas as pd
import psutil  # type: ignore[import-untyped]
import redis

from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.jobqueue import enqueue_ingest
from trading_pipeline.settings import Settings
from trading_pipeline.testing import make_bars, write_bars_csv

__all__ = ["PipelineProcess", "drop_csv", "enqueue", "parquet_rows", "wait_for"]

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T | None],
    *,
    timeout_s: float = 60.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll until ``predicate`` returns something truthy, and return it; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


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


def drop_csv(directory: Path, name: str, rows: int = 500, seed: int = 0) -> tuple[Path, str, pd.DataFrame]:
    """A valid 1-minute bar CSV; returns its path, sha256 and the bars written."""
    bars = make_bars(rows, seed=seed, tz=None)
    path = write_bars_csv(directory / name, bars)
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), bars


def enqueue(
    conn: redis.Redis, settings: Settings, path: Path, sha: str, options: IngestOptions | None = None
) -> str:
    """Enqueue the ingest of ``path`` the way the daemon does."""
    job_id = enqueue_ingest(conn, settings, path=str(path), sha256=sha, options=options or IngestOptions())
    assert job_id is not None
    return job_id


def parquet_rows(settings: Settings) -> dict[str, int]:
    """Rows per stored Parquet file (path relative to the processed folder)."""
    return {
        str(p.relative_to(settings.processed_dir)): len(pd.read_parquet(p))
        for p in sorted(settings.processed_dir.rglob("*.parquet"))
    }
