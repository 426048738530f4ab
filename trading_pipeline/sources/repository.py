"""The persistent registry of data sources, shared by every process through the database (SQLite in the
data folder, or PostgreSQL).

A registry kept in one process's memory would let the CLI, the daemon, the workers and the UI each see
only their own sources. Here each source is a row ``(source_id, source_type, config)`` in
``state/sources.sqlite3`` (WAL; writes take ``BEGIN IMMEDIATE`` so concurrent registrations queue and
none is lost), and every process rebuilds the same objects from it. The ``default`` source over
``data/raw`` always exists; the active source is persisted too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from trading_pipeline.clock import now_iso
from trading_pipeline.db import Conn, Database
from trading_pipeline.errors import (
    PipelineError,
    SourceError,
    SourceExistsError,
    SourceNotFoundError,
    UsageError,
)
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.migrations import Migration, MigrationContext, migrate
from trading_pipeline.names import check_source_id, is_ignored_name
from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import DataSource, DataSourceMetadata
from trading_pipeline.sources.file_source import DEFAULT_SOURCE_ID, FileDataSource
from trading_pipeline.sources.stored import StoredDataSource
from trading_pipeline.sources.types import build_source
from trading_pipeline.sources.upload_source import UploadDataSource
from trading_pipeline.store import BarStore

__all__ = ["DataSourceRepository", "RemovedSource"]

TABLES = """
CREATE TABLE IF NOT EXISTS sources (
    source_id TEXT PRIMARY KEY,
    source_type TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS repository_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""


def _create_tables(conn: Conn, _context: MigrationContext) -> None:
    conn.script(TABLES)


MIGRATIONS = (Migration(1, "sources and repository_state tables", _create_tables),)
"""The registry's schema history: append, never edit, a released step."""
COMPONENT = "sources"
ACTIVE_KEY = "active_source"


@dataclass
class RemovedSource:
    """What ``remove_source`` deleted, so the CLI can say it."""

    source_id: str
    source_type: str
    ledger_files: int = 0
    outputs: int = 0
    folders: list[str] = field(default_factory=list)


def _as_settings(value: Settings | str | os.PathLike[str] | None) -> Settings:
    if value is None:
        return Settings()
    if isinstance(value, Settings):
        return value
    return Settings.from_env({}, data_dir=Path(value))


class DataSourceRepository:
    """Registered sources and the active one, persisted in ``settings.registry_path`` (SQLite) or in
    the PostgreSQL database of ``PIPELINE_DATABASE_URL``.

    ``settings`` may also be a path, taken as the data folder (``PIPELINE_DATA_DIR``); ``None`` reads
    the environment. Instances hold no state beyond the path: create them freely, in any process.
    """

    def __init__(self, settings: Settings | str | os.PathLike[str] | None = None) -> None:
        self.settings = _as_settings(settings)
        self.db = Database(self.settings.database_for(self.settings.registry_path))
        self.path = self.db.target
        migrate(self.db, COMPONENT, MIGRATIONS, self.settings.data_dir)
        self.settings.raw_dir.mkdir(parents=True, exist_ok=True)  # the default source's folder always exists
        self._ensure_default()

    def _ensure_default(self) -> None:
        with self.db.read() as conn:
            if conn.execute("SELECT 1 FROM sources WHERE source_id=?", (DEFAULT_SOURCE_ID,)).fetchone():
                return
        with self._write() as conn:
            conn.execute(
                "INSERT INTO sources VALUES (?, 'file', ?, ?, ?) ON CONFLICT DO NOTHING",
                (DEFAULT_SOURCE_ID, json.dumps(FileDataSource().to_config()), now_iso(), now_iso()),
            )

    def _write(self) -> contextlib.AbstractContextManager[Conn]:
        return self.db.write(COMPONENT)

    # --- registration -------------------------------------------------------------------------
    def register_source(self, source_id: str, source: DataSource) -> None:
        """Validate, then store the source; refuses a taken id or a folder another source watches."""
        check_source_id(source_id)
        if source.source_id != source_id:
            raise UsageError(
                f"source id {source_id!r} does not match the source's own id {source.source_id!r}"
            )
        source.bind(self.settings)
        ok, errors = source.validate()
        if not ok:
            raise SourceError(f"source {source_id!r} failed validation: {'; '.join(errors)}")
        folder = source.watch_directory()
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM sources WHERE source_id=?", (source_id,)).fetchone():
                raise SourceExistsError(source_id=source_id)
            if folder is not None:
                self._check_folder(source, folder, [self._build(r) for r in self._rows(conn)])
            now = now_iso()
            conn.execute(
                "INSERT INTO sources VALUES (?, ?, ?, ?, ?)",
                (source_id, source.source_type, json.dumps(source.to_config()), now, now),
            )
        source.created_at = datetime.fromisoformat(now)

    def _check_folder(self, source: DataSource, folder: Path, existing: list[DataSource]) -> None:
        """One folder, one source: otherwise a dropped file would belong to two sources."""
        folder = folder.resolve()
        data = self.settings
        if data.data_dir.is_relative_to(folder):
            raise SourceError(f"{folder} contains the data folder {data.data_dir}; pick another folder")
        internal = [data.processed_dir, data.state_dir, data.runs_dir]
        if not isinstance(source, UploadDataSource):
            internal.append(data.uploads_dir)
        if any(folder.is_relative_to(p) for p in internal):
            raise SourceError(f"{folder} is inside the pipeline's own storage; pick another folder")
        for other in existing:
            theirs = other.watch_directory()
            if theirs is not None and (folder.is_relative_to(theirs) or theirs.is_relative_to(folder)):
                raise SourceError(f"{folder} overlaps {theirs}, watched by source {other.source_id!r}")

    # --- reading ------------------------------------------------------------------------------
    def _rows(self, conn: Conn) -> list[Any]:
        return conn.execute("SELECT * FROM sources ORDER BY created_at, source_id").fetchall()

    def _build(self, row: Any) -> DataSource:
        source = build_source(row["source_id"], row["source_type"], json.loads(row["config"]), self.settings)
        source.created_at = datetime.fromisoformat(row["created_at"])
        if isinstance(source, StoredDataSource):
            source.use_ledger(self.ledger)
        return source

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.settings)

    def source_ids(self) -> list[str]:
        return [r["source_id"] for r in self._all_rows()]

    def has_source(self, source_id: str) -> bool:
        return source_id in self.source_ids()

    def get_source(self, source_id: str) -> DataSource:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM sources WHERE source_id=?", (source_id,)).fetchone()
        if row is None:
            raise SourceNotFoundError(source_id=source_id)
        return self._build(row)

    def _all_rows(self) -> list[Any]:
        with self.db.read() as conn:
            return self._rows(conn)

    def sources(self) -> list[DataSource]:
        """Every registered source this process can build (unknown types are skipped)."""
        built = []
        for row in self._all_rows():
            try:
                built.append(self._build(row))
            except PipelineError:
                continue
        return built

    def list_sources(self) -> dict[str, DataSourceMetadata]:
        """Metadata of every source; one broken source does not hide the others."""
        listing = {}
        for row in self._all_rows():
            try:
                listing[row["source_id"]] = self._build(row).get_metadata()
            except PipelineError as exc:
                listing[row["source_id"]] = _broken(row["source_id"], row["source_type"], exc.message)
        return listing

    # --- active source ------------------------------------------------------------------------
    def set_active_source(self, source_id: str) -> None:
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM sources WHERE source_id=?", (source_id,)).fetchone():
                raise SourceNotFoundError(source_id=source_id)
            conn.execute(
                "INSERT INTO repository_state VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                (ACTIVE_KEY, source_id),
            )

    def active_source_id(self) -> str:
        """The persisted active source; ``default`` when none was chosen or it was removed."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT s.source_id FROM repository_state r JOIN sources s ON s.source_id = r.value"
                " WHERE r.key=?",
                (ACTIVE_KEY,),
            ).fetchone()
        return str(row[0]) if row else DEFAULT_SOURCE_ID

    def get_active_source(self) -> DataSource:
        return self.get_source(self.active_source_id())

    # --- removal ------------------------------------------------------------------------------
    def remove_source(self, source_id: str) -> RemovedSource:
        """Unregister, then delete the source's stored bars and ledger rows, and an upload's session folder.

        A folder source's own directory is the user's and is never touched. The row goes first, so the
        daemon stops routing new files to the source before its data disappears.
        """
        if source_id == DEFAULT_SOURCE_ID:
            raise UsageError("the default source (data/raw) cannot be removed")
        with self._write() as conn:
            row = conn.execute("SELECT * FROM sources WHERE source_id=?", (source_id,)).fetchone()
            if row is None:
                raise SourceNotFoundError(source_id=source_id)
            conn.execute("DELETE FROM sources WHERE source_id=?", (source_id,))
            conn.execute("DELETE FROM repository_state WHERE key=? AND value=?", (ACTIVE_KEY, source_id))
        removed = RemovedSource(source_id, row["source_type"])
        self._purge_store(removed)
        if row["source_type"] == UploadDataSource.source_type:
            session_dir = self.settings.uploads_dir / source_id
            if session_dir.is_dir():
                shutil.rmtree(session_dir)
                removed.folders.append(str(session_dir))
        return removed

    def _purge_store(self, removed: RemovedSource) -> None:
        ledger = self.ledger
        removed.ledger_files = len(ledger.files(removed.source_id))
        store = BarStore(self.settings.processed_dir)
        outputs = ledger.forget(removed.source_id)
        for rec in outputs:
            store.remove(
                Path(rec.output) if rec.output else store.path_for(removed.source_id, rec.symbol, rec.sha256)
            )
        removed.outputs = len(outputs)
        leftover = self.settings.processed_dir / check_source_id(removed.source_id)
        if leftover.is_dir():
            shutil.rmtree(leftover)
            removed.folders.append(str(leftover))

    # --- for the daemon -----------------------------------------------------------------------
    def watched_directories(self) -> list[tuple[str, Path, IngestOptions]]:
        """``(source_id, folder, options)`` for every source with files: ``default`` -> data/raw, each
        upload session -> ``<session>/files``, each add-dir source -> its folder. The daemon watches these
        (recursively) and ingests each file with ``options`` (or ``source_for_path`` for per-file ones).
        """
        watched = []
        for source in self.sources():
            folder = source.watch_directory()
            if folder is not None:
                watched.append((source.source_id, folder, source.ingest_options()))
        return watched

    def source_for_path(self, path: Path) -> tuple[str, IngestOptions] | None:
        """Which source a dropped file belongs to, and the options to ingest it with.

        The deepest watched folder containing ``path`` wins. ``None`` when no source claims it, or when
        the file (or a folder between it and the source's root) is hidden, temporary (``*.part``,
        ``*.tmp``) or ``metadata.json``: such files must not be ingested.
        """
        target = path.parent.resolve() / path.name  # folder symlinks resolved, as source folders are
        best: tuple[Path, DataSource] | None = None
        for source in self.sources():
            folder = source.watch_directory()
            if folder is None or not target.is_relative_to(folder):
                continue
            if best is None or len(folder.parts) > len(best[0].parts):
                best = (folder, source)
        if best is None or target == best[0]:
            return None
        folder, source = best
        if any(is_ignored_name(part) for part in target.relative_to(folder).parts):
            return None
        options = (
            source.options_for(target) if isinstance(source, StoredDataSource) else source.ingest_options()
        )
        return source.source_id, options


def _broken(source_id: str, source_type: str, reason: str) -> DataSourceMetadata:
    details: dict[str, Any] = {}
    return DataSourceMetadata(
        source_id=source_id,
        source_type=source_type,
        symbols=[],
        date_range=None,
        row_count=0,
        file_size_mb=0.0,
        created_at=None,
        columns=[],
        validated=False,
        validation_errors=[reason],
        options=details,
    )
