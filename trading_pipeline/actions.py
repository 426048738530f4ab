"""What screens do to the data folder: upload into a new session, check files without storing them,
remove a source, choose the active source. The CLI and the UI call these, so both act alike.

Nothing here ingests: an upload is only written (temp name, fsync, rename) into a watched session
folder, and the daemon and workers do the work. Queue-side actions live in ``jobqueue.actions``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from trading_pipeline.durable import file_sha256
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import BarLabel, IngestOptions
from trading_pipeline.names import safe_filename, safe_symbol
from trading_pipeline.report import FileReport
from trading_pipeline.settings import Settings
from trading_pipeline.sources.repository import DataSourceRepository, RemovedSource
from trading_pipeline.sources.sessions import SessionManager

__all__ = [
    "SavedFile",
    "Upload",
    "UploadFile",
    "check_files",
    "remove_source",
    "set_active_source",
    "upload_files",
]


@dataclass(frozen=True)
class UploadFile:
    """One file as a person handed it over: its name (unsanitised), its bytes and an optional symbol."""

    name: str
    data: bytes | IO[bytes]
    symbol: str | None = None


@dataclass(frozen=True)
class SavedFile:
    name: str
    """The sanitised name it was stored under."""
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Upload:
    """A new upload session and the files written into it."""

    session_id: str
    files: list[SavedFile] = field(default_factory=list)


def upload_files(
    settings: Settings,
    files: Sequence[UploadFile],
    *,
    tz: str | None = None,
    bar_label: str | None = None,
    symbol: str | None = None,
    layout: dict[str, Any] | None = None,
    label: str = "",
) -> Upload:
    """Create an upload session (registered as a source) and store every file in it.

    Names and symbols are checked before anything is written (``UnsafeNameError``/``UsageError``), and
    each file is streamed to a dotted temp name, fsynced and renamed: the daemon never sees half a file.
    """
    for item in files:
        safe_filename(item.name)
        if item.symbol:
            safe_symbol(item.symbol)
    manager = SessionManager(settings)
    session_id = manager.create_session(tz=tz, bar_label=bar_label, symbol=symbol, layout=layout, label=label)
    paths = [manager.add_file(session_id, f.name, f.data, symbol=f.symbol or None) for f in files]
    known = manager.get_metadata(session_id).get("files", {})  # hashed while written: not read twice
    saved = []
    for path in paths:
        entry = known.get(path.name, {})
        digest = str(entry.get("sha256") or file_sha256(path))
        saved.append(SavedFile(path.name, path, digest, int(entry.get("size") or path.stat().st_size)))
    return Upload(session_id, saved)


def check_files(
    settings: Settings,
    files: Sequence[UploadFile],
    *,
    tz: str | None = None,
    bar_label: BarLabel | None = None,
    symbol: str | None = None,
) -> list[FileReport]:
    """Run the ingest checks on each file and store nothing (``pipeline validate``'s reports).

    Each file is written to a private temporary folder under its sanitised name (the name tells the
    reader the format and the symbol), checked, and deleted with the folder.
    """
    ingestor = DataIngestor(settings)
    reports = []
    with tempfile.TemporaryDirectory(prefix="check-") as tmp:
        for item in files:
            folder = Path(tempfile.mkdtemp(dir=tmp))
            target = folder / safe_filename(item.name)
            with target.open("wb") as out:
                if isinstance(item.data, bytes):
                    out.write(item.data)
                else:
                    shutil.copyfileobj(item.data, out)
            options = IngestOptions(symbol=item.symbol or symbol, tz=tz, bar_label=bar_label)
            reports.append(ingestor.validate(target, options))
    return reports


def remove_source(settings: Settings, source_id: str) -> RemovedSource:
    """Unregister the source and delete its stored bars, ledger rows and (for an upload) its session."""
    return DataSourceRepository(settings).remove_source(source_id)


def set_active_source(settings: Settings, source_id: str) -> None:
    """The source runs use when none is named; ``SourceNotFoundError`` for an unknown id."""
    DataSourceRepository(settings).set_active_source(source_id)
