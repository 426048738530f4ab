"""The files of one upload session (UI or `pipeline sources upload`), ingested under the session's id."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.names import check_session_id
from trading_pipeline.settings import Settings
from trading_pipeline.sources.stored import StoredDataSource, source_options

__all__ = ["SESSION_FILES_DIR", "SESSION_METADATA", "UploadDataSource", "read_session_metadata"]

SESSION_FILES_DIR = "files"
"""Uploaded files live in ``<session>/files/``; ``<session>/metadata.json`` sits beside that folder."""
SESSION_METADATA = "metadata.json"


def read_session_metadata(session_dir: Path) -> dict[str, Any]:
    """The session's ``metadata.json``, or ``{}`` when absent or unreadable (it is always rewritten whole)."""
    try:
        data = json.loads((session_dir / SESSION_METADATA).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class UploadDataSource(StoredDataSource):
    """An upload session as a source; its id is the session id (``upload_YYYYMMDDTHHMMSS_<hex>``).

    Files are written by ``SessionManager.add_file`` and ingested by the daemon (or in-process by the
    CLI) with this source's options: the session's zone, bar label and, when every file of the session
    is one instrument, its symbol.
    """

    source_type = "upload"

    def __init__(
        self,
        source_id: str,
        session_dir: str | os.PathLike[str] | None = None,
        *,
        tz: str | None = None,
        bar_label: str | None = None,
        symbol: str | None = None,
        symbol_pattern: str | None = None,
        layout: dict[str, Any] | None = None,
        settings: Settings | None = None,
    ) -> None:
        check_session_id(source_id)
        options = source_options(
            source_id, tz=tz, bar_label=bar_label, symbol=symbol, symbol_pattern=symbol_pattern, layout=layout
        )
        super().__init__(source_id, options=options, settings=settings)
        self._session_dir = Path(session_dir).resolve() if session_dir is not None else None

    @property
    def session_dir(self) -> Path:
        if self._session_dir is None:
            return self.settings.uploads_dir / self.source_id
        return self._session_dir

    @property
    def files_dir(self) -> Path:
        return self.session_dir / SESSION_FILES_DIR

    def watch_directory(self) -> Path:
        return self.files_dir

    def location_errors(self) -> list[str]:
        if not self.session_dir.is_dir():
            return [f"upload session folder not found: {self.session_dir}"]
        return []

    def options_for(self, path: Path) -> IngestOptions:
        """The session's options, with the symbol given for this one file at upload time, if any."""
        entry = read_session_metadata(self.session_dir).get("files", {}).get(path.name, {})
        symbol = entry.get("symbol") if isinstance(entry, dict) else None
        options = super().options_for(path)
        return replace(options, symbol=symbol) if symbol else options

    def to_config(self) -> dict[str, Any]:
        return {**self._options_config(), "symbol": self.options.symbol}

    @classmethod
    def from_config(cls, source_id: str, config: dict[str, Any], settings: Settings) -> Self:
        return cls(
            source_id,
            tz=config.get("tz"),
            bar_label=config.get("bar_label"),
            symbol=config.get("symbol"),
            symbol_pattern=config.get("symbol_pattern"),
            layout=config.get("layout"),
            settings=settings,
        )
