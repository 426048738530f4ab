"""`pipeline up`: run Redis, the daemon and the workers as supervised child processes.

A child that dies is logged and restarted with exponential backoff (reset once it has run for a while).
The first SIGINT/SIGTERM/SIGHUP stops everything gracefully, tier by tier: the highest tier first (UI, then
daemon and workers, which finish their current job), Redis last so nobody loses its queue mid-stop.
A second signal makes the stop immediate (RQ's cold shutdown, then SIGKILL).

Children run in their own sessions, so a Ctrl-C in the terminal reaches only the supervisor, which
then stops them in order; with ``PR_SET_PDEATHSIG`` they also get SIGTERM if the supervisor is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from jobqueue.connect import connect
from jobqueue.names import DEFAULT_QUEUES
from jobqueue.recovery import recover_abandoned_jobs, requeue_lost_jobs
from stack.embedded_redis import EmbeddedRedis
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings

__all__ = ["Service", "Supervisor", "die_with_parent", "pipeline_argv", "stack_services"]

log = get_logger(__name__)

PR_SET_PDEATHSIG = 1
STABLE_AFTER_S = 30.0
"""A child that ran this long before dying is restarted after the base delay again."""
MAX_BACKOFF_S = 30.0
COLD_STOP_GRACE_S = 5.0
RQ_REPEAT_SIGNAL_S = 1.2


@dataclass
class Service:
    """One supervised process.

    ``tier`` orders the shutdown (higher stops first, same tier in parallel). ``ready`` blocks until the
    process can serve (e.g. Redis answers PING); ``on_death`` runs after an unexpected exit (e.g.
    requeue the jobs of a dead worker) — both in the supervisor's main thread.
    """

    name: str
    argv: list[str]
    tier: int = 1
    env: dict[str, str] | None = None
    stop_timeout_s: float = 30.0
    ready: Callable[[], None] | None = None
    on_death: Callable[[], None] | None = None


@dataclass
class _Child:
    service: Service
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    history: list[int] = field(default_factory=list)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """In a child process: get ``sig`` when the parent dies, even by SIGKILL (Linux; a no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)


def _die_with_parent() -> None:
    die_with_parent(signal.SIGTERM)


