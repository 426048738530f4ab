"""The run index: every run's record in the ``runs`` table of the PostgreSQL database, for installations
whose workers run on several hosts.

On one host the run records are ``runs/<run_id>/run.json`` files updated under an ``fcntl`` lock. Across
hosts that lock would be an NFS/SMB lock, which is not to be trusted; so with ``PIPELINE_DATABASE_URL``
set, a run's updates are serialised by a PostgreSQL advisory lock named after the run, the table row is
the record every host reads, and run.json is still written (atomically) for people and tools that read
the folder.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from trading_pipeline.clock import now_iso
from trading_pipeline.db import Conn, Database
from trading_pipeline.migrations import Migration, MigrationContext, migrate
from trading_pipeline.settings import Settings
from trading_pipeline.stages.records import RunRecord

__all__ = ["COMPONENT", "MIGRATIONS", "RunIndex"]

TABLE = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_age ON runs (created_at)
"""


def _create(conn: Conn, _context: MigrationContext) -> None:
    conn.script(TABLE)


MIGRATIONS = (Migration(1, "runs table", _create),)
COMPONENT = "runs"
"""The run index's name in ``schema_version``."""


class RunIndex:
    """The ``runs`` table; ``None`` from ``for_settings`` when the installation has no database URL."""

    def __init__(self, database_url: str) -> None:
        self.db = Database(database_url)
        migrate(self.db, COMPONENT, MIGRATIONS)

    @classmethod
    def for_settings(cls, settings: Settings) -> RunIndex | None:
        return cls(settings.database_url) if settings.database_url else None

    @contextlib.contextmanager
    def locked(self, run_id: str) -> Iterator[Conn]:
        """A transaction holding the run's lock: one update of a run at a time, across hosts."""
        with self.db.write(f"run:{run_id}") as conn:
            yield conn

    def save(self, record: RunRecord, conn: Conn | None = None) -> None:
        text = json.dumps(record.to_json())  # the same JSON as run.json
        args = (record.run_id, record.created_at, str(record.status), text, now_iso())
        sql = (
            "INSERT INTO runs (run_id, created_at, status, record, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET status=excluded.status, record=excluded.record,"
            " updated_at=excluded.updated_at"
        )
        if conn is not None:
            conn.execute(sql, args)
            return
        with self.db.write(COMPONENT) as own:
            own.execute(sql, args)

    def get(self, run_id: str, conn: Conn | None = None) -> RunRecord | None:
        if conn is not None:
            row = conn.execute("SELECT record FROM runs WHERE run_id=?", (run_id,)).fetchone()
        else:
            with self.db.read() as own:
                row = own.execute("SELECT record FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return RunRecord.model_validate_json(row[0]) if row else None

    def all(self) -> list[RunRecord]:
        """Every run, newest first."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT record FROM runs ORDER BY created_at DESC, run_id DESC").fetchall()
        return [RunRecord.model_validate_json(r[0]) for r in rows]

    def index_folder(self, runs_dir: Path) -> int:
        """Add every run.json under ``runs_dir`` that the table lacks (`pipeline db copy`); how many."""
        added = 0
        for path in sorted(runs_dir.glob("*/run.json")):
            with contextlib.suppress(OSError, ValueError):
                record = RunRecord.model_validate_json(path.read_bytes())
                if self.get(record.run_id) is None:
                    self.save(record)
                    added += 1
        return added
