"""trading-pipeline core: settings, bar schema, ingest, validation, store and ledger, sources, stages.

The process packages (``daemon``, ``workers``, ``ui``) import from here, not from deep modules. Data
sources (``trading_pipeline.sources``) and the research stages (``trading_pipeline.stages``) are
subpackages with their own public API; they are not re-exported here because they load pandas, which
ingest never needs.
"""

from __future__ import annotations

from trading_pipeline.errors import (
    ConfigError,
    ConflictingBarsError,
    IngestError,
    PipelineError,
    QueueUnavailableError,
    RunError,
    SourceError,
    SourceExistsError,
    SourceNotFoundError,
    StageError,
    StoreError,
    UnsafeNameError,
    UsageError,
)
from trading_pipeline.ingest import ParsedFile, read_file
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.report import FileReport, Finding, SymbolResult
from trading_pipeline.settings import Settings, get_settings
from trading_pipeline.store import BarStore

__all__ = [
    "BarStore",
    "ConfigError",
    "ConflictingBarsError",
    "DataIngestor",
    "FileRecord",
    "FileReport",
    "Finding",
    "IngestError",
    "IngestOptions",
    "Ledger",
    "ParsedFile",
    "PipelineError",
    "QueueUnavailableError",
    "RunError",
    "Settings",
    "SourceError",
    "SourceExistsError",
    "SourceNotFoundError",
    "StageError",
    "StoreError",
    "SymbolResult",
    "UnsafeNameError",
    "UsageError",
    "get_settings",
    "read_file",
]
