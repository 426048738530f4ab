"""The supervisor behind `pipeline up`: restarts what dies, stops in tiers, escalates on a second signal."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from stack.supervisor import Service, Supervisor
from testkit import wait_for

pytestmark = pytest.mark.integration

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _recorder(name: str, log: Path) -> list[str]:
    """A service that appends its name to ``log`` when SIGTERMed, then exits."""
    code = (
        "import signal, sys, time\n"
        f"def stop(*_):\n    open({str(log)!r}, 'a').write({name!r} + '\\n'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(0.05)\n"
    )
    return [sys.executable, "-c", code]


def test_a_dead_child_is_restarted_and_its_hook_runs() -> None:
    """A child killed behind the supervisor's back comes back (after 1 s backoff) and on_death runs."""
    deaths: list[str] = []
    sup = Supervisor([Service("sleeper", SLEEPER, on_death=lambda: deaths.append("x"))])
    sup.start_all()
    try:
        first = sup.pids()["sleeper"]
        sup.children[0].proc.kill()  # type: ignore[union-attr]
        sup.children[0].proc.wait()  # type: ignore[union-attr]

        def restarted() -> int | None:
            sup.check_children()
            pid = sup.pids().get("sleeper")
            return pid if pid and pid != first else None

        wait_for(restarted, timeout_s=20, what="the restart")
        assert deaths == ["x"]
        assert sup.children[0].restarts == 1
    finally:
        sup.stop_all()
    assert sup.pids() == {}


def test_backoff_doubles_for_a_crash_loop_and_resets_after_a_stable_run() -> None:
    """1, 2, 4 ... 30 s between restarts of a child that keeps dying at once; 1 s after a long run."""
    sup = Supervisor([Service("crasher", [sys.executable, "-c", "raise SystemExit(3)"])])
    child = sup.children[0]
    delays = []
    for _ in range(7):
        now = time.monotonic()
        child.started_at = now
        sup._died(child, 3, now)
        assert child.restart_at is not None
        delays.append(round(child.restart_at - now))
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    now = time.monotonic()
    child.started_at = now - 3600
    sup._died(child, 3, now)
    assert child.restart_at is not None and round(child.restart_at - now) == 1


def test_stop_goes_tier_by_tier_with_redis_last(tmp_path: Path) -> None:
    """Workers and daemon (tier 1) stop before Redis (tier 0); the UI (tier 2) stops first."""
    log = tmp_path / "stops.txt"
    names = [("redis", 0), ("daemon", 1), ("worker", 1), ("ui", 2)]
    sup = Supervisor([Service(n, _recorder(n, log), tier=t) for n, t in names])
    sup.start_all()
    wait_for(lambda: all(_started(sup, n) for n, _ in names), what="all children")
    time.sleep(0.3)  # let each child install its SIGTERM handler before we send it
    sup.stop_all()
    order = log.read_text().split()
    assert order[0] == "ui" and order[-1] == "redis" and sorted(order[1:3]) == ["daemon", "worker"]


def test_a_child_that_ignores_sigterm_is_killed_after_its_timeout() -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    sup = Supervisor([Service("stubborn", [sys.executable, "-c", code], stop_timeout_s=0.5)])
    sup.start_all()
    time.sleep(0.3)
    sup.stop_all()
    assert sup.pids() == {}


def _started(sup: Supervisor, name: str) -> bool:
    return name in sup.pids()


def test_sighup_stops_gracefully_like_sigterm() -> None:
    """A closed terminal HUPs `pipeline up`; before, it died at once without stopping its children."""
    supervisor = Supervisor([])
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        supervisor.install_signal_handlers()
        os.kill(os.getpid(), signal.SIGHUP)
        assert supervisor.run() == 0  # returns at once: the stop was requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
