"""The processed store: canonical bars as Parquet, one file per (source, symbol, input content).

Paths are deterministic (``processed/<source>/<SYMBOL>/<sha256[:20]>.parquet``), so a retried or
duplicated job writes the same file again instead of a second copy, and every write goes through a temp
file, fsync and rename: a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.durable import atomic_writer, publish

__all__ = ["BarStore"]

CONTENT_KEY_LENGTH = 20


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
        publish(tmp, path)
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
