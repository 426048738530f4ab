"""The fault suite's harness: a real Redis, `pipeline daemon` and `pipeline worker` processes on one data
folder, files dropped as users drop them, and ONE checker run after every scenario.

The checker (``Harness.check``) asserts the promise of issue 11 for every input file:
* it has a final status (its current ledger row), the one the scenario expects;
* an ingested file's bars are stored exactly once, a rejected file's not at all (Parquet rows in the
  store equal the rows of the distinct ingested contents; one Parquet file per ingested content);
* no temp file is left anywhere in the data folder;
* no ingest job is stuck in RQ's started registry and no ledger row in ``ingesting``;
* the daemon and workers that should run are alive.
It returns the counts the README's reliability table shows (files, ingested, rejected, lost,
duplicated); lost and duplicated must be 0.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import redis
from rq.registry import StartedJobRegistry

from jobqueue.names import INGEST_QUEUE
from testkit import PipelineProcess, ThrowawayRedis, wait_for
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FILE_FINAL, FileStatus

HEADER = "datetime,open,high,low,close,volume\n"
SCENARIO_TIMEOUT_S = 240.0
"""No scenario may take longer than this to settle (pytest-timeout stops a hung one too)."""


def bar_csv(rows: int, seed: int) -> str:
    """A valid 1-minute bar file whose content depends on ``seed`` (distinct seeds, distinct bytes)."""
    lines = [HEADER]
    base = 4000 + seed % 997
    for i in range(rows):
        minute = seed * rows + i
        day, rest = divmod(minute, 1440)
        price = base + (i % 13) * 0.25
        lines.append(
            f"2024-{1 + day // 28 % 12:02d}-{1 + day % 28:02d} {rest // 60:02d}:{rest % 60:02d}:00,"
            f"{price},{price + 1},{price - 1},{price + 0.5},{i + 1}\n"
        )
    return "".join(lines)


BAD_CSV = HEADER + "2024-01-02 10:00:00,10,9,8,9.5,1\n"
"""High below open: a rejection naming the check and the row."""


@dataclass
class Outcome:
    """What the checker counted; the README's reliability table prints these."""

    files: int = 0
    ingested: int = 0
    rejected: int = 0
    other: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    duplicated: int = 0