class Supervisor:
    """Starts services in order, restarts the ones that die, stops them in reverse tiers."""

    def __init__(self, services: Sequence[Service], *, poll_interval_s: float = 0.1) -> None:
        self.children = [_Child(s) for s in services]
        self.poll_interval_s = poll_interval_s
        self._stop = threading.Event()
        self._force = threading.Event()

    # --- signals ----------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        # A closed terminal (or ssh session) HUPs `pipeline up`: stop in order rather than die at once
        # and leave every child to PDEATHSIG's simultaneous SIGTERM (Redis gone before the workers).
        signal.signal(signal.SIGHUP, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop.is_set():
            log.warning("second stop signal: stopping now", signal=signal.Signals(signum).name)
            self._force.set()
        else:
            log.info(
                "stopping gracefully; send the signal again to stop now", signal=signal.Signals(signum).name
            )
        self._stop.set()

    def request_stop(self) -> None:
        self._stop.set()

    # --- running ----------------------------------------------------------------------------------
    def run(self) -> int:
        """Start everything, supervise until asked to stop, then stop everything. Returns 0."""
        try:
            self.start_all()
            while not self._stop.is_set():
                self.check_children()
                self._stop.wait(self.poll_interval_s)
        finally:
            self.stop_all()
        return 0

    def start_all(self) -> None:
        """Start in the given order, each after the previous one is ready (Redis before its clients)."""
        for child in self.children:
            if self._stop.is_set():
                return
            self._start(child)

    def _start(self, child: _Child) -> None:
        svc = child.service
        child.proc = subprocess.Popen(
            svc.argv, env=svc.env, start_new_session=True, preexec_fn=_die_with_parent, close_fds=True
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started", service=svc.name, pid=child.proc.pid)
        if svc.ready is not None:
            svc.ready()

    def check_children(self) -> None:
        """Reap dead children, run their death hooks, restart the ones whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            proc = child.proc
            if proc is not None and proc.poll() is not None:
                self._died(child, proc.returncode, now)
            if child.proc is None and child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                try:
                    self._start(child)
                except Exception as exc:  # e.g. Redis not ready in time: try again later
                    log.error("restart failed", service=child.service.name, error=str(exc))
                    self._died(child, -1, time.monotonic())

    def _died(self, child: _Child, returncode: int, now: float) -> None:
        svc = child.service
        ran_s = now - child.started_at
        child.failures = 1 if ran_s >= STABLE_AFTER_S else child.failures + 1
        delay = min(2.0 ** (child.failures - 1), MAX_BACKOFF_S)
        child.proc, child.restart_at = None, now + delay
        child.history.append(returncode)
        log.warning("exited unexpectedly", service=svc.name, returncode=returncode, ran_s=round(ran_s, 1),
                    restart_in_s=delay)  # fmt: skip
        if svc.on_death is not None:
            try:
                svc.on_death()
            except Exception as exc:  # a hook must never take the supervisor down
                log.error("death hook failed", service=svc.name, error=str(exc))

    def pids(self) -> dict[str, int]:
        return {
            c.service.name: c.proc.pid for c in self.children if c.proc is not None and c.proc.poll() is None
        }

    # --- stopping ---------------------------------------------------------------------------------
    def stop_all(self) -> None:
        """Stop tier by tier, highest first; within a tier, all at once."""
        for tier in sorted({c.service.tier for c in self.children}, reverse=True):
            self._stop_tier([c for c in self.children if c.service.tier == tier])

    def _stop_tier(self, children: list[_Child]) -> None:
        live = [c for c in children if c.proc is not None and c.proc.poll() is None]
        for child in live:
            self._signal(child, signal.SIGTERM)
        if live:
            log.info("waiting for services to stop", services=[c.service.name for c in live])
        began = time.monotonic()
        deadline = {id(c): began + c.service.stop_timeout_s for c in live}
        forced_at: float | None = None
        while live:
            live = [c for c in live if c.proc is not None and c.proc.poll() is None]
            now = time.monotonic()
            # RQ ignores a repeated signal within 1 s, so the cold-stop TERM waits that long.
            if self._force.is_set() and forced_at is None and now - began > RQ_REPEAT_SIGNAL_S:
                forced_at = now
                for child in live:
                    self._signal(child, signal.SIGTERM)  # a second TERM is RQ's cold shutdown
            for child in live:
                overdue = now > deadline[id(child)]
                if overdue or (forced_at is not None and now - forced_at > COLD_STOP_GRACE_S):
                    log.warning("killing", service=child.service.name)
                    self._signal(child, signal.SIGKILL)
            time.sleep(0.05)
        for child in children:
            if child.proc is not None:
                log.info("stopped", service=child.service.name, returncode=child.proc.wait())
            child.proc, child.restart_at = None, None

    @staticmethod
    def _signal(child: _Child, sig: signal.Signals) -> None:
        if child.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.proc.pid, sig)


# --- the stack `pipeline up` runs -----------------------------------------------------------------
def pipeline_argv(*args: str) -> list[str]:
    """The `pipeline` console script of this installation (not whatever is first on PATH)."""
    script = Path(sys.executable).with_name("pipeline")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from cli import main; main()", *args]


def child_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The children see the same data folder and the Redis chosen here, whatever their cwd."""
    env = dict(os.environ)
    env["PIPELINE_DATA_DIR"] = str(settings.data_dir)
    env["PIPELINE_REDIS_URL"] = redis_url
    return env


def redis_service(embedded: EmbeddedRedis) -> Service:
    def ready() -> None:
        embedded.wait_ready()
        embedded.publish()

    return Service("redis", embedded.argv, tier=0, ready=ready, stop_timeout_s=60.0)


def stack_services(
    settings: Settings,
    redis_url: str,
    *,
    workers: int = 2,
    embedded: EmbeddedRedis | None = None,
    ui: bool = False,
) -> list[Service]:
    """Redis (when embedded), the daemon, N workers, then any optional services (the UI)."""
    env = child_env(settings, redis_url)

    def recover() -> None:
        connection = connect(redis_url, timeout_s=10)
        recovered = recover_abandoned_jobs(connection) + requeue_lost_jobs(connection)
        if recovered:
            log.warning("requeued jobs of a dead worker", jobs=recovered)

    services = [redis_service(embedded)] if embedded is not None else []
    services.append(Service("daemon", pipeline_argv("daemon"), env=env, stop_timeout_s=30.0))
    services += [
        Service(
            f"worker.{i}",
            pipeline_argv("worker", *DEFAULT_QUEUES),
            env=env,
            stop_timeout_s=settings.job_timeout_s + 60.0,
            on_death=recover,
        )
        for i in range(1, workers + 1)
    ]
    return services + optional_services(settings, redis_url, env, ui=ui)


def optional_services(
    settings: Settings, redis_url: str, env: dict[str, str], *, ui: bool = False
) -> list[Service]:
    """Services beside the work itself: the web UI (`pipeline ui`), which stops first (tier 2; Redis,
    tier 0, is always last). ``redis_url`` reaches it through ``env``."""
    del redis_url  # in env already
    if not ui:
        return []
    argv = pipeline_argv("ui", "--host", settings.ui_host, "--port", str(settings.ui_port))
    return [Service("ui", argv, tier=2, env=env, stop_timeout_s=10.0)]
