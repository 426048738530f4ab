"""Exactly one daemon per data folder, across hosts: the others wait as standbys.

Two daemons on one folder would not corrupt anything (enqueueing is idempotent), but they would hash
every file twice and fight over inotify-less shares. So the daemon first takes a lock named after the
data folder's identity (``state/folder.id``, a random id written once: hosts that mount the share at
different paths still agree on it):

* on PostgreSQL, a session advisory lock: freed by the server the moment the holder's connection
  drops (a SIGKILLed daemon), so a standby takes over within its poll interval;
* otherwise a Redis key with a lease (``SET NX PX``), renewed by the running daemon; a holder that
  dies stops renewing and a standby takes over when the lease runs out (at once when the dead holder
  was on the same host). A Redis that is flushed or restarted does not stop the running daemon: it
  takes the key again. (A daemon cut off from Redis while the others still reach it keeps running; the
  worst that does is hash and enqueue files twice, which enqueueing tolerates.)

A daemon that loses its lock (its connection or lease gone) stops at once and exits non-zero, so
systemd restarts it as a standby.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from trading_pipeline.clock import now_iso
from trading_pipeline.db import AdvisoryLock
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings

__all__ = [
    "FOLDER_ID_FILE",
    "Leadership",
    "Lease",
    "RedisLease",
    "describe_holder",
    "folder_id",
    "holder_label",
    "lease_for",
]

log = get_logger("daemon.leader")
FOLDER_ID_FILE = "folder.id"
LEASE_S = 10.0
"""A Redis lease outlives a dead holder by at most this long."""
RENEW_S = 2.0
POLL_S = 1.0
"""How often a standby tries to take the lock."""


def folder_id(settings: Settings) -> str:
    """The data folder's identity, the same from every host that mounts it (created on first use)."""
    path = settings.state_dir / FOLDER_ID_FILE
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(8) + "\n")
            out.flush()
            os.fsync(out.fileno())
    for _ in range(50):  # another host may be between creating and writing it
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.1)
    raise OSError(f"{path} is empty; delete it and start the daemon again")


def holder_label() -> str:
    return f"pipeline-daemon {socket.gethostname()} pid {os.getpid()}"


class Lease(Protocol):
    def try_acquire(self) -> bool: ...
    def check(self) -> bool: ...
    def release(self) -> None: ...
    def holder(self) -> str | None: ...


class RedisLease:
    """``SET key holder NX PX`` taken, renewed and released only by the holder (compare in Lua)."""

    RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then"
        " return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
    )
    RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, connection: redis.Redis, name: str, lease_s: float = LEASE_S) -> None:
        self.connection = connection
        self.key = f"pipeline:daemon-lock:{name}"
        self.lease_ms = int(lease_s * 1000)
        self.value = json.dumps(
            {
                "holder": holder_label(),
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "since": now_iso(),
                "token": secrets.token_hex(8),
            }
        )

    def try_acquire(self) -> bool:
        if self.connection.set(self.key, self.value, nx=True, px=self.lease_ms):
            return True
        stale = self.connection.get(self.key)
        if stale is not None and _dead_here(stale):
            # A holder on this host whose process is gone (killed, restarted by `pipeline up`): its lease
            # would keep the folder unwatched for up to LEASE_S for nothing.
            self.connection.eval(self.RELEASE, 1, self.key, stale)
            return bool(self.connection.set(self.key, self.value, nx=True, px=self.lease_ms))
        return False

    def check(self) -> bool:
        """Renew; False only when another daemon holds the lock now. A Redis that is down or came back
        empty (flushed, restarted) is no loss: no other daemon can have taken the lock meanwhile, so
        keep running (the reconcile rebuilds the work list) and take the key again."""
        try:
            if self.connection.eval(self.RENEW, 1, self.key, self.value, self.lease_ms):
                return True
            if self.connection.set(self.key, self.value, nx=True, px=self.lease_ms):
                log.warning("daemon lock key was gone from Redis (flushed or restarted); taken again")
                return True
        except redis.RedisError:
            return True
        return False

    def release(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.connection.eval(self.RELEASE, 1, self.key, self.value)

    def holder(self) -> str | None:
        raw = self.connection.get(self.key)
        if raw is None:
            return None
        data = json.loads(raw)
        return f"{data.get('holder')} since {data.get('since')}"


def _dead_here(value: bytes | str) -> bool:
    try:
        data = json.loads(value)
    except ValueError:
        return False
    if data.get("host") != socket.gethostname() or not isinstance(data.get("pid"), int):
        return False
    try:
        os.kill(data["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_for(settings: Settings, connection: redis.Redis | None) -> Lease:
    """PostgreSQL's advisory lock when the ledger is there, else a Redis lease."""
    name = f"daemon:{folder_id(settings)}"
    if settings.database_url:
        return AdvisoryLock(settings.database_url, name, holder_label())
    if connection is None:
        raise ValueError("a Redis lease needs a Redis connection")
    return RedisLease(connection, name)


class Leadership:
    """Wait for the lock, then keep it (renewing a lease) until released; say when it is lost."""

    def __init__(self, lease: Lease, *, poll_s: float = POLL_S, renew_s: float = RENEW_S) -> None:
        self.lease = lease
        self.poll_s = poll_s
        self.renew_s = renew_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wait(self, stopped: threading.Event, on_wait: Callable[[str | None], None] | None = None) -> bool:
        """Block until this process holds the lock (True) or ``stopped`` is set (False)."""
        said = False
        while not stopped.is_set():
            try:
                if self.lease.try_acquire():
                    log.info("daemon lock taken", holder=holder_label())
                    return True
                holder = self.lease.holder()
            except Exception as exc:  # Redis or PostgreSQL not there yet: keep waiting, say why once
                holder = f"unknown ({type(exc).__name__}: {exc})"
            if not said:
                log.info("standby: another daemon holds the lock for this data folder", holder=holder)
                said = True
            if on_wait is not None:
                on_wait(holder)
            stopped.wait(self.poll_s)
        return False

    def keep(self, on_lost: Callable[[], None]) -> None:
        """Renew in a background thread; ``on_lost`` runs once if the lock is gone."""

        def loop() -> None:
            while not self._stop.wait(self.renew_s):
                if not self.lease.check():
                    log.error("daemon lock lost: stopping so that only one daemon runs")
                    on_lost()
                    return

        self._thread = threading.Thread(target=loop, name="daemon-lock", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.lease.release()


def describe_holder(settings: Settings, connection: redis.Redis | None) -> str | None:
    """Who holds this data folder's daemon lock now (for `pipeline doctor`), or None."""
    lease = lease_for(settings, connection)
    return lease.holder()
