"""Where the `load` stage gets bars and lineage: the data sources' ``PipelineDataLoader``.

The stages depend only on the small ``BarLoader`` protocol (bars of a symbol together with the input
files they came from, and the symbols on offer), so tests can pass a fake and a new kind of source
needs no change here.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from trading_pipeline.errors import SourceError, UsageError
from trading_pipeline.settings import Settings
from trading_pipeline.sources import InputFile, PipelineDataLoader

__all__ = ["BarLoader", "InputFile", "open_loader"]


class BarLoader(Protocol):
    source_id: str

    def load_with_lineage(self, symbol: str) -> tuple[pd.DataFrame, list[InputFile]]: ...

    def get_available_symbols(self) -> list[str]: ...


def open_loader(settings: Settings, source_id: str, *, continuous: bool = False) -> BarLoader:
    """The loader of ``source_id``; an unknown source is a usage error naming it. ``continuous``: the
    continuous futures series built from that source (symbols are roots)."""
    if continuous:
        from trading_pipeline.futures.service import ContinuousLoader

        return ContinuousLoader(settings, source_id)
    try:
        return PipelineDataLoader(settings=settings, source_id=source_id)
    except SourceError as exc:
        raise UsageError(exc.message) from exc
