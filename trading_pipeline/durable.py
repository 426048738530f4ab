"""Durable files: content hashes, writes that are all or nothing (temp file, fsync, rename), and the
lock that serialises read-modify-write across processes.

Kept apart from the Parquet store so that what only writes JSON (run records, session manifests) does not
import pyarrow.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from trading_pipeline.safeio import open_regular

__all__ = [
    "atomic_write_bytes",
    "atomic_writer",
    "exclusive_lock",
    "file_sha256",
    "fsync_dir",
    "publish",
    "sweep_temps",
    "temp_path",
]

_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
_WRITER = re.compile(r"\.(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def file_sha256(path: Path) -> str:
    """The content key of an input file (ledger rows, job ids and output names all derive from it).

    sha256 runs at about 2 GB/s here, small next to parsing; raises ``OSError`` when unreadable and
    ``NotRegularFileError`` for a FIFO or device (opened without blocking, never read).
    """
    with open_regular(path) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success fsync it and rename it into place.

    The temp name starts with a dot and ends in ``.tmp`` so the folder watcher ignores it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        yield tmp
        publish(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def temp_path(target: Path) -> Path:
    """A fresh temp name beside ``target`` that says who writes it (host and process), so that the
    files of a writer that was killed can be told from those of one still writing (``sweep_temps``).

    It starts with a dot and ends in ``.tmp``: the folder watcher and the readers of the store skip it.
    """
    return target.with_name(f".{target.name}.{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def sweep_temps(root: Path, *, max_age_s: float) -> list[Path]:
    """Remove the temp files under ``root`` that no live writer will finish; returns what went.

    A writer killed mid-write (kill -9, OOM, a lost host) leaves its temp file behind, and the re-run
    writes its own. A temp file is abandoned when its writer process, on this host, is gone, or when it
    has not changed for ``max_age_s`` (writers touch their file as they go): the only test for one
    written on another host, whose processes cannot be asked.
    """
    removed: list[Path] = []
    now = time.time()
    for path in root.rglob(".*.tmp") if root.is_dir() else ():
        try:
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or not _abandoned(path.name, info.st_mtime, now, max_age_s):
                continue
            path.unlink()
        except OSError:  # gone meanwhile, or not ours to remove: leave it
            continue
        removed.append(path)
    return removed


def _abandoned(name: str, mtime: float, now: float, max_age_s: float) -> bool:
    if now - mtime > max_age_s:
        return True
    match = _WRITER.search(name)
    return match is not None and match["host"] == _HOST and not _alive(int(match["pid"]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def publish(tmp: Path, target: Path) -> None:
    """Move a finished temp file (on the same disk) into place: fsync it, rename it, fsync the folder."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(target)
    fsync_dir(target.parent)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_writer(target) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if missing) for a read-modify-write.

    Readers need no lock because writers replace files atomically; the lock only serialises writers,
    across processes, so no update is lost. The kernel releases it if the holder dies.
    """
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
