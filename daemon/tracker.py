"""When is a file finished? The per-path state machine behind the watcher (pure logic, no threads).

Signals, from strongest to weakest (the event orders watchdog 7 delivers for cp, mv, rsync and
slow writers on ext4 and tmpfs):

* **close-write** (inotify only) or **moved in** (``x.part -> x.csv``): the writer is done. Ready at
  once: no quiet period, because latency is the product here.
* **created with nothing after it** (inotify): a ``mv`` from elsewhere on the same file system shows up
  as a lone ``created``. If the file's mtime is already old, ``open`` did not just create it: moved in,
  ready at once. Otherwise, a real writer's ``open(O_CREAT)`` is followed by ``opened`` within
  microseconds, so a created file that stays silent for ``probe_s`` and is unchanged was moved in whole.
* **created / modified only** (polling observers, writers we cannot see close): ready once size and
  mtime have not changed for ``quiet_period_s``. While inotify says a handle is still open (``opened``
  with no close yet), a quiet file is held for ``open_hold_s`` instead, so a slow writer that pauses
  mid-file is not ingested half-written.

Empty files are never ready on an event; they must also stay quiet (a writer may fill them next).
The periodic reconcile is the backstop for everything this misses (overflow, restarts).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from daemon.hashing import FileVersion

__all__ = ["Kind", "Ready", "StabilityTracker"]

PROBE_S = 0.05
"""How long a lone ``created`` must stay silent to count as a file moved in whole."""
MOVED_AGE_S = 1.0
"""A ``created`` file whose mtime is already this old was not just created by ``open``: a file moved
in (``mv``, ``ln``) keeps its mtime, while ``open(O_CREAT)`` stamps the current time."""

Mode = Literal["ready", "probe", "stable"]


class Kind(StrEnum):
    CREATED = "created"
    MODIFIED = "modified"
    CLOSED = "closed"
    MOVED_IN = "moved"
    OPENED = "opened"
    CLOSED_NO_WRITE = "closed_no_write"
    DELETED = "deleted"
    SCAN = "scan"  # found by a folder scan (reconcile, a folder created or moved in)


@dataclass(frozen=True)
class Ready:
    """A finished file, with the signal that said so and how long it was tracked."""

    path: Path
    reason: str
    waited_s: float


@dataclass
class _Entry:
    mode: Mode
    due: float
    first_seen: float
    polling: bool
    reason: str
    snapshot: FileVersion | None = None
    snapshot_at: float = 0.0
    writer_open: bool = False


class StabilityTracker:
    """Pending paths and their due times; the caller owns locking and waking."""

    def __init__(
        self,
        quiet_period_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        stat: Callable[[Path], os.stat_result] = os.stat,
        probe_s: float = PROBE_S,
        open_hold_s: float | None = None,
    ) -> None:
        self.quiet_s = quiet_period_s
        self.probe_s = probe_s
        self.open_hold_s = open_hold_s if open_hold_s is not None else max(10 * quiet_period_s, 10.0)
        self._clock, self._wall, self._stat = clock, wall_clock, stat
        self._entries: dict[Path, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def event(self, path: Path, kind: Kind, *, polling: bool = False) -> None:
        """Fold one file-system event into the path's state."""
        now = self._clock()
        if kind is Kind.DELETED:
            self._entries.pop(path, None)
            return
        entry = self._entries.get(path)
        if entry is None:
            if kind in (Kind.OPENED, Kind.CLOSED_NO_WRITE):
                return  # a reader, or a writer whose create we will also see
            entry = self._entries[path] = _Entry("stable", now, now, polling, kind.value)
        if kind in (Kind.CLOSED, Kind.MOVED_IN):
            entry.mode, entry.due, entry.reason, entry.writer_open = "ready", now, kind.value, False
        elif kind is Kind.CREATED and not polling:
            entry.snapshot, entry.snapshot_at = self._try_stat(path), now
            moved = entry.snapshot is not None and self._wall() - entry.snapshot.mtime >= MOVED_AGE_S
            entry.mode, entry.reason = ("ready", "moved") if moved else ("probe", kind.value)
            entry.due = now if moved else now + self.probe_s
        elif kind is Kind.OPENED:
            entry.writer_open = True
            if entry.mode == "probe":
                self._to_stable(entry, now)
        elif kind is Kind.CLOSED_NO_WRITE:
            entry.writer_open = False
        else:  # modified, a polled create, or a scan: wait for quiet
            self._to_stable(entry, now)
            entry.reason = kind.value

    def watch(self, path: Path, *, polling: bool = False) -> None:
        """Track a file found by a scan: it becomes ready once quiet (if not tracked already)."""
        if path not in self._entries:
            self.event(path, Kind.SCAN, polling=polling)

    def next_due(self) -> float | None:
        return min((e.due for e in self._entries.values()), default=None)

    def take_due(self) -> list[Ready]:
        """Remove and return every path that is finished now; re-arm the others."""
        now = self._clock()
        ready: list[Ready] = []
        for path, entry in list(self._entries.items()):
            if entry.due > now:
                continue
            st = self._try_stat(path)
            if st is None:
                del self._entries[path]
            elif self._finished(entry, st, now):
                del self._entries[path]
                ready.append(Ready(path, entry.reason, now - entry.first_seen))
        return ready

    def _finished(self, entry: _Entry, st: FileVersion, now: float) -> bool:
        if entry.mode == "ready" and st.size > 0:
            return True
        if entry.mode == "probe" and st.size > 0 and st == entry.snapshot:
            return True
        if entry.mode != "stable":
            self._to_stable(entry, now)
        if entry.snapshot is None or st != entry.snapshot:
            # First look, or it changed: stability starts now (local disks: at its mtime, if later).
            entry.snapshot, entry.snapshot_at = st, now - self._mtime_age(entry, st)
        needed = self.open_hold_s if entry.writer_open else self.quiet_s
        if now - entry.snapshot_at >= needed - 1e-9:
            return True
        entry.due = entry.snapshot_at + needed
        return False

    def _mtime_age(self, entry: _Entry, st: FileVersion) -> float:
        """How long ago the file last changed, by its mtime; 0 on shares (their clock is not ours)."""
        return 0.0 if entry.polling else max(0.0, self._wall() - st.mtime)

    def _to_stable(self, entry: _Entry, now: float) -> None:
        entry.mode, entry.due, entry.snapshot = "stable", now + self.quiet_s, None

    def _try_stat(self, path: Path) -> FileVersion | None:
        try:
            return FileVersion.of(self._stat(path))
        except OSError:
            return None
