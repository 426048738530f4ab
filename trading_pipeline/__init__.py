"""trading-pipeline core: settings, bar schema, ingest, validation, store and ledger, sources, stages.

The other packages import from here, not from deep modules. Exports are lazy: importing the package
loads nothing, and each name loads only its own module when first used (the CLI starts fast). Data
sources (``trading_pipeline.sources``) and the research stages (``trading_pipeline.stages``) are
subpackages with their own public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_pipeline.lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "ConfigError": "trading_pipeline.errors",
    "ConflictingBarsError": "trading_pipeline.errors",
    "IngestError": "trading_pipeline.errors",
    "PipelineError": "trading_pipeline.errors",
    "QueueUnavailableError": "trading_pipeline.errors",
    "RunError": "trading_pipeline.errors",
    "SourceError": "trading_pipeline.errors",
    "SourceExistsError": "trading_pipeline.errors",
    "SourceNotFoundError": "trading_pipeline.errors",
    "StageError": "trading_pipeline.errors",
    "StoreError": "trading_pipeline.errors",
    "UnsafeNameError": "trading_pipeline.errors",
    "UsageError": "trading_pipeline.errors",
    "ParsedFile": "trading_pipeline.ingest",
    "read_file": "trading_pipeline.ingest",
    "DataIngestor": "trading_pipeline.ingest.ingestor",
    "IngestOptions": "trading_pipeline.ingest.options",
    "FileRecord": "trading_pipeline.ledger",
    "Ledger": "trading_pipeline.ledger",
    "FileReport": "trading_pipeline.report",
    "Finding": "trading_pipeline.report",
    "SymbolResult": "trading_pipeline.report",
    "Settings": "trading_pipeline.settings",
    "get_settings": "trading_pipeline.settings",
    "BarStore": "trading_pipeline.store",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
