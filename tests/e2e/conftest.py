"""The whole service as users run it: `pipeline daemon` + forking `pipeline worker`s + a real Redis.

Each process is a subprocess killed (with its work horses) at the end of the test. The checks every
scenario ends with live here: each input file ends ``ingested``/``rejected``/``duplicate`` exactly
once in the ledger, and the Parquet store holds exactly the rows of the distinct ingested inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import redis

from testkit import PipelineProcess, wait_for
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FILE_FINAL


class Stack:
    """Start/stop the daemon and workers of one test, and read what they did."""

    def __init__(self, settings: Settings, env: dict[str, str], logs: Path) -> None:
        self.settings = settings
        self.env = env
        self.logs = logs
        self.procs: list[PipelineProcess] = []
        self.daemon: PipelineProcess | None = None
        self.workers: list[PipelineProcess] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> PipelineProcess:
        log = self.logs / f"{len(self.procs)}-{args[0]}.log"
        proc = PipelineProcess(args, {**self.env, **(env or {})}, log).start()
        self.procs.append(proc)
        return proc

    def start_daemon(self) -> PipelineProcess:
        self.daemon = self.start("daemon")
        return self.daemon

    def start_workers(self, n: int = 2, env: dict[str, str] | None = None) -> list[PipelineProcess]:
        new = [self.start("worker", "ingest", env=env) for _ in range(n)]
        self.workers += new
        return new

    def ledger(self) -> list[FileRecord]:
        return Ledger(self.settings).files()

    def wait_final(self, count: int, timeout_s: float = 120.0) -> list[FileRecord]:
        """Wait until ``count`` ledger rows exist and all of them are final."""

        def done() -> list[FileRecord] | None:
            rows = self.ledger()
            return rows if len(rows) >= count and all(r.status in FILE_FINAL for r in rows) else None

        try:
            return wait_for(done, timeout_s=timeout_s, interval_s=0.2, what=f"{count} files to be final")
        except TimeoutError:
            states = [(Path(r.path).name, r.status, r.reason) for r in self.ledger()][:20]
            raise AssertionError(f"not all final: {states}\n{self.tail()}") from None

    def tail(self, lines: int = 15) -> str:
        return "\n".join(
            f"--- {p.log_path.name}\n" + "\n".join(p.output().splitlines()[-lines:]) for p in self.procs
        )

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()


@pytest.fixture
def stack_settings(settings: Settings, redis_url: str) -> Settings:
    return settings.replace(redis_url=redis_url)


@pytest.fixture
def stack(
    stack_settings: Settings, cli_env: dict[str, str], redis_url: str, tmp_path: Path
) -> Iterator[Stack]:
    env = {
        **cli_env,
        "PIPELINE_REDIS_URL": redis_url,
        "PIPELINE_LOG_FORMAT": "json",
        "PIPELINE_QUIET_PERIOD_S": "0.5",
        "PIPELINE_RECONCILE_INTERVAL_S": "2",
    }
    running = Stack(stack_settings, env, tmp_path / "logs")
    yield running
    running.stop()


@pytest.fixture
def flush(redis_url: str) -> Callable[[], None]:
    return lambda: redis.Redis.from_url(redis_url).flushall()


@pytest.fixture
def exactly_once() -> Callable[..., None]:
    return assert_exactly_once


def assert_exactly_once(
    settings: Settings, rows: list[FileRecord], inputs: dict[str, int], rejected: set[str] = frozenset()
) -> None:
    """Every input has one final row; ``rejected`` ones stored nothing; the rest are stored once each.

    ``inputs`` maps file name -> bar rows in it. Identical content under two names is one ingested row
    plus one ``duplicate`` row, and its bars are stored once.
    """
    by_name: dict[str, list[FileRecord]] = {}
    for row in rows:
        by_name.setdefault(Path(row.path).name, []).append(row)
    assert sorted(by_name) == sorted(inputs), "unexpected or missing files in the ledger"
    for name, records in by_name.items():
        assert len(records) == 1, f"{name}: {len(records)} ledger rows"
        expected = {"rejected"} if name in rejected else {"ingested", "duplicate"}
        assert records[0].status in expected, f"{name}: {records[0].status} ({records[0].reason})"
    stored_shas = {r.sha256 for r in rows if r.status == "ingested"}
    expected_rows = sum(inputs[Path(r.path).name] for r in rows if r.status == "ingested")
    parquet = sorted(settings.processed_dir.rglob("*.parquet"))
    assert {p.stem for p in parquet} == {sha[:20] for sha in stored_shas}, "one Parquet per ingested input"
    assert sum(len(pd.read_parquet(p)) for p in parquet) == expected_rows
    assert not list(settings.processed_dir.rglob("*.tmp"))
