"""The research pipeline's door to the data: bars of a symbol from a chosen source.

Replaces the hard-coded ``SYMBOLS = ['MES', 'MGC']``: symbols and the source are chosen at run time, and
with no choice the loader reads the repository's active source, which is ``default`` (``data/raw``)
until someone activates another one, so existing workflows keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property

import pandas as pd

from trading_pipeline.errors import SourceError
from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import DataSource, InputFile
from trading_pipeline.sources.repository import DataSourceRepository
from trading_pipeline.sources.stored import SymbolNotFoundError

__all__ = ["PipelineDataLoader"]


class PipelineDataLoader:
    """Loads canonical bars for the pipeline from one source, fixed when the loader is made.

    ``source_id=None`` means the repository's active source *at construction*, so a run keeps reading
    the same source even if someone activates another one while it runs.
    """

    def __init__(
        self,
        repository: DataSourceRepository | None = None,
        *,
        settings: Settings | None = None,
        source_id: str | None = None,
    ) -> None:
        self.repository = repository or DataSourceRepository(settings)
        self.settings = self.repository.settings
        self.source_id = source_id or self.repository.active_source_id()
        self.source  # noqa: B018 - fail now with SourceNotFoundError, not at the first load

    @cached_property
    def source(self) -> DataSource:
        return self.repository.get_source(self.source_id)

    def load_symbol_data(self, symbol: str) -> pd.DataFrame:
        """Canonical bars of ``symbol``: UTC ``datetime``, open, high, low, close, volume (+ optional)."""
        return self.source.load_symbol(symbol)

    def load_with_lineage(self, symbol: str) -> tuple[pd.DataFrame, list[InputFile]]:
        """Bars plus the ``(path, sha256)`` of exactly the ingested files they were read from."""
        return self.source.load_with_lineage(symbol)

    def batches_with_lineage(
        self, symbol: str, batch_rows: int
    ) -> tuple[Iterator[pd.DataFrame], list[InputFile]] | None:
        """Bars in time-ordered batches, or None when the source must read them whole."""
        return self.source.batches_with_lineage(symbol, batch_rows)

    def input_files(self, symbol: str) -> list[InputFile]:
        """``(path, sha256)`` of the ingested files currently feeding ``symbol`` (for run.json)."""
        return self.source.input_files(symbol)

    def get_available_symbols(self) -> list[str]:
        return self.source.get_available_symbols()

    def resolve_symbols(self, symbols: Sequence[str] | None = None) -> list[str]:
        """The symbols to run: all available when none are given; unknown ones fail with the list."""
        available = self.get_available_symbols()
        if not symbols:
            return available
        missing = [s for s in symbols if s not in available]
        if missing:
            raise SymbolNotFoundError(
                symbol=", ".join(missing),
                source_id=self.source_id,
                available=", ".join(available) or "none yet",
            )
        return list(symbols)

    def validate_source(self) -> bool:
        """True, or ``SourceError`` listing what is wrong (so the CLI prints it, not a traceback)."""
        ok, errors = self.source.validate()
        if not ok:
            raise SourceError(f"data source {self.source_id!r} failed validation: {'; '.join(errors)}")
        return True
