"""SQLite access shared by the ledger and the source registry.

SQLite in WAL mode gives several processes (CLI, daemon, forked RQ work horses, Streamlit) safe
concurrent access to one file in the data folder with no server to run. A connection is opened per
unit of work and never shared across a fork.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

__all__ = ["connect", "transaction"]

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path, schema: str = "") -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    if schema:
        conn.executescript(schema)
    return conn


@contextlib.contextmanager
def transaction(path: Path, schema: str = "") -> Iterator[sqlite3.Connection]:
    """One write transaction, taken with BEGIN IMMEDIATE so concurrent writers queue instead of failing."""
    conn = connect(path, schema)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
