"""Versioned schema migrations for the stores in a database (the ledger, the source registry).

Each store lists its migrations, numbered from 1, next to its SQL (``Ledger.MIGRATIONS``...). The
``schema_version`` table holds, per store, the number of the last one applied. ``migrate`` applies the
missing ones in one write transaction (DDL is transactional on both engines), re-reading the version
under the lock, so processes that start together apply each step once; run again, it does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trading_pipeline.clock import now_iso
from trading_pipeline.db import Conn, Database

__all__ = ["Migration", "MigrationContext", "applied_version", "migrate", "pending"]

VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class MigrationContext:
    db: Database
    data_dir: Path | None
    """The data folder whose paths the rows hold (None: leave paths as they are)."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Conn, MigrationContext], None]


def applied_version(conn: Conn, component: str) -> int:
    """The last migration applied to ``component``; 0 for a database that has none."""
    if "schema_version" not in conn.tables():
        return 0
    row = conn.execute("SELECT version FROM schema_version WHERE component=?", (component,)).fetchone()
    return int(row[0]) if row else 0


def pending(db: Database, component: str, migrations: Sequence[Migration]) -> list[Migration]:
    with db.read() as conn:
        have = applied_version(conn, component)
    return [m for m in migrations if m.version > have]


_done: set[tuple[str, str]] = set()


def migrate(
    db: Database, component: str, migrations: Sequence[Migration], data_dir: Path | None = None
) -> list[Migration]:
    """Bring ``component`` up to date; returns the migrations this call applied (none the second time).

    A process checks once per database: every later open of the same store costs nothing."""
    key = (str(db.target), component)
    if key in _done and db.postgres:
        return []
    if not pending(db, component, migrations):
        _done.add(key)
        return []
    applied = []
    with db.write("migrate") as conn:
        conn.script(VERSION_TABLE)
        have = applied_version(conn, component)  # another process may have won the race
        context = MigrationContext(db, data_dir)
        for step in migrations:
            if step.version > have:
                step.apply(conn, context)
                applied.append(step)
                have = step.version
        conn.execute(
            "INSERT INTO schema_version (component, version, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (component) DO UPDATE SET version=excluded.version, updated_at=excluded.updated_at",
            (component, have, now_iso()),
        )
    _done.add(key)
    return applied
