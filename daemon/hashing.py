"""Content hashes of watched files, computed once per version of a file.

The ledger and the job id are keyed by sha256 of the bytes, so every candidate must be hashed; the
periodic reconcile would re-read every file every 30 s without a cache. A version is identified by
(device, inode, size, mtime_ns): any write changes mtime, and a replace-by-rename changes the inode.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from trading_pipeline.durable import file_sha256

__all__ = ["FileVersion", "HashCache", "file_sha256"]

CHUNK = 1 << 20


@dataclass(frozen=True)
class FileVersion:
    """What a stat says about one version of a file."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileVersion:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    @property
    def mtime(self) -> float:
        """The ledger's ``mtime`` column (seconds, float)."""
        return self.mtime_ns / 1e9


class HashCache:
    """path -> (version, sha256), bounded LRU; safe to share between the event and reconcile threads."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._entries: OrderedDict[str, tuple[FileVersion, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, path: Path, version: FileVersion) -> str | None:
        key = str(path)
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or hit[0] != version:
                return None
            self._entries.move_to_end(key)
            return hit[1]

    def put(self, path: Path, version: FileVersion, sha256: str) -> None:
        with self._lock:
            self._entries[str(path)] = (version, sha256)
            self._entries.move_to_end(str(path))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def sha256(self, path: Path) -> tuple[FileVersion, str]:
        """Hash of the current version; raises OSError when the file vanished or is unreadable.

        The file is stat'ed again after hashing: if it changed while being read, the hash is of no
        version at all, so we raise ``FileChangedError`` and let the caller wait for it to settle.
        """
        before = FileVersion.of(path.stat())
        cached = self.get(path, before)
        if cached is not None:
            return before, cached
        digest = file_sha256(path)
        after = FileVersion.of(path.stat())
        if after != before:
            raise FileChangedError(str(path))
        self.put(path, before, digest)
        return before, digest

    def forget(self, path: Path) -> None:
        with self._lock:
            self._entries.pop(str(path), None)


class FileChangedError(OSError):
    """The file was written to while we hashed it."""
