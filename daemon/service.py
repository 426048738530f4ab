"""The watcher process: observers + debouncer + periodic reconcile, one main loop, clean shutdown.

Start order closes the gap between "scanned" and "watched": observers start first, then the first
reconcile runs, so a file dropped during start-up is seen by one or both (both is harmless: enqueue
is idempotent). Stop order: observers, then the debouncer; anything still pending is simply dropped,
because the ledger and the next start's reconcile make nothing depend on in-memory state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis

from daemon.events import Debouncer, OverflowDetector
from daemon.hashing import HashCache
from daemon.leader import Leadership, lease_for
from daemon.notify import notify, watchdog_interval_s
from daemon.observers import ObserverSet
from daemon.reconcile import Reconciler
from daemon.sources import Repository, SourceMap
from daemon.submit import Submitter, Tally
from daemon.tracker import Ready, StabilityTracker
from jobqueue.connect import connect_settings
from trading_pipeline.dbadmin import migrate_all
from trading_pipeline.durable import sweep_temps
from trading_pipeline.errors import DaemonLockLost, QueueUnavailableError
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings
from trading_pipeline.sources import SessionManager

__all__ = ["Daemon", "connect", "run_once", "serve"]

log = get_logger("daemon")
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
HOUSEKEEPING_INTERVAL_S = 3600.0
"""How often old finished upload sessions and abandoned temp files are removed (``_housekeeping``)."""


def connect(settings: Settings) -> redis.Redis:
    """A checked client with timeouts (the daemon never block-pops, so a hung server must not hang it)."""
    try:
        return connect_settings(settings, timeout_s=10)
    except QueueUnavailableError as exc:
        raise QueueUnavailableError(
            f"cannot reach Redis at {exc.fields['url']}: {exc.fields['reason']}. The daemon needs it: start"
            " `pipeline up`, or point PIPELINE_REDIS_URL at a running Redis",
            **exc.fields,
        ) from exc


class Daemon:
    """``start()`` + ``run()`` in the main thread, ``stop()`` from a signal handler or another thread."""

    def __init__(
        self, settings: Settings, connection: redis.Redis, *, repository: Repository | None = None
    ) -> None:
        settings.ensure_dirs()
        migrate_all(settings)  # create or upgrade every table if this is the first process
        self.settings = settings
        self.sources = SourceMap(settings, repository)
        self.hashes = HashCache()
        self.debouncer = Debouncer(StabilityTracker(settings.quiet_period_s), self._on_ready)
        self.observers = ObserverSet(settings, self.debouncer)
        self.submitter = Submitter(
            settings, connection, self.sources, self.hashes,
            on_redis_error=self._on_redis_error, on_changed=self._on_changed,
        )  # fmt: skip
        self.reconciler = Reconciler(
            settings,
            connection,
            self.sources,
            self.hashes,
            self.submitter,
            is_tracking=self.debouncer.is_tracking,
        )
        self._overflow = OverflowDetector(self.request_reconcile)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._backoff_s = BACKOFF_MIN_S
        self._next_reconcile = 0.0
        self._next_cleanup = 0.0
        self.reconciles = 0
        self.submitted = Tally()

    # --- control, from any thread ----------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_reconcile(self) -> None:
        """Reconcile as soon as possible (inotify overflow, SIGHUP)."""
        self._next_reconcile = 0.0
        self._wake.set()

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        self._overflow.install()
        self.debouncer.start()
        self.observers.sync(self.sources.roots())

    def run(self, *, ready: Callable[[], None] | None = None) -> None:
        """Main loop until ``stop()``: reconcile on schedule, ping systemd's watchdog."""
        ping_s = watchdog_interval_s()
        announced = False
        while not self._stop.is_set():
            if time.monotonic() >= self._next_reconcile:
                self._reconcile()
                if not announced:
                    announced = True
                    notify("READY=1")
                    if ready is not None:
                        ready()
            if ping_s is not None:
                notify("WATCHDOG=1")
            timeout = max(0.0, self._next_reconcile - time.monotonic())
            self._wake.wait(min(timeout, ping_s) if ping_s is not None else timeout)
            self._wake.clear()
        notify("STOPPING=1")

    def close(self) -> None:
        self.observers.stop()
        self.debouncer.stop()
        self._overflow.uninstall()
        log.info("stopped", reconciles=self.reconciles, enqueued=len(self.submitted.enqueued))

    # --- internals --------------------------------------------------------------------------------
    def _reconcile(self) -> None:
        try:
            # Watch new source folders first, then scan: a file dropped in between is seen by one or both.
            self.sources.refresh()
            self.observers.sync(self.sources.roots())
            result = self.reconciler.run(refresh_sources=False)
        except Exception as exc:  # Redis down, SQLite busy, a share gone: retry with backoff, never die
            log.warning("reconcile.failed", error=f"{type(exc).__name__}: {exc}", retry_in_s=self._backoff_s)
            self._next_reconcile = time.monotonic() + self._backoff_s
            self._backoff_s = min(self._backoff_s * 2, BACKOFF_MAX_S)
            return
        self.reconciles += 1
        self.submitted.add(result.tally)
        self._watch_young(result.young)
        if "redis unavailable" in result.tally.skipped:
            self._on_redis_error(None)
            return
        self._backoff_s = BACKOFF_MIN_S
        self._next_reconcile = time.monotonic() + self.settings.reconcile_interval_s
        self._housekeeping()

    def _housekeeping(self) -> None:
        """Hourly, after a good reconcile (so the ledger is current): finished upload sessions older
        than ``PIPELINE_SESSION_MAX_AGE_H`` go (0 keeps them), and so do temp files that killed writers
        left in the store and the run folders (``durable.sweep_temps``)."""
        if time.monotonic() < self._next_cleanup:
            return
        self._next_cleanup = time.monotonic() + HOUSEKEEPING_INTERVAL_S
        try:
            max_age_s = 3600 * self.settings.temp_max_age_h
            temps = [
                p
                for d in (self.settings.processed_dir, self.settings.runs_dir)
                for p in sweep_temps(d, max_age_s=max_age_s)
            ]
            sessions = []
            if self.settings.session_max_age_h > 0:
                sessions = SessionManager(self.settings).cleanup_old_sessions()
        except Exception as exc:  # never let housekeeping stop the watcher
            log.warning("housekeeping.failed", error=f"{type(exc).__name__}: {exc}")
            return
        if temps:
            log.info("abandoned temp files removed", paths=[str(p) for p in temps])
        if sessions:
            log.info("session_cleanup", removed=sessions, max_age_h=self.settings.session_max_age_h)

    def _on_ready(self, batch: list[Ready]) -> None:
        self.submitted.add(self.submitter.submit_ready(batch))

    def _on_redis_error(self, _exc: Exception | None) -> None:
        """Redis blipped during an enqueue: the rows say queued, so a reconcile after a backoff fixes it."""
        self._next_reconcile = min(self._next_reconcile, time.monotonic() + self._backoff_s)
        self._backoff_s = min(self._backoff_s * 2, BACKOFF_MAX_S)
        self._wake.set()

    def _on_changed(self, path: Path) -> None:
        self.debouncer.watch([path], polling=self.observers.is_polling(path))

    def _watch_young(self, paths: list[Path]) -> None:
        for polling in (False, True):
            group = [p for p in paths if self.observers.is_polling(p) is polling]
            if group:
                self.debouncer.watch(group, polling=polling)


