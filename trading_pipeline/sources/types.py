"""The one table of source types: how a stored ``(source_type, config)`` row becomes a DataSource.

Chosen in one place from an explicit dict (no import-time registration), so every process that reads
the repository rebuilds exactly the same kinds of source. Adding a type is adding a row here.
"""

from __future__ import annotations

from typing import Any

from trading_pipeline.errors import SourceError
from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import DataSource
from trading_pipeline.sources.database_source import DatabaseDataSource
from trading_pipeline.sources.file_source import FileDataSource
from trading_pipeline.sources.upload_source import UploadDataSource

__all__ = ["SOURCE_TYPES", "build_source"]

SOURCE_TYPES: dict[str, type[DataSource]] = {
    FileDataSource.source_type: FileDataSource,
    UploadDataSource.source_type: UploadDataSource,
    DatabaseDataSource.source_type: DatabaseDataSource,
}


def build_source(source_id: str, source_type: str, config: dict[str, Any], settings: Settings) -> DataSource:
    """Rebuild a stored source; an unknown type is a clear error, not a KeyError deep in a worker."""
    cls = SOURCE_TYPES.get(source_type)
    if cls is None:
        known = ", ".join(sorted(SOURCE_TYPES))
        raise SourceError(f"source {source_id!r} has type {source_type!r}, unknown here (known: {known})")
    return cls.from_config(source_id, config, settings)
