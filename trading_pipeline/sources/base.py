"""The data-source strategy: what every kind of source (folder, upload session, database) offers.

A source answers five questions: what it holds (``get_metadata``), which symbols
(``get_available_symbols``), the canonical bars of one symbol (``load_symbol``), whether it is usable
(``validate``) and a quick look (``preview``). Sources are persisted by the repository as
``(source_type, to_config())`` rows, so every process (CLI, daemon, workers, UI) rebuilds the same
object from disk with ``from_config``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import pandas as pd

from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings

__all__ = ["DataSource", "DataSourceMetadata", "InputFile", "SymbolInfo"]


class InputFile(NamedTuple):
    """One ingested input file that feeds a symbol: the lineage a run records."""

    path: str
    sha256: str


@dataclass(frozen=True)
class SymbolInfo:
    """Per-symbol extent, read from the ledger; ``rows`` counts stored bars before overlaps merge."""

    rows: int
    start: str | None
    end: str | None
    files: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "start": self.start, "end": self.end, "files": self.files}


@dataclass
class DataSourceMetadata:
    """What a source holds: its type, symbols, date range, rows and size, plus per-symbol extents and
    ingest progress."""

    source_id: str
    source_type: str
    symbols: list[str]
    date_range: tuple[str, str] | None
    row_count: int
    file_size_mb: float
    created_at: datetime | None
    columns: list[str]
    validated: bool
    validation_errors: list[str]
    symbol_info: dict[str, SymbolInfo] = field(default_factory=dict)
    location: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    file_count: int = 0
    pending_files: int = 0
    warnings: list[str] = field(default_factory=list)
    """``path: first warning (+N more)`` of each file whose current version holds warnings, and of
    files never read (ignored, vanished): doubts every view shows next to the errors."""

    def to_json(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "source_type": self.source_type,
            "location": self.location,
            "symbols": self.symbols,
            "date_range": list(self.date_range) if self.date_range else None,
            "row_count": self.row_count,
            "file_size_mb": round(self.file_size_mb, 3),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "columns": self.columns,
            "validated": self.validated,
            "validation_errors": self.validation_errors,
            "symbol_info": {sym: info.to_json() for sym, info in self.symbol_info.items()},
            "options": self.options,
            "file_count": self.file_count,
            "pending_files": self.pending_files,
            "warnings": self.warnings,
        }


class DataSource(ABC):
    """A pluggable source of canonical bars (strategy pattern).

    Subclasses set ``source_type``, implement the five methods above and ``to_config``/``from_config``,
    and are listed in ``trading_pipeline.sources.types.SOURCE_TYPES`` so every process can rebuild them.
    """

    source_type: ClassVar[str] = "abstract"

    def __init__(self, source_id: str, *, settings: Settings | None = None) -> None:
        self.source_id = source_id
        self._settings = settings
        self.created_at: datetime | None = None

    # --- binding and persistence --------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The bound settings, else the process environment (so a bare Pattern-4 source still works)."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    def bind(self, settings: Settings) -> None:
        """Point the source at the repository's data folder; the repository calls this on register."""
        self._settings = settings

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """JSON-friendly constructor arguments (never secrets) stored in the repository."""

    @classmethod
    @abstractmethod
    def from_config(cls, source_id: str, config: dict[str, Any], settings: Settings) -> Self:
        """Rebuild the source from ``to_config()`` output."""

    # --- the five questions every source answers --------------------------------------------
    @abstractmethod
    def get_metadata(self) -> DataSourceMetadata:
        """What the source holds; must be cheap (no reading of bar data)."""

    @abstractmethod
    def load_symbol(self, symbol: str) -> pd.DataFrame:
        """Canonical bars of ``symbol`` in time order: UTC ``datetime``, open, high, low, close, volume..."""

    @abstractmethod
    def get_available_symbols(self) -> list[str]:
        """Symbols this source can load."""

    @abstractmethod
    def validate(self) -> tuple[bool, list[str]]:
        """``(is_valid, errors)``: the repository refuses to register a source that is not valid."""

    @abstractmethod
    def preview(self, symbol: str, n_rows: int = 10) -> pd.DataFrame:
        """The first ``n_rows`` canonical bars of ``symbol``."""

    # --- optional capabilities ----------------------------------------------------------------
    def input_files(self, symbol: str) -> list[InputFile]:
        """Files feeding ``symbol`` (lineage); sources without files return an empty list."""
        return []

    def load_with_lineage(self, symbol: str) -> tuple[pd.DataFrame, list[InputFile]]:
        """Bars and the inputs they came from, read consistently."""
        return self.load_symbol(symbol), self.input_files(symbol)

    def batches_with_lineage(
        self, symbol: str, batch_rows: int
    ) -> tuple[Iterator[pd.DataFrame], list[InputFile]] | None:
        """Bars in time order as frames of at most ``batch_rows`` rows, and their inputs; None when the
        source cannot give them without reading them whole (then ``load_with_lineage`` is used)."""
        return None

    def watch_directory(self) -> Path | None:
        """The folder the daemon watches for this source's new files, if it has one."""
        return None

    def ingest_options(self) -> IngestOptions:
        """How ingest reads this source's files (timezone, bar label, symbol rule)."""
        return IngestOptions(source_id=self.source_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source_id={self.source_id!r})"
