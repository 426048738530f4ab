"""The ledger: the durable record of every input file the system has seen, keyed by content hash.

One row per (source, path, sha256) with a status (``FileStatus``), the report, and one ``outputs`` row
per stored symbol. It is the truth that `pipeline files`, the data sources, the UI and the daemon's
reconcile read; Redis only holds the work list. Every statement on these two tables lives in this class.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from trading_pipeline.clock import now_iso
from trading_pipeline.db import Conn, Database, DbTarget
from trading_pipeline.migrations import Migration, MigrationContext, migrate
from trading_pipeline.report import FileReport, SymbolResult
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FILE_FINAL, FILE_REOPENABLE, FileStatus

__all__ = [
    "NOT_READ_SHA",
    "BuildRecord",
    "FilePage",
    "FileRecord",
    "Ledger",
    "LedgerRow",
    "OutputRecord",
    "SeenFile",
]

FILES_TABLE = """
CREATE TABLE IF NOT EXISTS files (
    id {identity},
    source_id TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL DEFAULT 0,
    mtime DOUBLE PRECISION NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    profile TEXT,
    interval TEXT,
    rows BIGINT NOT NULL DEFAULT 0,
    start TEXT,
    "end" TEXT,
    reason TEXT NOT NULL DEFAULT '',
    report TEXT,
    job_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    warning_count INTEGER NOT NULL DEFAULT 0,
    first_warning TEXT NOT NULL DEFAULT '',
    UNIQUE (source_id, path, sha256)
);
CREATE INDEX IF NOT EXISTS files_by_sha ON files (source_id, sha256, status);
CREATE INDEX IF NOT EXISTS files_by_status ON files (status);
CREATE TABLE IF NOT EXISTS outputs (
    file_id BIGINT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    rows BIGINT NOT NULL,
    start TEXT,
    "end" TEXT,
    output TEXT NOT NULL,
    PRIMARY KEY (file_id, symbol)
)
"""
BUILDS_TABLE = """
CREATE TABLE IF NOT EXISTS builds (
    id {identity},
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    source_id TEXT NOT NULL,
    output TEXT NOT NULL,
    log TEXT NOT NULL,
    log_sha256 TEXT NOT NULL,
    output_sha256 TEXT NOT NULL,
    rows BIGINT NOT NULL,
    created_at TEXT NOT NULL
)
"""
ADDED_COLUMNS = {
    "warning_count": "INTEGER NOT NULL DEFAULT 0",
    "first_warning": "TEXT NOT NULL DEFAULT ''",
}
"""Columns added after the first release (a ledger created before them lacks them)."""
NOT_READ_SHA = ""
"""The ``sha256`` of a row for a file whose bytes were never read (``ignored``, or ``unreadable`` and
``vanished`` before the daemon could hash it)."""


class BuildRecord(NamedTuple):
    """One derived dataset written from stored bars: what, from which source, where, and its hashes."""

    kind: str
    name: str
    source_id: str
    output: str
    log: str
    log_sha256: str
    output_sha256: str
    rows: int
    created_at: str = ""


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


@dataclass(frozen=True)
class LedgerRow:
    """The columns the daemon's reconcile compares with the folders (no report, no symbols)."""

    source_id: str
    path: str
    sha256: str
    status: FileStatus
    size: int
    mtime: float
    job_id: str | None

    @property
    def final(self) -> bool:
        return self.status in FILE_FINAL


@dataclass(frozen=True)
class SeenFile:
    """One version of one file, about to be (re)queued under ``job_id``."""

    source_id: str
    path: str
    sha256: str
    size: int
    mtime: float
    job_id: str


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
    warning_count: int = 0
    """How many warnings the file's report holds: a doubt every view must show (CLI, --json, UI)."""
    first_warning: str = ""
    """The first of them, for a one-line view; the report has them all."""

    @classmethod
    def from_row(cls, row: Any) -> FileRecord:
        """A ``files`` row, with its stored symbols as ``symbols`` (comma-joined) when selected."""
        data = dict(row)
        report = json.loads(data.pop("report") or "null")
        joined = data.pop("symbols", None)
        symbols = sorted(joined.split(",")) if joined else sorted((report or {}).get("symbols", {}))
        data["status"] = FileStatus(data["status"])
        return cls(**data, report=report, symbols=symbols)

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
            "warning_count": self.warning_count,
            "first_warning": self.first_warning,
            "job_id": self.job_id,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class FilePage:
    """One page of a file listing and how many rows match in all."""

    records: list[FileRecord]
    total: int
    offset: int


