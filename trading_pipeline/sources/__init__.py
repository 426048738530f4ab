"""Data sources: where canonical bars come from, shared by every process through the data folder.

``DataSource`` is the strategy (folder, upload session, PostgreSQL table...), ``DataSourceRepository``
the persistent registry, ``SessionManager`` the upload sessions and ``PipelineDataLoader`` what the
research pipeline calls. See docs/sources.md.
"""

from __future__ import annotations

from trading_pipeline.names import candidate_files, is_ignored_name, safe_filename, safe_symbol
from trading_pipeline.sources.base import DataSource, DataSourceMetadata, InputFile, SymbolInfo
from trading_pipeline.sources.database_source import DatabaseDataSource
from trading_pipeline.sources.file_source import DEFAULT_SOURCE_ID, FileDataSource
from trading_pipeline.sources.loader import PipelineDataLoader
from trading_pipeline.sources.merge import merge_bars
from trading_pipeline.sources.repository import DataSourceRepository, RemovedSource
from trading_pipeline.sources.sessions import SessionManager, new_session_id
from trading_pipeline.sources.stored import StoredDataSource, SymbolNotFoundError, source_options
from trading_pipeline.sources.types import SOURCE_TYPES, build_source
from trading_pipeline.sources.upload_source import UploadDataSource

__all__ = [
    "DEFAULT_SOURCE_ID",
    "SOURCE_TYPES",
    "DataSource",
    "DataSourceMetadata",
    "DataSourceRepository",
    "DatabaseDataSource",
    "FileDataSource",
    "InputFile",
    "PipelineDataLoader",
    "RemovedSource",
    "SessionManager",
    "StoredDataSource",
    "SymbolInfo",
    "SymbolNotFoundError",
    "UploadDataSource",
    "build_source",
    "candidate_files",
    "is_ignored_name",
    "merge_bars",
    "new_session_id",
    "safe_filename",
    "safe_symbol",
    "source_options",
]
