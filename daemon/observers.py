"""Which watchdog observer watches which folder, kept in step with the source registry.

Local folders share one inotify ``Observer``; folders on network/FUSE mounts (or all folders, with
``force_polling``) share one ``PollingObserver``. A folder that cannot be watched yet (missing mount,
deleted source folder) is logged and retried on the next refresh; the reconcile still scans it.
"""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from daemon.events import Debouncer, EventForwarder
from daemon.mounts import filesystem_type, is_network_fs
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings

__all__ = ["ObserverSet"]

log = get_logger("daemon.observers")

WATCHDOG_RACE_WARNING = r"Callback with id .* already exists for watch"
"""watchdog 7 warns when a new subfolder is registered twice (by its create event and by the recursive
re-scan that follows); the second registration is identical, so the warning says nothing we can act on.
Left alone, a ``-W error`` run turns it into an exception that kills the inotify thread."""
warnings.filterwarnings("ignore", message=WATCHDOG_RACE_WARNING, category=RuntimeWarning)


class ObserverSet:
    def __init__(self, settings: Settings, debouncer: Debouncer) -> None:
        self.settings = settings
        self._debouncer = debouncer
        self._observers: dict[bool, BaseObserver] = {}
        self._watches: dict[Path, tuple[bool, ObservedWatch]] = {}
        self._failed: set[Path] = set()

    def uses_polling(self, root: Path) -> bool:
        if self.settings.force_polling:
            return True
        return is_network_fs(filesystem_type(root))

    def is_polling(self, path: Path) -> bool:
        """Whether events for ``path`` come from the polling observer (no open/close events there)."""
        for root, (polling, _watch) in list(self._watches.items()):
            if path == root or root in path.parents:
                return polling
        return self.settings.force_polling

    def sync(self, roots: list[Path]) -> None:
        """Watch exactly ``roots`` (recursively): schedule new ones, drop removed ones."""
        wanted = set(roots)
        for root in [r for r in self._watches if r not in wanted]:
            polling, watch = self._watches.pop(root)
            self._observers[polling].unschedule(watch)
            log.info("unwatch", path=str(root))
        for root in roots:
            if root not in self._watches:
                self._schedule(root)

    def _schedule(self, root: Path, *, polling: bool | None = None) -> None:
        polling = self.uses_polling(root) if polling is None else polling
        observer = self._observer(polling)
        try:
            watch = observer.schedule(
                EventForwarder(self._debouncer, polling=polling), str(root), recursive=True
            )
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE) and not polling:
                # inotify watch/instance limit (fs.inotify.max_user_watches): polling still works, slower.
                log.warning("watch.inotify_limit", path=str(root), error=str(exc), fallback="polling")
                self._schedule(root, polling=True)
                return
            if root not in self._failed:  # missing folder or mount: retried on the next refresh
                log.error("watch_failed", path=str(root), error=str(exc))
            self._failed.add(root)
            return
        self._failed.discard(root)
        self._watches[root] = (polling, watch)
        log.info(
            "watch", path=str(root), observer="polling" if polling else "inotify", fs=filesystem_type(root)
        )

    def _observer(self, polling: bool) -> BaseObserver:
        observer = self._observers.get(polling)
        if observer is None:
            observer = PollingObserver(timeout=self.settings.poll_interval_s) if polling else Observer()
            observer.daemon = True
            observer.start()
            self._observers[polling] = observer
        return observer

    def stop(self, timeout: float = 10.0) -> None:
        for observer in self._observers.values():
            observer.stop()
        for observer in self._observers.values():
            if observer.is_alive():
                observer.join(timeout)
        self._observers.clear()
        self._watches.clear()