class Ledger:
    """Multi-process (and, on PostgreSQL, multi-host) safe access to the ledger tables.

    ``where`` is the settings (the database they name, and paths stored relative to their data
    folder), or a SQLite file / ``postgresql://`` URL alone (paths stored as given)."""

    COMPONENT = "ledger"

    def __init__(self, where: Settings | DbTarget) -> None:
        self.settings = where if isinstance(where, Settings) else None
        target = where.database_for(where.ledger_path) if isinstance(where, Settings) else where
        self.db = Database(target)
        self.path = self.db.target
        migrate(self.db, self.COMPONENT, MIGRATIONS, self.settings.data_dir if self.settings else None)

    def _read(self) -> contextlib.AbstractContextManager[Conn]:
        return self.db.read()

    def _write(self, *, durable: bool = True) -> contextlib.AbstractContextManager[Conn]:
        return self.db.write(self.COMPONENT, durable=durable)

    def _in(self, path: str) -> str:
        """A path as this ledger stores it (relative to the data folder when inside it)."""
        return self.settings.stored_path(path) if self.settings else path

    def _out(self, path: str) -> str:
        """A stored path as this host sees it."""
        return self.settings.local_path(path) if self.settings else path

    # --- state transitions -------------------------------------------------------------------
    def record_seen(self, source_id: str, path: str, sha256: str, size: int, mtime: float) -> FileRecord:
        """Insert a pending row for this exact content at this path, or return the existing one."""
        key = (source_id, self._in(path), sha256)
        with self._write() as conn:
            _insert_pending(conn, [(*key, size, mtime)])
            row = conn.execute(f"{SELECT_FILES} WHERE {ONE_FILE} GROUP BY f.id", key)
            return self._record(row.fetchone())

    def record_queued(self, files: Sequence[SeenFile]) -> list[FileStatus]:
        """Record every file as seen and move its ``pending`` row to ``queued``, in one transaction (the
        daemon's batches: two commits per file would make a 1,000-file burst wait seconds on fsync).
        Only ``pending`` rows move (and ``vanished``/``unreadable`` ones: the same bytes are back and
        readable), so a row a worker already took is never overwritten. Returns each row's status as
        it was just before (``pending`` for a new row)."""
        if not files:
            return []
        now = now_iso()
        keys = [(f.source_id, self._in(f.path), f.sha256) for f in files]
        with self._write() as conn:
            _insert_pending(conn, [(*k, f.size, f.mtime) for k, f in zip(keys, files, strict=True)], now)
            before = [
                FileStatus(conn.execute(f"SELECT status FROM files f WHERE {ONE_FILE}", k).fetchone()[0])
                for k in keys
            ]
            conn.executemany(
                "UPDATE files SET status='queued', job_id=?, updated_at=? WHERE source_id=? AND path=?"
                f" AND sha256=? AND status IN ('pending', {REOPENABLE})",
                [(f.job_id, now, *k) for k, f in zip(keys, files, strict=True)],
            )
        return before

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
        durable: bool = True,
    ) -> None:
        """Move a row to a working status (queued, ingesting, pending), saying why. ``durable=False``
        skips the fsync: for a mark whose loss a crash cannot tell from the crash itself (``ingesting``:
        the row stays ``queued`` and the job's retry or the daemon's reconcile takes it up again)."""
        with self._write(durable=durable) as conn:
            conn.execute(
                "UPDATE files SET status=?, job_id=COALESCE(?, job_id), reason=COALESCE(?, reason),"
                " attempts=attempts + ?, updated_at=? WHERE source_id=? AND path=? AND sha256=?",
                (status, job_id, reason, int(count_attempt), now_iso(), source_id, self._in(path), sha256),
            )

    def record_report(self, report: FileReport, *, size: int = 0, mtime: float = 0.0) -> FileRecord:
        """Store the final outcome of a file and its outputs, in one transaction."""
        if report.source_id is None or report.sha256 is None:
            raise ValueError("a report needs source_id and sha256 to be recorded")
        key = (report.source_id, self._in(report.path), report.sha256)
        starts = [s.start for s in report.symbols.values() if s.start]
        ends = [s.end for s in report.symbols.values() if s.end]
        now = now_iso()
        with self._write() as conn:
            _insert_pending(conn, [(*key, size, mtime)], now)
            conn.execute(
                'UPDATE files SET status=?, profile=?, interval=?, rows=?, start=?, "end"=?, reason=?,'
                " report=?, warning_count=?, first_warning=?, updated_at=?"
                " WHERE source_id=? AND path=? AND sha256=?",
                (
                    report.status,
                    report.profile,
                    report.interval,
                    report.total_rows,
                    min(starts).isoformat() if starts else None,
                    max(ends).isoformat() if ends else None,
                    report.reason(),
                    json.dumps(report.to_json()),
                    len(report.warnings),
                    report.warnings[0].message if report.warnings else "",
                    now,
                    *key,
                ),
            )
            file_id = conn.execute(f"SELECT id FROM files f WHERE {ONE_FILE}", key).fetchone()[0]
            conn.execute("DELETE FROM outputs WHERE file_id=?", (file_id,))
            if report.status == FileStatus.INGESTED:
                conn.executemany(
                    'INSERT INTO outputs (file_id, symbol, rows, start, "end", output) VALUES (?,?,?,?,?,?)',
                    [(file_id, sym, *self._output_row(res)) for sym, res in report.symbols.items()],
                )
            row = conn.execute(f"{SELECT_FILES} WHERE f.id=? GROUP BY f.id", (file_id,)).fetchone()
        return self._record(row)

    def record_refusal(
        self, source_id: str, path: str, status: FileStatus, reason: str, *, size: int = 0, mtime: float = 0.0
    ) -> bool:
        """Record a file the daemon could not read (never hashed) with its final status; True when the
        row is new or changed (a FIFO seen again by every reconcile writes nothing)."""
        key = (source_id, self._in(path), NOT_READ_SHA)
        with self._write() as conn:
            _insert_pending(conn, [(*key, size, mtime)])
            changed = conn.execute(
                "UPDATE files SET status=?, reason=?, size=?, mtime=?, updated_at=? WHERE source_id=?"
                " AND path=? AND sha256=? AND (status<>? OR reason<>? OR size<>? OR mtime<>?)",
                (status, reason, size, mtime, now_iso(), *key, status, reason, size, mtime),
            ).rowcount
        return bool(changed)

    def supersede(self, source_id: str, path: str, keep_sha256: str) -> list[OutputRecord]:
        """Mark older versions of ``path`` superseded; return their outputs so the caller deletes them.

        Same name with new content is a new version: its bars replace the old version's bars wholesale.
        """
        others = "f.source_id=? AND f.path=? AND f.sha256<>?"
        args = (source_id, self._in(path), keep_sha256)
        with self._write() as conn:
            rows = conn.execute(f"{SELECT_OUTPUTS} WHERE {others} AND f.status='ingested'", args).fetchall()
            conn.execute(
                f"UPDATE files AS f SET status='superseded', updated_at=? WHERE {others}"
                " AND f.status<>'superseded'",
                (now_iso(), *args),
            )
            conn.execute(
                f"DELETE FROM outputs WHERE file_id IN (SELECT f.id FROM files f WHERE {others})", args
            )
        return [self._output(r) for r in rows]

    def forget(self, source_id: str, path: str | None = None) -> list[OutputRecord]:
        """Drop ledger rows of a source (or one path in it); return outputs that the caller deletes."""
        where, args = "f.source_id=?", [source_id]
        if path is not None:
            where, args = "f.source_id=? AND f.path=?", [source_id, self._in(path)]
        with self._write() as conn:
            rows = conn.execute(f"{SELECT_OUTPUTS} WHERE {where}", args).fetchall()
            conn.execute(f"DELETE FROM files WHERE id IN (SELECT f.id FROM files f WHERE {where})", args)
        return [self._output(r) for r in rows]

    # --- queries -------------------------------------------------------------------------------
    def get(self, source_id: str, path: str, sha256: str) -> FileRecord | None:
        with self._read() as conn:
            key = (source_id, self._in(path), sha256)
            found = conn.execute(f"{SELECT_FILES} WHERE {ONE_FILE} GROUP BY f.id", key).fetchone()
        return self._record(found) if found else None

    def find_ingested(self, source_id: str, sha256: str) -> FileRecord | None:
        """The record that already stored these exact bytes in this source, if any."""
        with self._read() as conn:
            row = conn.execute(
                f"{SELECT_FILES} WHERE f.source_id=? AND f.sha256=? AND f.status='ingested'"
                " GROUP BY f.id ORDER BY f.id LIMIT 1",
                (source_id, sha256),
            ).fetchone()
        return self._record(row) if row else None

    def twins(self, source_id: str, sha256: str, path: str) -> list[str]:
        """Other paths of this source queued with the same bytes. One job (its id is source + sha256)
        serves them all: the daemon's enqueue for a second name found that job already active."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT path FROM files WHERE source_id=? AND sha256=? AND status='queued' AND path<>?"
                " ORDER BY id",
                (source_id, sha256, self._in(path)),
            ).fetchall()
        return [self._out(str(row[0])) for row in rows]

    def files(
        self,
        source_id: str | None = None,
        status: str | Iterable[str] | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        current: bool = False,
    ) -> list[FileRecord]:
        """Rows in the order they were first seen, with their symbols, in one query.

        ``current``: only each path's current version (its newest row), not its history."""
        where, args = _filters(source_id, status, current)
        page = "LIMIT ? OFFSET ?" if limit is not None else ""
        with self._read() as conn:
            rows = conn.execute(
                f"{SELECT_FILES} {where} GROUP BY f.id ORDER BY f.id {page}",
                [*args, *([limit, offset] if limit is not None else [])],
            ).fetchall()
        return [self._record(r) for r in rows]

    def page(
        self,
        source_id: str | None = None,
        status: str | Iterable[str] | None = None,
        *,
        limit: int | None = 100,
        offset: int = 0,
        newest_first: bool = True,
        current: bool = False,
        total: int | None = None,
    ) -> FilePage:
        """One page of the listing (``limit=None``: all of it) and the number of matching rows.

        ``current``: only each path's current version (its newest row), not its history. ``total``:
        the number of matching rows when the caller has counted them already (saves a scan)."""
        where, args = _filters(source_id, status, current)
        order = "DESC" if newest_first else "ASC"
        with self._read() as conn:
            if total is None:
                total = int(conn.execute(f"SELECT COUNT(*) FROM files f {where}", args).fetchone()[0])
            rows = conn.execute(
                f"{SELECT_FILES} {where} GROUP BY f.id ORDER BY f.id {order} LIMIT ? OFFSET ?",
                [*args, NO_LIMIT if limit is None else limit, offset],
            ).fetchall()
        return FilePage([self._record(r) for r in rows], total, offset)

    def count_by_status(
        self, source_id: str | None = None, *, current: bool = False
    ) -> dict[FileStatus, int]:
        """How many rows are in each status (statuses with none are left out)."""
        where, args = _filters(source_id, None, current)
        with self._read() as conn:
            rows = conn.execute(f"SELECT f.status, COUNT(*) FROM files f {where} GROUP BY f.status", args)
            return {FileStatus(status): int(n) for status, n in rows.fetchall()}

    def reconcile_rows(self) -> list[LedgerRow]:
        """Every row's identity and state, without reports: what the daemon compares with the folders."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT source_id, path, sha256, status, size, mtime, job_id FROM files ORDER BY id"
            ).fetchall()
        return [LedgerRow(r[0], self._out(r[1]), r[2], FileStatus(r[3]), r[4], r[5], r[6]) for r in rows]

    def updated(self, statuses: Iterable[str]) -> dict[str, tuple[FileStatus, str, str | None]]:
        """path -> (status, updated_at, job_id) of every row in ``statuses``: a cheap poll (no reports)."""
        wanted = list(statuses)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT path, status, updated_at, job_id FROM files"
                f" WHERE status IN ({','.join('?' * len(wanted))})",
                wanted,
            ).fetchall()
        return {self._out(r[0]): (FileStatus(r[1]), r[2], r[3]) for r in rows}

    def record_build(self, build: BuildRecord) -> None:
        """A derived dataset was written (a continuous futures series and its roll log)."""
        stored = build._replace(output=self._in(build.output), log=self._in(build.log))
        with self._write() as conn:
            conn.execute(
                "INSERT INTO builds (kind, name, source_id, output, log, log_sha256, output_sha256, rows,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*stored[:-1], build.created_at or now_iso()),
            )

    def builds(self, kind: str | None = None, name: str | None = None) -> list[BuildRecord]:
        """Recorded builds, oldest first; filtered by kind and name when given."""
        columns = "kind, name, source_id, output, log, log_sha256, output_sha256, rows, created_at"
        sql = f"SELECT {columns} FROM builds"
        where, args = [], []
        for column, value in (("kind", kind), ("name", name)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        with self._read() as conn:
            rows = [BuildRecord(*row) for row in conn.execute(sql, args).fetchall()]
        return [b._replace(output=self._out(b.output), log=self._out(b.log)) for b in rows]

    def outputs(self, source_id: str, symbol: str | None = None) -> list[OutputRecord]:
        """Stored Parquet files of ingested inputs in a source, oldest ingest first."""
        sql = f"{SELECT_OUTPUTS} WHERE f.source_id=? AND f.status='ingested'"
        args: list[Any] = [source_id]
        if symbol is not None:
            sql += " AND o.symbol=?"
            args.append(symbol)
        with self._read() as conn:
            return [self._output(r) for r in conn.execute(sql + " ORDER BY f.id", args).fetchall()]

    def _record(self, row: Any) -> FileRecord:
        record = FileRecord.from_row(row)
        record.path = self._out(record.path)
        return record

    def _output(self, row: Any) -> OutputRecord:
        output = self._out(row["output"]) if row["output"] else row["output"]
        return OutputRecord(
            row["symbol"],
            row["rows"],
            row["start"],
            row["end"],
            output,
            self._out(row["path"]),
            row["sha256"],
        )

    def _output_row(self, res: SymbolResult) -> tuple[int, str | None, str | None, str]:
        return (
            res.rows,
            res.start.isoformat() if res.start else None,
            res.end.isoformat() if res.end else None,
            self._in(res.output) if res.output else "",
        )


SELECT_FILES = (
    "SELECT f.*, GROUP_CONCAT(o.symbol) AS symbols FROM files f LEFT JOIN outputs o ON o.file_id = f.id"
)
"""Rows with their stored symbols (comma-joined: symbols never hold a comma); needs ``GROUP BY f.id``."""
SELECT_OUTPUTS = "SELECT o.*, f.path, f.sha256 FROM outputs o JOIN files f ON f.id = o.file_id"
ONE_FILE = "f.source_id=? AND f.path=? AND f.sha256=?"
CURRENT = "NOT EXISTS (SELECT 1 FROM files g WHERE g.source_id=f.source_id AND g.path=f.path AND g.id>f.id)"
"""A path's current version is its newest row: an edit in place adds a row, the older ones are history.
Asked per row through the (source_id, path, sha256) index, so the newest page costs a few lookups
instead of grouping the whole table (20,000 rows: 0.2 s per query before)."""
REOPENABLE = ", ".join(f"'{s}'" for s in sorted(FILE_REOPENABLE))


def _create_tables(conn: Conn, context: MigrationContext) -> None:
    conn.script(FILES_TABLE.format(identity=context.db.identity()))


def _add_warning_columns(conn: Conn, _context: MigrationContext) -> None:
    """Columns a ledger written before them lacks, filled from the stored reports."""
    have = conn.columns("files")
    missing = [name for name in ADDED_COLUMNS if name not in have]
    for name in missing:
        conn.execute(f"ALTER TABLE files ADD COLUMN {name} {ADDED_COLUMNS[name]}")
    if not missing:
        return
    updates = []
    for row in conn.execute("SELECT id, report FROM files WHERE report IS NOT NULL").fetchall():
        warnings = (json.loads(row["report"]) or {}).get("warnings") or []
        if warnings:
            updates.append((len(warnings), str(warnings[0].get("message", "")), row["id"]))
    conn.executemany("UPDATE files SET warning_count=?, first_warning=? WHERE id=?", updates)


def _create_builds(conn: Conn, context: MigrationContext) -> None:
    conn.script(BUILDS_TABLE.format(identity=context.db.identity()))


def _relative_paths(conn: Conn, context: MigrationContext) -> None:
    """Paths inside the data folder become relative to it, so every host names a file the same way."""
    if context.data_dir is None:
        return
    prefix = f"{context.data_dir}/"
    n = len(prefix)
    conn.execute("UPDATE files SET path=substr(path, ?) WHERE substr(path, 1, ?)=?", (n + 1, n, prefix))
    conn.execute(
        "UPDATE outputs SET output=substr(output, ?) WHERE substr(output, 1, ?)=?", (n + 1, n, prefix)
    )


MIGRATIONS = (
    Migration(1, "files and outputs tables", _create_tables),
    Migration(2, "warning_count and first_warning columns", _add_warning_columns),
    Migration(3, "paths relative to the data folder", _relative_paths),
    Migration(4, "builds table (continuous futures series)", _create_builds),
)
"""The ledger's schema history: append, never edit, a released step."""
NO_LIMIT = 2**62
"""``LIMIT`` for "all rows": SQLite's ``-1`` means no limit, PostgreSQL refuses a negative one."""


def _insert_pending(
    conn: Conn, rows: Sequence[tuple[str, str, str, int, float]], now: str | None = None
) -> None:
    stamp = now or now_iso()
    conn.executemany(
        "INSERT INTO files (source_id, path, sha256, size, mtime, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
        [(*row, stamp, stamp) for row in rows],
    )


def _filters(
    source_id: str | None, status: str | Iterable[str] | None, current: bool = False
) -> tuple[str, list[Any]]:
    clauses: list[str] = [CURRENT] if current else []
    args: list[Any] = []
    if source_id is not None:
        clauses.append("f.source_id=?")
        args.append(source_id)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        clauses.append(f"f.status IN ({','.join('?' * len(statuses))})")
        args.extend(statuses)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args
