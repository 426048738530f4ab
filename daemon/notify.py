"""systemd's notify protocol in a dozen lines: one datagram to ``$NOTIFY_SOCKET``.

With ``Type=notify`` the unit is "started" only once we say ``READY=1`` (after the first reconcile), and
with ``WatchdogSec=`` systemd restarts us if the main loop stops sending ``WATCHDOG=1``. Outside systemd
(honcho, a terminal, tests) the variable is unset and every call is a no-op. Errors are logged, not
swallowed silently as ``sdnotify`` does, because a missed READY only shows up as a start timeout.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from trading_pipeline.logs import get_logger

__all__ = ["notify", "watchdog_interval_s"]

log = get_logger("daemon.notify")


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``READY=1``); True when a notify socket took it."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract socket namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("notify.failed", state=state, error=str(exc))
        return False
    return True


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to send ``WATCHDOG=1``: half of ``WatchdogSec=``, as sd_watchdog_enabled(3) advises."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 2e6, 0.1)
    except ValueError:
        return None
