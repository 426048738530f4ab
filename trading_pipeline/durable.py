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
import uuid
from collections.abc import Iterator
from pathlib import Path

from trading_pipeline.safeio import open_regular

__all__ = ["atomic_write_bytes", "atomic_writer", "exclusive_lock", "file_sha256", "fsync_dir", "publish"]


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
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        publish(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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