class Harness:
    """One scenario's processes and expectations."""

    def __init__(
        self, tmp_path: Path, *, persistent_redis: bool = False, data_dir: Path | None = None
    ) -> None:
        self.redis = ThrowawayRedis(tmp_path / "redis", persistent=persistent_redis)
        self.redis.start()
        self.settings = Settings.from_env(
            {}, data_dir=data_dir or tmp_path / "data", redis_url=self.redis.url
        )
        self.settings.ensure_dirs()
        Ledger(self.settings)
        self.logs = tmp_path / "logs"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_") and k != "REDIS_URL"}
        self.env.update(
            PIPELINE_DATA_DIR=str(self.settings.data_dir),
            PIPELINE_REDIS_URL=self.redis.url,
            PIPELINE_LOG_FORMAT="json",
            PIPELINE_QUIET_PERIOD_S="0.3",
            PIPELINE_RECONCILE_INTERVAL_S="2",
        )
        self.procs: list[PipelineProcess] = []
        self.daemons: list[PipelineProcess] = []
        self.workers: list[PipelineProcess] = []
        self.expected: dict[Path, tuple[FileStatus, int]] = {}
        """Input path -> (final status of its current version, bar rows stored for it)."""

    # --- processes -------------------------------------------------------------------------------
    def _start(self, *args: str) -> PipelineProcess:
        log = self.logs / f"{len(self.procs):02d}-{args[0]}.log"
        proc = PipelineProcess(args, self.env, log).start()
        self.procs.append(proc)
        return proc

    def start_daemon(self) -> PipelineProcess:
        proc = self._start("daemon")
        self.daemons.append(proc)
        return proc

    def start_workers(self, n: int = 2) -> list[PipelineProcess]:
        new = [self._start("worker", "ingest") for _ in range(n)]
        self.workers += new
        return new

    def kill(self, proc: PipelineProcess) -> None:
        proc.kill()
        for group in (self.daemons, self.workers):
            if proc in group:
                group.remove(proc)

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        self.redis.stop()

    @property
    def connection(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_timeout=5)

    # --- inputs ----------------------------------------------------------------------------------
    def drop(self, name: str, content: str, status: FileStatus = FileStatus.INGESTED, rows: int = -1) -> Path:
        """Write ``content`` as a user's copy would finish (temp name, then rename) and expect ``status``."""
        path = self.settings.raw_dir / name
        tmp = path.with_name(f".{name}.part")
        tmp.write_text(content)
        tmp.rename(path)
        if rows < 0:
            rows = content.count("\n") - 1 if status == FileStatus.INGESTED else 0
        self.expected[path] = (status, rows)
        return path

    def drop_valid(self, count: int, *, rows: int = 20, start: int = 0, prefix: str = "F") -> list[Path]:
        return [self.drop(f"{prefix}{i:04d}_1m.csv", bar_csv(rows, i)) for i in range(start, start + count)]

    # --- waiting and checking ----------------------------------------------------------------------
    def current(self) -> dict[str, FileRecord]:
        """Each path's current version (its newest ledger row)."""
        return {r.path: r for r in Ledger(self.settings).files(current=True)}

    def wait_settled(self, timeout_s: float = SCENARIO_TIMEOUT_S) -> None:
        def settled() -> bool:
            rows = self.current()
            return all(
                (row := rows.get(str(path))) is not None and row.status in FILE_FINAL
                for path in self.expected
            )

        try:
            wait_for(settled, timeout_s=timeout_s, interval_s=0.25, what="every input file to be final")
        except AssertionError:
            rows = self.current()
            open_rows = [
                (p.name, getattr(rows.get(str(p)), "status", None), getattr(rows.get(str(p)), "reason", None))
                for p in self.expected
                if str(p) not in rows or rows[str(p)].status not in FILE_FINAL
            ]
            raise AssertionError(
                f"not final: {open_rows[:10]} ({len(open_rows)} in all)\n{self.tail()}"
            ) from None

    def tail(self, lines: int = 12) -> str:
        return "\n".join(
            f"--- {p.log_path.name}\n" + "\n".join(p.output().splitlines()[-lines:]) for p in self.procs
        )

    def check(self, *, alive: Iterable[PipelineProcess] | None = None) -> Outcome:
        """The shared checker: every promise of issue 11, after every scenario."""
        self.wait_settled()
        rows = self.current()
        outcome = Outcome(files=len(self.expected))
        for path, (status, _) in self.expected.items():
            row = rows[str(path)]
            assert row.status == status, f"{path.name}: {row.status} ({row.reason}), expected {status}"
            if status == FileStatus.INGESTED:
                outcome.ingested += 1
            elif status == FileStatus.REJECTED:
                outcome.rejected += 1
            else:
                outcome.other[str(status)] = outcome.other.get(str(status), 0) + 1
        all_rows = Ledger(self.settings).files()
        assert not [r for r in all_rows if r.status == FileStatus.INGESTING], "a row stuck in ingesting"
        stored = self._stored_rows()
        wanted = {
            rows[str(p)].sha256[:20]: n for p, (s, n) in self.expected.items() if s == FileStatus.INGESTED
        }
        outcome.lost = sum(n for key, n in wanted.items() if stored.get(key, 0) < n) + sum(
            1 for p, (s, _) in self.expected.items() if rows[str(p)].status not in FILE_FINAL
        )
        outcome.duplicated = sum(max(0, n - wanted.get(key, 0)) for key, n in stored.items())
        assert outcome.lost == 0, f"lost: {outcome.lost}"
        assert outcome.duplicated == 0, f"stored beyond the inputs: {stored.keys() - wanted.keys()}"
        assert set(stored) == set(wanted), "one Parquet file per ingested content, none for rejected ones"
        temps = [p for p in self.settings.data_dir.rglob("*") if p.name.endswith((".tmp", ".part"))]
        assert not temps, f"temp files left: {temps[:5]}"
        started = StartedJobRegistry(INGEST_QUEUE, connection=self.connection)
        wait_for(lambda: started.count == 0, timeout_s=30, what="no ingest job left in started")
        for proc in alive if alive is not None else [*self.daemons, *self.workers]:
            assert proc.alive(), f"{proc.args[0]} died:\n{proc.output()[-2000:]}"
        return outcome

    def _stored_rows(self) -> dict[str, int]:
        """Bar rows per stored content key (Parquet footers only)."""
        rows: dict[str, int] = {}
        for path in self.settings.processed_dir.rglob("*.parquet"):
            rows[path.stem] = rows.get(path.stem, 0) + pq.read_metadata(path).num_rows
        return rows


def wait_rows(harness: Harness, count: int, statuses: set[str], timeout_s: float = 60.0) -> None:
    """Until at least ``count`` ledger rows are in one of ``statuses`` (a point in the middle of a burst)."""

    def reached() -> bool:
        return sum(1 for r in Ledger(harness.settings).files() if r.status in statuses) >= count

    wait_for(reached, timeout_s=timeout_s, interval_s=0.05, what=f"{count} rows in {statuses}")


def pause(seconds: float) -> None:
    time.sleep(seconds)
