"""From "this file is finished" to a job in Redis: source lookup, hash, ledger, idempotent enqueue.

Order matters for "never miss": the ledger row is moved to ``queued`` *before* the enqueue. If Redis is
down or the daemon dies in between, the row says queued but no job exists, and the next reconcile sees
exactly that and enqueues again. Enqueueing twice is harmless: the job id is (source, sha256) and
``enqueue_ingest_many`` skips ids that are already waiting or running.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

from daemon.filters import is_candidate
from daemon.hashing import FileChangedError, FileVersion, HashCache
from daemon.sources import SourceMap
from daemon.tracker import Ready
from jobqueue.ingest import IngestRequest, enqueue_ingest_many
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger, SeenFile
from trading_pipeline.logs import get_logger
from trading_pipeline.safeio import Refusal, inspect_file, refusal_for_error, unreadable
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FILE_FINAL, FILE_REOPENABLE, FileStatus

__all__ = ["Candidate", "Submitter", "Tally"]

log = get_logger("daemon.submit")


@dataclass(frozen=True)
class Candidate:
    """A finished file with its source and content hash."""

    path: Path
    source_id: str
    options: IngestOptions
    version: FileVersion
    sha256: str
    reason: str
    waited_s: float = 0.0

    @property
    def request(self) -> IngestRequest:
        return IngestRequest(str(self.path), self.sha256, self.options)


@dataclass
class Tally:
    """What a submit or reconcile did, for ``--once`` output and tests."""

    enqueued: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.enqueued += other.enqueued
        self.skipped.update(other.skipped)

    def to_json(self) -> dict[str, object]:
        return {"enqueued": len(self.enqueued), "skipped": dict(self.skipped)}


class Submitter:
    """Serialises all enqueueing (event thread and reconcile) behind one lock."""

    def __init__(
        self,
        settings: Settings,
        connection: redis.Redis,
        sources: SourceMap,
        hashes: HashCache,
        *,
        on_redis_error: Callable[[Exception], None] = lambda exc: None,
        on_changed: Callable[[Path], None] = lambda path: None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.sources = sources
        self.hashes = hashes
        self._on_redis_error = on_redis_error
        self._on_changed = on_changed
        self._lock = threading.Lock()

    def submit_ready(self, batch: Sequence[Ready]) -> Tally:
        """Debouncer callback: hash the finished files and enqueue them."""
        tally = Tally()
        candidates = [c for r in batch if (c := self.prepare(r.path, r.reason, r.waited_s, tally))]
        tally.add(self.submit(candidates))
        return tally

    def prepare(
        self, path: Path, reason: str, waited_s: float = 0.0, tally: Tally | None = None
    ) -> Candidate | None:
        """Resolve the source and hash the file; None (logged) when it cannot be enqueued."""
        found = self.sources.resolve(path)
        if found is None or not is_candidate(path, self.sources.root_of(path)):
            self._skip(tally, path, None, None, "no source" if found is None else "hidden folder")
            return None
        refusal = inspect_file(path, found[1].root)  # lstat only: a FIFO or a link out is never opened
        if refusal is None:
            try:
                version, sha = self.hashes.sha256(path)
            except FileChangedError:
                self._on_changed(path)  # still being written: back to the tracker until it is quiet
                self._skip(tally, path, found[0], None, "changed while hashing")
                return None
            except OSError as exc:
                refusal = refusal_for_error(exc) or unreadable(exc.strerror)
            else:
                return Candidate(path, found[0], found[1], version, sha, reason, waited_s)
        self._refuse(path, found[0], refusal, tally)
        return None

    def _refuse(self, path: Path, source_id: str, refusal: Refusal, tally: Tally | None) -> None:
        """Every file seen gets a final status: one the daemon cannot read is recorded as such."""
        try:
            st = path.lstat()
            size, mtime = st.st_size, st.st_mtime
        except OSError:
            size, mtime = 0, 0.0
        changed = Ledger(self.settings).record_refusal(
            source_id, str(path), refusal.status, refusal.reason, size=size, mtime=mtime
        )
        if tally is not None:
            tally.skipped[str(refusal.status)] += 1
        if changed:
            log.warning(
                "refused", path=str(path), source=source_id, status=refusal.status, reason=refusal.reason
            )

    def submit(self, candidates: Sequence[Candidate]) -> Tally:
        """Record and enqueue; rows already final or with an active job are skipped (and logged)."""
        tally = Tally()
        if not candidates:
            return tally
        with self._lock:
            seen = [
                SeenFile(
                    c.source_id, str(c.path), c.sha256, c.version.size, c.version.mtime, c.request.job_id
                )
                for c in candidates
            ]
            before = Ledger(self.settings).record_queued(seen)
            todo = [c for c, status in zip(candidates, before, strict=True) if _needs_work(status)]
            for c, status in zip(candidates, before, strict=True):
                if not _needs_work(status):
                    self._skip(tally, c.path, c.source_id, c.sha256, f"already {status}")
            try:
                job_ids = enqueue_ingest_many(self.connection, self.settings, [c.request for c in todo])
            except redis.RedisError as exc:
                log.warning(
                    "enqueue.redis_unavailable", files=len(todo), error=str(exc) or type(exc).__name__
                )
                self._on_redis_error(exc)
                tally.skipped["redis unavailable"] += len(todo)
                return tally
        for c, job_id in zip(todo, job_ids, strict=True):
            if job_id is None:
                self._skip(tally, c.path, c.source_id, c.sha256, "job already active")
            else:
                tally.enqueued.append(job_id)
                log.info(
                    "enqueue", path=str(c.path), source=c.source_id, sha=c.sha256[:16], reason=c.reason,
                    job=job_id, waited_ms=round(c.waited_s * 1000, 1),
                )  # fmt: skip
        return tally

    @staticmethod
    def _skip(tally: Tally | None, path: Path, source: str | None, sha: str | None, reason: str) -> None:
        if tally is not None:
            tally.skipped[reason.split(":")[0]] += 1
        log.info("skip", path=str(path), source=source, sha=sha[:16] if sha else None, reason=reason)


def _needs_work(status: FileStatus) -> bool:
    """Not final, or final only while the file was gone or unreadable (it is back and readable now)."""
    return status not in FILE_FINAL or status in FILE_REOPENABLE
