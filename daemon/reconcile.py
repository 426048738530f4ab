"""The backstop: compare the folders with the ledger and Redis, and enqueue whatever fell through.

Runs at start-up, every ``reconcile_interval_s``, after an inotify overflow and after a Redis outage.
It finds files dropped while the daemon was down, events lost to an overflow, rows left ``pending`` or
``queued`` by a crash between ledger and enqueue, and jobs lost with a flushed Redis. Unchanged files
are never re-hashed: the hash cache, and on a fresh start the ledger's (size, mtime) of each path,
give the sha256 of a known version for the price of a stat.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from daemon.filters import iter_candidates
from daemon.hashing import FileVersion, HashCache
from daemon.sources import SourceMap
from daemon.submit import Candidate, Submitter, Tally
from jobqueue.ids import ingest_job_id
from jobqueue.names import ACTIVE_JOB_STATES, DEAD_JOB_STATES, INGEST_QUEUE
from jobqueue.recovery import recover_abandoned_jobs
from trading_pipeline.ledger import NOT_READ_SHA, Ledger, LedgerRow
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FILE_FINAL, FILE_IN_FLIGHT, FILE_REOPENABLE, FileStatus

__all__ = ["Reconciler", "ScanResult"]

log = get_logger("daemon.reconcile")
BATCH = 500
"""Files per ledger transaction and enqueue pipeline; also bounds how long events wait for the lock."""


@dataclass
class ScanResult:
    tally: Tally
    young: list[Path]


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        connection: redis.Redis,
        sources: SourceMap,
        hashes: HashCache,
        submitter: Submitter,
        *,
        is_tracking: Callable[[Path], bool] = lambda path: False,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.sources = sources
        self.hashes = hashes
        self.submitter = submitter
        self._is_tracking = is_tracking
        self._wall = wall_clock
        self._warned: set[str] = set()

    def run(self, *, refresh_sources: bool = True) -> ScanResult:
        """One full pass. Files changed within the quiet period are returned as ``young``, not enqueued."""
        started = time.monotonic()
        self._recover_dead_jobs()
        if refresh_sources:
            self.sources.refresh()
        by_path: dict[str, list[LedgerRow]] = defaultdict(list)
        for row in Ledger(self.settings).reconcile_rows():
            by_path[row.path].append(row)
        tally, young = Tally(), []
        todo: list[Candidate] = []
        open_rows: list[tuple[Candidate, str]] = []
        scanned = 0
        for path, version in self._scan():
            scanned += 1
            if self._wall() - version.mtime < self.settings.quiet_period_s:
                young.append(path)
                continue
            candidate, status = self._classify(path, version, by_path.get(str(path), []))
            if candidate is None:
                continue
            if status is None:
                todo.append(candidate)
            else:
                open_rows.append((candidate, status))
            if len(todo) >= BATCH:
                tally.add(self.submitter.submit(todo))
                todo = []
        todo += self._lost_jobs(open_rows)
        for start in range(0, len(todo), BATCH):
            tally.add(self.submitter.submit(todo[start : start + BATCH]))
        busy = tally.enqueued or young or tally.skipped
        (log.info if busy else log.debug)(
            "reconcile", files=scanned, enqueued=len(tally.enqueued), young=len(young),
            skipped=dict(tally.skipped), took_ms=round((time.monotonic() - started) * 1000, 1),
        )  # fmt: skip
        return ScanResult(tally, young)

    def _scan(self) -> Iterator[tuple[Path, FileVersion]]:
        excluded = self.sources.excluded()
        for root in self.sources.roots():
            for path in iter_candidates(root, excluded):
                if self._is_tracking(path):
                    continue  # the event side owns it until it is finished
                try:
                    yield path, FileVersion.of(path.stat())
                except OSError:
                    try:  # a broken link still gets its row ("ignored"), so it does not go unseen
                        yield path, FileVersion.of(path.lstat())
                    except OSError:
                        continue

    def _classify(
        self, path: Path, version: FileVersion, rows: list[LedgerRow]
    ) -> tuple[Candidate | None, str | None]:
        """The file's candidate (and its ledger status) unless its current version is final."""
        if self.sources.resolve(path) is None:
            return None, None
        if self.hashes.get(path, version) is None:
            known = [
                r
                for r in rows
                if r.sha256 != NOT_READ_SHA and r.size == version.size and abs(r.mtime - version.mtime) < 1e-6
            ]
            if known:  # same path, size and mtime as a recorded version: trust its hash
                self.hashes.put(path, version, known[-1].sha256)
        candidate = self.submitter.prepare(path, "reconcile")
        if candidate is None:
            return None, None
        key = (candidate.source_id, candidate.sha256)
        status = next((r.status for r in rows if (r.source_id, r.sha256) == key), None)
        if status in FILE_REOPENABLE:
            return candidate, None  # gone or unreadable when last tried, back and readable now
        if status in FILE_FINAL:
            return None, status
        return candidate, status

    def _lost_jobs(self, open_rows: list[tuple[Candidate, str]]) -> list[Candidate]:
        """Non-final rows whose job is gone (Redis flushed, crash before the enqueue) get a new one.

        A row whose job *ended* is not re-run: the worker left it pending on purpose (a config error,
        retries used up) and re-running it every reconcile would loop. A new drop of the file, or a
        Redis flush, re-queues it. Exception: the job that ended was for the same bytes at another path.
        A row still ``queued``/``ingesting`` under a job that failed outside the job function (work
        horse killed with no retries left, abandoned too often) is moved to ``pending`` with the reason.
        """
        if not open_rows:
            return []
        ids = [ingest_job_id(c.source_id, c.sha256) for c, _ in open_rows]
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(f"rq:job:{job_id}", "status", "description")
            found = pipe.execute()
        lost: list[Candidate] = []
        for (c, row_status), job_id, (raw_status, raw_desc) in zip(open_rows, ids, found, strict=True):
            status = raw_status.decode() if raw_status else None
            if status is None or (
                status not in ACTIVE_JOB_STATES and (raw_desc or b"").decode() != f"ingest {c.path}"
            ):
                lost.append(c)
            elif status in DEAD_JOB_STATES and row_status in FILE_IN_FLIGHT:
                self._release(c, job_id, status)
            elif status not in ACTIVE_JOB_STATES and job_id not in self._warned:
                self._warned.add(job_id)
                log.warning("reconcile.left_open", path=str(c.path), job=job_id, job_status=status)
        return lost

    def _release(self, c: Candidate, job_id: str, job_status: str) -> None:
        reason = (
            f"ingest job {job_id} {job_status} without recording a result (worker killed or job abandoned;"
            " see `pipeline jobs`); drop the file again to retry"
        )
        log.warning("reconcile.job_failed", path=str(c.path), job=job_id, job_status=job_status)
        Ledger(self.settings).set_status(
            c.source_id, str(c.path), c.sha256, FileStatus.PENDING, reason=reason
        )

    def _recover_dead_jobs(self) -> None:
        try:
            recovered = recover_abandoned_jobs(self.connection, [INGEST_QUEUE])
        except redis.RedisError:
            raise
        except Exception:  # the worker side's helper must not stop our own reconcile
            log.exception("reconcile.recover_failed")
            return
        for job_id in recovered:
            log.info("requeue_dead_job", job=job_id)
