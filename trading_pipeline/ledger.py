"""The ledger: the durable record of every input file the system has seen, keyed by content hash.

One row per (source, path, sha256) with a status (pending, queued, ingesting, ingested, rejected,
duplicate, superseded), the report, and one ``outputs`` row per stored symbol. It is the truth that
`pipeline files`, the data sources and the daemon's reconcile read; Redis only holds the work list.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trading_pipeline.db import connect, transaction
from trading_pipeline.report import FileReport, FileStatus, SymbolResult

__all__ = ["FINAL_STATUSES", "FileRecord", "Ledger", "OutputRecord"]

FINAL_STATUSES: frozenset[str] = frozenset({"ingested", "rejected", "duplicate", "superseded"})
"""Statuses after which a file needs no more work."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    mtime REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    profile TEXT,
    interval TEXT,
    rows INTEGER NOT NULL DEFAULT 0,
    start TEXT,
    end TEXT,
    reason TEXT NOT NULL DEFAULT '',
    report TEXT,
    job_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (source_id, path, sha256)
);
CREATE INDEX IF NOT EXISTS files_by_sha ON files (source_id, sha256, status);
CREATE INDEX IF NOT EXISTS files_by_status ON files (status);
CREATE TABLE IF NOT EXISTS outputs (
    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    rows INTEGER NOT NULL,
    start TEXT,
    end TEXT,
    output TEXT NOT NULL,
    PRIMARY KEY (file_id, symbol)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class OutputRecord:
    """One stored Parquet file: the bars of one symbol from one input file."""

    symbol: str
    rows: int
    start: str | None
    end: str | None
    output: str
    path: str
    sha256: str


@dataclass
class FileRecord:
    id: int
    source_id: str
    path: str
    sha256: str
    size: int
    mtime: float
    status: FileStatus
    profile: str | None
    interval: str | None
    rows: int
    start: str | None
    end: str | None
    reason: str
    job_id: str | None
    attempts: int
    created_at: str
    updated_at: str
    report: dict[str, Any] | None = None
    symbols: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row, symbols: list[str] | None = None) -> FileRecord:
        data = dict(row)
        report = data.pop("report")
        return cls(**data, report=json.loads(report) if report else None, symbols=symbols or [])

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source_id,
            "status": self.status,
            "sha256": self.sha256,
            "symbols": self.symbols,
            "rows": self.rows,
            "start": self.start,
            "end": self.end,
            "profile": self.profile,
            "interval": self.interval,
            "reason": self.reason,
            "job_id": self.job_id,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class Ledger:
    """Multi-process safe access to the ledger database (SQLite, WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        connect(path, SCHEMA).close()

    def _read(self) -> sqlite3.Connection:
        return connect(self.path)

    def _write(self) -> Any:
        return transaction(self.path)

    # --- state transitions -------------------------------------------------------------------
    def record_seen(self, source_id: str, path: str, sha256: str, size: int, mtime: float) -> FileRecord:
        """Insert a pending row for this exact content at this path, or return the existing one."""
        with self._write() as conn:
            now = _now()
            conn.execute(
                "INSERT OR IGNORE INTO files (source_id, path, sha256, size, mtime, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (source_id, path, sha256, size, mtime, now, now),
            )
            row = conn.execute(
                "SELECT * FROM files WHERE source_id=? AND path=? AND sha256=?", (source_id, path, sha256)
            ).fetchone()
        return FileRecord.from_row(row)

    def set_status(
        self,
        source_id: str,
        path: str,
        sha256: str,
        status: FileStatus,
        *,
        job_id: str | None = None,
        reason: str | None = None,
        count_attempt: bool = False,
    ) -> None:
        """Move a non-final row to a working status (queued, ingesting, pending)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE files SET status=?, job_id=COALESCE(?, job_id), reason=COALESCE(?, reason),"
                " attempts=attempts + ?, updated_at=? WHERE source_id=? AND path=? AND sha256=?",
                (status, job_id, reason, int(count_attempt), _now(), source_id, path, sha256),
            )

    def record_report(self, report: FileReport, *, size: int = 0, mtime: float = 0.0) -> FileRecord:
        """Store the final outcome of a file and its outputs, in one transaction."""
        if report.source_id is None or report.sha256 is None:
            raise ValueError("a report needs source_id and sha256 to be recorded")
        starts = [s.start for s in report.symbols.values() if s.start]
        ends = [s.end for s in report.symbols.values() if s.end]
        now = _now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO files (source_id, path, sha256, size, mtime, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
                (report.source_id, report.path, report.sha256, size, mtime, now, now),
            )
            conn.execute(
                "UPDATE files SET status=?, profile=?, interval=?, rows=?, start=?, end=?, reason=?,"
                " report=?, updated_at=? WHERE source_id=? AND path=? AND sha256=?",
                (
                    report.status,
                    report.profile,
                    report.interval,
                    report.total_rows,
                    min(starts).isoformat() if starts else None,
                    max(ends).isoformat() if ends else None,
                    report.reason(),
                    json.dumps(report.to_json()),
                    now,
                    report.source_id,
                    report.path,
                    report.sha256,
                ),
            )
            file_id = conn.execute(
                "SELECT id FROM files WHERE source_id=? AND path=? AND sha256=?",
                (report.source_id, report.path, report.sha256),
            ).fetchone()[0]
            conn.execute("DELETE FROM outputs WHERE file_id=?", (file_id,))
            if report.status == "ingested":
                conn.executemany(
                    "INSERT INTO outputs (file_id, symbol, rows, start, end, output) VALUES (?,?,?,?,?,?)",
                    [(file_id, sym, *_output_row(res)) for sym, res in report.symbols.items()],
                )
            row = conn.execute("SELECT * FROM files WHERE id=?", (file_id,)).fetchone()
        return FileRecord.from_row(row, sorted(report.symbols))

    def supersede(self, source_id: str, path: str, keep_sha256: str) -> list[OutputRecord]:
        """Mark older versions of ``path`` superseded; return their outputs so the caller deletes them.

        Same name with new content is a new version: its bars replace the old version's bars wholesale.
        """
        with self._write() as conn:
            rows = conn.execute(
                "SELECT o.*, f.path, f.sha256 FROM outputs o JOIN files f ON f.id = o.file_id"
                " WHERE f.source_id=? AND f.path=? AND f.sha256<>? AND f.status='ingested'",
                (source_id, path, keep_sha256),
            ).fetchall()
            conn.execute(
                "UPDATE files SET status='superseded', updated_at=? WHERE source_id=? AND path=?"
                " AND sha256<>? AND status NOT IN ('superseded')",
                (_now(), source_id, path, keep_sha256),
            )
            ids = conn.execute(
                "SELECT id FROM files WHERE source_id=? AND path=? AND sha256<>?",
                (source_id, path, keep_sha256),
            ).fetchall()
            conn.executemany("DELETE FROM outputs WHERE file_id=?", [(r[0],) for r in ids])
        return [_output(r) for r in rows]

    def forget(self, source_id: str, path: str | None = None) -> list[OutputRecord]:
        """Drop ledger rows of a source (or one path in it); return outputs that the caller deletes."""
        where, args = "f.source_id=?", [source_id]
        if path is not None:
            where, args = "f.source_id=? AND f.path=?", [source_id, path]
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT o.*, f.path, f.sha256 FROM outputs o JOIN files f ON f.id=o.file_id WHERE {where}",
                args,
            ).fetchall()
            conn.execute(f"DELETE FROM files AS f WHERE {where}", args)
        return [_output(r) for r in rows]

    # --- queries -------------------------------------------------------------------------------
    def get(self, source_id: str, path: str, sha256: str) -> FileRecord | None:
        conn = self._read()
        try:
            row = conn.execute(
                "SELECT * FROM files WHERE source_id=? AND path=? AND sha256=?", (source_id, path, sha256)
            ).fetchone()
            return self._with_symbols(conn, [row])[0] if row else None
        finally:
            conn.close()

    def find_ingested(self, source_id: str, sha256: str) -> FileRecord | None:
        """The record that already stored these exact bytes in this source, if any."""
        conn = self._read()
        try:
            row = conn.execute(
                "SELECT * FROM files WHERE source_id=? AND sha256=? AND status='ingested'"
                " ORDER BY id LIMIT 1",
                (source_id, sha256),
            ).fetchone()
            return self._with_symbols(conn, [row])[0] if row else None
        finally:
            conn.close()

    def twins(self, source_id: str, sha256: str, path: str) -> list[str]:
        """Other paths of this source queued with the same bytes. One job (its id is source + sha256)
        serves them all: the daemon's enqueue for a second name found that job already active."""
        conn = self._read()
        try:
            rows = conn.execute(
                "SELECT path FROM files WHERE source_id=? AND sha256=? AND status='queued' AND path<>?"
                " ORDER BY id",
                (source_id, sha256, path),
            ).fetchall()
            return [str(row[0]) for row in rows]
        finally:
            conn.close()

    def files(
        self, source_id: str | None = None, status: str | Iterable[str] | None = None
    ) -> list[FileRecord]:
        clauses, args = [], []
        if source_id is not None:
            clauses.append("source_id=?")
            args.append(source_id)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            clauses.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        conn = self._read()
        try:
            rows = conn.execute(f"SELECT * FROM files {where} ORDER BY id", args).fetchall()
            return self._with_symbols(conn, rows)
        finally:
            conn.close()

    def outputs(self, source_id: str, symbol: str | None = None) -> list[OutputRecord]:
        """Stored Parquet files of ingested inputs in a source, oldest ingest first."""
        sql = (
            "SELECT o.*, f.path, f.sha256 FROM outputs o JOIN files f ON f.id=o.file_id"
            " WHERE f.source_id=? AND f.status='ingested'"
        )
        args: list[Any] = [source_id]
        if symbol is not None:
            sql += " AND o.symbol=?"
            args.append(symbol)
        conn = self._read()
        try:
            return [_output(r) for r in conn.execute(sql + " ORDER BY f.id", args).fetchall()]
        finally:
            conn.close()

    @staticmethod
    def _with_symbols(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[FileRecord]:
        records = []
        for row in rows:
            syms = [r[0] for r in conn.execute("SELECT symbol FROM outputs WHERE file_id=?", (row["id"],))]
            record = FileRecord.from_row(row, syms)
            if not syms and record.report:
                record.symbols = sorted(record.report.get("symbols", {}))
            records.append(record)
        return records


def _output_row(res: SymbolResult) -> tuple[int, str | None, str | None, str]:
    return (
        res.rows,
        res.start.isoformat() if res.start else None,
        res.end.isoformat() if res.end else None,
        res.output or "",
    )


def _output(row: sqlite3.Row) -> OutputRecord:
    return OutputRecord(
        row["symbol"], row["rows"], row["start"], row["end"], row["output"], row["path"], row["sha256"]
    )
