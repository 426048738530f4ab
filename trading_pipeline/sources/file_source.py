"""A folder of bar files: ``data/raw`` (the ``default`` source) or any directory added with add-dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

from trading_pipeline.settings import Settings
from trading_pipeline.sources.stored import StoredDataSource, source_options

__all__ = ["DEFAULT_SOURCE_ID", "FileDataSource"]

DEFAULT_SOURCE_ID = "default"


class FileDataSource(StoredDataSource):
    """Bars of the files in one directory (recursively), as stored by ingest under this source's id.

    ``tz``, ``bar_label``, ``symbol_pattern`` (a regex with a ``(?P<symbol>...)`` group matched
    against file names) and ``layout`` (a declared layout's JSON) are applied by ingest to every file of
    this folder; a ``layout.toml`` inside the folder wins for the files beside and below it. A glob such
    as ``*.csv`` is not accepted as ``symbol_pattern``: ingest detects the format, so every file is
    considered.
    """

    source_type = "file"

    def __init__(
        self,
        source_id: str = DEFAULT_SOURCE_ID,
        raw_data_dir: str | os.PathLike[str] | None = None,
        *,
        tz: str | None = None,
        bar_label: str | None = None,
        symbol_pattern: str | None = None,
        layout: dict[str, Any] | None = None,
        layout_path: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        options = source_options(
            source_id,
            tz=tz,
            bar_label=bar_label,
            symbol_pattern=symbol_pattern,
            layout=layout,
            layout_path=layout_path,
        )
        super().__init__(source_id, options=options, settings=settings)
        self._raw_data_dir = Path(raw_data_dir).expanduser().resolve() if raw_data_dir is not None else None

    @property
    def raw_data_dir(self) -> Path:
        """The folder; the default source follows the settings so a moved data folder keeps working."""
        if self._raw_data_dir is None:
            return self.settings.raw_dir
        return self._raw_data_dir

    def watch_directory(self) -> Path:
        return self.raw_data_dir

    def location_errors(self) -> list[str]:
        folder = self.raw_data_dir
        if not folder.exists():
            return [f"directory not found: {folder}"]
        if not folder.is_dir():
            return [f"not a directory: {folder}"]
        if not os.access(folder, os.R_OK | os.X_OK):
            return [f"directory not readable: {folder}"]
        return []

    def to_config(self) -> dict[str, Any]:
        folder = None if self._raw_data_dir is None else str(self._raw_data_dir)
        return {"raw_data_dir": folder, **self._options_config()}

    @classmethod
    def from_config(cls, source_id: str, config: dict[str, Any], settings: Settings) -> Self:
        folder = config.get("raw_data_dir")
        if source_id == DEFAULT_SOURCE_ID:
            folder = None
        return cls(
            source_id,
            folder,
            tz=config.get("tz"),
            bar_label=config.get("bar_label"),
            symbol_pattern=config.get("symbol_pattern"),
            layout=config.get("layout"),
            layout_path=config.get("layout_path"),
            settings=settings,
        )
