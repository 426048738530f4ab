"""SQLite access shared by the ledger and the source registry.

SQLite in WAL mode gives several processes (CLI, daemon, forked RQ work horses, Streamlit) safe
concurrent access to one file in the data folder with no server to run. A connection is opened per
unit of work and never shared across a fork.

Each process also keeps one idle connection per database open (``_anchor``), never used for a query.
The last connection to close runs a checkpoint (with fsyncs) and deletes the write-ahead log; with a
connection per unit of work, every one of them was the last: a work horse spent about half of a small
file's time in those closes. With the anchor, checkpoints run when the log fills, as SQLite intends.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

__all__ = ["connect", "transaction"]

BUSY_TIMEOUT_MS = 30_000
MAX_ANCHORS = 8
"""Databases a process keeps an idle connection to (a test process opens many; a service one or two)."""
_ANCHORS: OrderedDict[tuple[int, Path], sqlite3.Connection] = OrderedDict()


def _anchor(path: Path) -> None:
    """Hold an idle connection to ``path`` for this process. Keyed by pid: a forked child opens its
    own and never touches (nor closes) what it inherited, as SQLite requires."""
    key = (os.getpid(), path)
    if key in _ANCHORS:
        _ANCHORS.move_to_end(key)
        return
    anchor = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    # One read attaches it to the write-ahead log (its shared-memory index), which is what makes
    # SQLite see another connection when the others close; it holds no lock on the data after it.
    anchor.execute("PRAGMA schema_version").fetchall()
    _ANCHORS[key] = anchor
    own = [k for k in _ANCHORS if k[0] == key[0]]
    for old in own[: max(0, len(own) - MAX_ANCHORS)]:
        _ANCHORS.pop(old).close()


def connect(path: Path, schema: str = "", *, durable: bool = True) -> sqlite3.Connection:
    """A connection in WAL mode. ``durable=False``: its commits skip the fsync (``synchronous=NORMAL``):
    the database stays consistent, but the last such commits may be lost with the power, so only for
    marks a later durable commit settles anyway (a file being ingested)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    if schema:
        conn.executescript(schema)
    _anchor(path)
    return conn


@contextlib.contextmanager
def transaction(path: Path, schema: str = "", *, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken with BEGIN IMMEDIATE so concurrent writers queue instead of failing."""
    conn = connect(path, schema, durable=durable)
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
