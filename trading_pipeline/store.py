"""The processed store: canonical bars as Parquet, one file per (source, symbol, input content).

Paths are deterministic (``processed/<source>/<SYMBOL>/<sha256[:20]>.parquet``), so a retried or
duplicated job writes the same file again instead of a second copy, and every write goes through a temp
file, fsync and rename: a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.safeio import open_regular

__all__ = ["BarStore", "atomic_write_bytes", "atomic_writer", "exclusive_lock", "file_sha256", "fsync_dir"]

CONTENT_KEY_LENGTH = 20


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
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


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


class BarStore:
    """Reads and writes canonical bar Parquet files under ``processed_dir``."""

    def __init__(self, processed_dir: Path) -> None:
        self.root = processed_dir

    def path_for(self, source_id: str, symbol: str, sha256: str) -> Path:
        return self.root / source_id / symbol / f"{sha256[:CONTENT_KEY_LENGTH]}.parquet"

    def write(self, table: pa.Table, path: Path) -> Path:
        with atomic_writer(path) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        return path

    def publish(self, tmp: Path, path: Path) -> Path:
        """Move a finished temp file (written beside ``path``'s folder, on the same disk) into place:
        fsync, rename, fsync the folder."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
        fsync_dir(path.parent)
        return path

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # leave non-empty or shared folders alone
            path.parent.rmdir()

    def symbols(self, source_id: str) -> list[str]:
        base = self.root / source_id
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.parquet")))