def run_once(settings: Settings, connection: redis.Redis, *, repository: Repository | None = None) -> Tally:
    """One reconcile with no observers (cron, tests); files still being written are waited for."""
    settings.ensure_dirs()
    migrate_all(settings)  # create or upgrade every table if this is the first process
    sources = SourceMap(settings, repository)
    hashes = HashCache()
    tracker = StabilityTracker(settings.quiet_period_s)
    submitter = Submitter(settings, connection, sources, hashes, on_changed=lambda p: tracker.watch(p))
    result = Reconciler(settings, connection, sources, hashes, submitter).run()
    tally = result.tally
    for path in result.young:
        tracker.watch(path, polling=settings.force_polling)
    deadline = time.monotonic() + max(30.0, 20 * settings.quiet_period_s)
    while len(tracker) and time.monotonic() < deadline:
        due = tracker.next_due()
        time.sleep(max(0.0, (due or 0.0) - time.monotonic()) + 0.001)
        tally.add(submitter.submit_ready(tracker.take_due()))
    return tally


def serve(
    settings: Settings, connection: redis.Redis, *, repository: Repository | None = None
) -> Daemon | None:
    """Run the daemon in this (main) thread until SIGTERM/SIGINT; SIGHUP asks for a reconcile now.

    First the data folder's daemon lock (``daemon.leader``): while another daemon holds it, this one
    waits as a standby (telling systemd it is up, and pinging its watchdog). Returns None when stopped
    as a standby; raises ``DaemonLockLost`` when the lock was lost while running."""
    import signal

    stopped = threading.Event()
    lost = threading.Event()
    current: list[Daemon] = []

    def stop(*_: object) -> None:
        stopped.set()
        for running in current:
            running.stop()

    def rescan(*_: object) -> None:
        for running in current:
            running.request_reconcile()

    def lock_lost() -> None:
        lost.set()
        stop()

    handlers = {
        signal.SIGTERM: stop,
        signal.SIGINT: stop,
        signal.SIGHUP: rescan,
    }
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    leadership = Leadership(lease_for(settings, connection))
    try:
        if not leadership.wait(stopped, on_wait=_standby_ping()):
            return None
        daemon = Daemon(settings, connection, repository=repository)
        current.append(daemon)
        if stopped.is_set():
            daemon.stop()
        leadership.keep(lock_lost)
        try:
            daemon.start()
            log.info(
                "started", roots=[str(r) for r in daemon.sources.roots()], quiet_s=settings.quiet_period_s
            )
            daemon.run()
        finally:
            daemon.close()
    finally:
        leadership.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if lost.is_set():
        raise DaemonLockLost(
            "the daemon lock for this data folder was lost (database or Redis connection gone); exiting so"
            " that a restart comes back as a standby"
        )
    return daemon


def _standby_ping() -> Callable[[str | None], None]:
    """A standby is a healthy service: READY once (so systemd's start does not time out), a status
    line naming the holder, and watchdog pings."""
    announced: list[bool] = []

    def ping(holder: str | None) -> None:
        if not announced:
            announced.append(True)
            notify("READY=1")
        notify(f"STATUS=standby: the daemon lock is held by {holder or 'nobody (taking it)'}")
        if watchdog_interval_s() is not None:
            notify("WATCHDOG=1")

    return ping
