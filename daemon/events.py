"""The watchdog side: a thin event handler and the debouncing thread it feeds (as watchdog's own
``EventDebouncer`` does: the handler filters and forwards, a separate thread batches).

Handlers run on the observer's single dispatch thread, so ``EventForwarder`` only filters names and
forwards; the ``Debouncer`` thread owns the ``StabilityTracker``, sleeps until the earliest due time
and hands each batch of finished files to one callback (hashing, ledger, enqueue happen there).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from daemon.filters import is_candidate_name, iter_candidates
from daemon.tracker import Kind, Ready, StabilityTracker
from trading_pipeline.logs import get_logger

__all__ = ["Debouncer", "EventForwarder", "OverflowDetector"]

log = get_logger("daemon.events")

_KINDS: dict[type[FileSystemEvent], Kind] = {
    FileCreatedEvent: Kind.CREATED,
    FileModifiedEvent: Kind.MODIFIED,
    FileClosedEvent: Kind.CLOSED,
    FileOpenedEvent: Kind.OPENED,
    FileClosedNoWriteEvent: Kind.CLOSED_NO_WRITE,
    FileDeletedEvent: Kind.DELETED,
}


class Debouncer(threading.Thread):
    """Owns the tracker; calls ``on_ready(batch)`` from its own thread, never from the observer's."""

    def __init__(
        self,
        tracker: StabilityTracker,
        on_ready: Callable[[list[Ready]], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="pipeline-debouncer", daemon=True)
        self._tracker = tracker
        self._on_ready = on_ready
        self._clock = clock
        self._cond = threading.Condition()
        self._scans: list[tuple[Path, bool]] = []
        self._stopping = False

    # --- called from observer threads and the reconcile thread ---------------------------------
    def event(self, path: Path, kind: Kind, *, polling: bool = False) -> None:
        with self._cond:
            self._tracker.event(path, kind, polling=polling)
            self._cond.notify()

    def watch(self, paths: list[Path], *, polling: bool = False) -> None:
        """Track files found by a scan until they are quiet (reconcile hands over young files)."""
        with self._cond:
            for path in paths:
                self._tracker.watch(path, polling=polling)
            self._cond.notify()

    def scan_folder(self, folder: Path, *, polling: bool = False) -> None:
        """A folder appeared (created or moved in): its files may have no events of their own."""
        with self._cond:
            self._scans.append((folder, polling))
            self._cond.notify()

    def is_tracking(self, path: Path) -> bool:
        with self._cond:
            return path in self._tracker

    def pending_count(self) -> int:
        with self._cond:
            return len(self._tracker)

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self.is_alive():
            self.join(timeout)

    # --- the thread -------------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            batch, scans = self._wait_for_work()
            if batch is None:
                return
            for folder, polling in scans:
                self.watch(list(iter_candidates(folder)), polling=polling)
            if batch:
                try:
                    self._on_ready(batch)
                except Exception:  # one bad batch must never stop the watcher; reconcile retries
                    log.exception("debouncer.batch_failed", files=len(batch))

    def _wait_for_work(self) -> tuple[list[Ready] | None, list[tuple[Path, bool]]]:
        with self._cond:
            while not self._stopping:
                scans, self._scans = self._scans, []
                ready = self._tracker.take_due()
                if ready or scans:
                    return ready, scans
                due = self._tracker.next_due()
                self._cond.wait(None if due is None else max(0.0, due - self._clock()) + 0.001)
            return None, []


class EventForwarder(FileSystemEventHandler):
    """Maps watchdog events to tracker kinds; ignores names that can never be ingested."""

    def __init__(self, debouncer: Debouncer, *, polling: bool) -> None:
        super().__init__()
        self._debouncer = debouncer
        self._polling = polling

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._forward(event)
        except Exception:  # never let one odd event kill the observer's dispatch thread
            log.exception("events.dispatch_failed", event=repr(event))

    def _forward(self, event: FileSystemEvent) -> None:
        src = Path(os.fsdecode(event.src_path))
        if isinstance(event, FileMovedEvent):
            dest = Path(os.fsdecode(event.dest_path))
            if is_candidate_name(src.name):
                self._debouncer.event(src, Kind.DELETED, polling=self._polling)
            if is_candidate_name(dest.name):
                self._debouncer.event(dest, Kind.MOVED_IN, polling=self._polling)
        elif isinstance(event, DirMovedEvent):
            self._debouncer.scan_folder(Path(os.fsdecode(event.dest_path)), polling=self._polling)
        elif isinstance(event, DirCreatedEvent):
            self._debouncer.scan_folder(src, polling=self._polling)
        else:
            kind = _KINDS.get(type(event))
            if kind is not None and is_candidate_name(src.name):
                self._debouncer.event(src, kind, polling=self._polling)


class OverflowDetector(logging.Handler):
    """watchdog tells nobody but its logger when inotify drops events; we turn that into a reconcile."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._on_overflow = on_overflow
        self._previous_level = logging.NOTSET

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._on_overflow()

    def install(self) -> None:
        logger = logging.getLogger("watchdog.observers")
        self._previous_level = logger.level
        if logger.getEffectiveLevel() > logging.WARNING:  # PIPELINE_LOG_LEVEL=error must not hide it
            logger.setLevel(logging.WARNING)
        logger.addHandler(self)

    def uninstall(self) -> None:
        logger = logging.getLogger("watchdog.observers")
        logger.removeHandler(self)
        logger.setLevel(self._previous_level)
