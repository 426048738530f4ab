"""Upload sessions: a folder per upload under ``data/uploads/sessions``, registered as a data source.

Layout of one session::

    data/uploads/sessions/upload_20261128T101500_3f9a0c1d/
        metadata.json        # id, created_at, options, one entry per uploaded file (rewritten atomically)
        .lock                # serialises metadata updates between processes
        files/MES_1m.csv     # what the daemon watches and ingests

Ids carry a UTC timestamp for people and random hex for uniqueness, and the folder is created with an
exclusive ``mkdir``, so two uploads in the same second can never share a session. Files arrive as a
dotted ``.part`` temp in the same folder, are fsynced and renamed, so the watcher sees one whole file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from trading_pipeline.clock import now_iso, utc_now
from trading_pipeline.durable import atomic_write_bytes, exclusive_lock, file_sha256, fsync_dir
from trading_pipeline.errors import SourceNotFoundError, UnsafeNameError
from trading_pipeline.ledger import Ledger
from trading_pipeline.names import SESSION_ID_RE, check_session_id, safe_filename, safe_symbol
from trading_pipeline.settings import Settings
from trading_pipeline.sources.repository import DataSourceRepository
from trading_pipeline.sources.upload_source import (
    SESSION_FILES_DIR,
    SESSION_METADATA,
    UploadDataSource,
    read_session_metadata,
)
from trading_pipeline.statuses import FILE_FINAL

__all__ = ["SessionManager", "new_session_id"]

CHUNK_BYTES = 1 << 20
CREATE_ATTEMPTS = 20


def new_session_id(now: datetime | None = None) -> str:
    """``upload_YYYYMMDDTHHMMSS_<8 hex>`` in UTC; the hex makes same-second ids distinct."""
    stamp = (now or utc_now()).strftime("%Y%m%dT%H%M%S")
    return f"upload_{stamp}_{secrets.token_hex(4)}"


class SessionManager:
    """Creates upload sessions, stores uploaded files safely, and cleans up finished old sessions."""

    def __init__(
        self, settings: Settings | None = None, repository: DataSourceRepository | None = None
    ) -> None:
        self.settings = settings or (repository.settings if repository else Settings())
        self.repository = repository or DataSourceRepository(self.settings)
        self.sessions_dir = self.settings.uploads_dir
        self.sessions_dir.mkdir(parents=True, exist_ok=True)

    # --- sessions -----------------------------------------------------------------------------
    def create_session(
        self,
        *,
        tz: str | None = None,
        bar_label: str | None = None,
        symbol: str | None = None,
        symbol_pattern: str | None = None,
        layout: dict[str, Any] | None = None,
        label: str = "",
    ) -> str:
        """Create the folder and metadata, and register the session's UploadDataSource; returns its id.

        ``tz``/``bar_label``/``symbol``/``symbol_pattern`` are applied by ingest to every file of the
        session (checked here first, so a typo fails now rather than in a worker).
        """
        options: dict[str, Any] = {
            "tz": tz,
            "bar_label": bar_label,
            "symbol": symbol,
            "symbol_pattern": symbol_pattern,
        }
        if layout:
            options["layout"] = layout
        session_id, session_dir = self._make_folder()
        try:
            source = UploadDataSource(session_id, settings=self.settings, **options)
            (session_dir / SESSION_FILES_DIR).mkdir()
            metadata = {"session_id": session_id, "created_at": now_iso(), "label": label, "options": options}
            self._write_metadata(session_dir, {**metadata, "files": {}})
            self.repository.register_source(session_id, source)
        except BaseException:
            shutil.rmtree(session_dir, ignore_errors=True)
            raise
        return session_id

    def _make_folder(self) -> tuple[str, Path]:
        for _ in range(CREATE_ATTEMPTS):
            session_id = new_session_id()
            folder = self.sessions_dir / session_id
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return session_id, folder
        raise RuntimeError("could not create a unique upload session folder")  # pragma: no cover

    def get_session_dir(self, session_id: str) -> Path:
        return self.sessions_dir / check_session_id(session_id)

    def files_dir(self, session_id: str) -> Path:
        return self.get_session_dir(session_id) / SESSION_FILES_DIR

    def get_metadata(self, session_id: str) -> dict[str, Any]:
        folder = self.get_session_dir(session_id)
        if not folder.is_dir():
            raise SourceNotFoundError(source_id=session_id)
        return read_session_metadata(folder)

    def list_sessions(self) -> list[str]:
        """Session folders on disk, oldest first (ids sort by time)."""
        if not self.sessions_dir.is_dir():
            return []
        return sorted(
            p.name for p in self.sessions_dir.iterdir() if p.is_dir() and SESSION_ID_RE.fullmatch(p.name)
        )

    # --- files --------------------------------------------------------------------------------
    def add_file(
        self, session_id: str, name: str, data: bytes | IO[bytes], *, symbol: str | None = None
    ) -> Path:
        """Store one uploaded file under ``files/`` and return its final path.

        The name is sanitised (``UnsafeNameError`` for traversal, absolute, NUL, hidden or empty names).
        The per-file ``symbol`` is recorded in metadata.json *before* the file appears, so the daemon
        always ingests it with that symbol. Same name again replaces the file (a new version).
        """
        clean = safe_filename(name)
        if symbol is not None:
            safe_symbol(symbol)
        files = self.files_dir(session_id)
        if not files.is_dir():
            raise SourceNotFoundError(source_id=session_id)
        target = files / clean
        if target.resolve().parent != files.resolve():  # defence in depth: never leave files/
            raise UnsafeNameError(name=name, reason="it resolves outside the session folder")
        tmp = files / f".{clean}.{secrets.token_hex(4)}.part"
        try:
            size, digest = _write_synced(tmp, data)
            entry = {"size": size, "sha256": digest, "symbol": symbol, "uploaded_at": now_iso()}
            self._update_metadata(session_id, clean, entry)
            tmp.replace(target)
            fsync_dir(files)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    # --- metadata -----------------------------------------------------------------------------
    def _write_metadata(self, session_dir: Path, metadata: dict[str, Any]) -> None:
        atomic_write_bytes(session_dir / SESSION_METADATA, json.dumps(metadata, indent=2).encode())

    def _update_metadata(self, session_id: str, name: str, entry: dict[str, Any]) -> None:
        """Read-modify-write under an exclusive lock: two uploads into one session must not lose an entry."""
        folder = self.get_session_dir(session_id)
        with exclusive_lock(folder / ".lock"):
            metadata = read_session_metadata(folder)
            metadata.setdefault("files", {})[name] = entry
            self._write_metadata(folder, metadata)

    # --- cleanup ------------------------------------------------------------------------------
    def cleanup_old_sessions(self, max_age_hours: float | None = None) -> list[str]:
        """Delete sessions older than ``max_age_hours`` (default ``settings.session_max_age_h``) whose work
        is done; returns their ids.

        Kept: the active source, sessions with an upload in progress (a ``.part`` file), and sessions
        with any file the ledger has not finished (not ingested, rejected, duplicate or superseded).
        Removal also drops the session's source, ledger rows and stored bars.
        """
        max_age_s = 3600 * (self.settings.session_max_age_h if max_age_hours is None else max_age_hours)
        active = self.repository.active_source_id()
        registered = set(self.repository.source_ids())
        removed = []
        for session_id in self.list_sessions():
            folder = self.get_session_dir(session_id)
            if session_id == active or _age_s(folder) <= max_age_s or not self._finished(session_id):
                continue
            if session_id in registered:
                self.repository.remove_source(session_id)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(session_id)
        return removed

    def _finished(self, session_id: str) -> bool:
        files = self.files_dir(session_id)
        if files.is_dir() and any(p.name.endswith(".part") for p in files.iterdir()):
            return False
        source = UploadDataSource(session_id, settings=self.settings)
        done = {r.sha256 for r in Ledger(self.settings).files(session_id, FILE_FINAL)}
        known = read_session_metadata(self.get_session_dir(session_id)).get("files", {})
        for path in source.files_on_disk():
            entry = known.get(path.name, {})
            digest = entry.get("sha256") if entry.get("size") == path.stat().st_size else None
            if (digest or file_sha256(path)) not in done:
                return False
        return True


def _age_s(folder: Path) -> float:
    created = read_session_metadata(folder).get("created_at")
    try:
        return time.time() - datetime.fromisoformat(str(created)).timestamp()
    except ValueError:
        return time.time() - folder.stat().st_mtime


def _write_synced(tmp: Path, data: bytes | IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with tmp.open("xb") as out:
        chunks = [data] if isinstance(data, bytes) else iter(lambda: data.read(CHUNK_BYTES), b"")
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()
