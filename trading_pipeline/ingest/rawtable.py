"""The hand-over from every container reader to ``standardise``: columns by role, still in file units."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.numbers import NumberFormat
from trading_pipeline.ingest.timeformats import TimeFormat
from trading_pipeline.ingest.timeparse import Carry
from trading_pipeline.report import Finding

__all__ = ["RawTable", "guard_read"]


@dataclass
class RawTable:
    """Columns by role, still in file units (naive times, unscaled prices), plus what went wrong.

    ``row_numbers`` are the 1-based data rows of the file for each table row (None: simply 1..n);
    ``zone`` is a time zone the data itself declares (a JSON payload's metadata); ``symbol`` likewise.
    """

    columns: dict[str, pa.Array | pa.ChunkedArray]
    time_format: TimeFormat | None
    findings: list[Finding] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    row_numbers: np.ndarray | None = None
    numbers: NumberFormat = field(default_factory=NumberFormat)
    zone: str | None = None
    symbol: str | None = None
    notes: dict[str, str] = field(default_factory=dict)
    total_rows: int = 0
    """Data rows the text held, read or not (ragged rows too): where the next chunk's rows start."""
    junk: list[str] = field(default_factory=list)
    carry: Carry | None = None
    """What a chunked read carries from chunk to chunk (None: the whole file at once)."""

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def rows(self, mask: np.ndarray) -> np.ndarray:
        """1-based data-row numbers of the True entries."""
        idx = np.flatnonzero(mask)
        return self.row_numbers[idx] if self.row_numbers is not None else idx + 1

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is True (row numbers follow)."""
        numbers = self.row_numbers if self.row_numbers is not None else np.arange(1, mask.size + 1)
        selector = pa.array(mask)
        self.columns = {k: v.filter(selector) for k, v in self.columns.items()}
        self.row_numbers = numbers[mask]


def guard_read(path: str, read: Callable[[], pa.Table]) -> pa.Table:
    """Turn pyarrow's I/O and parse failures into IngestErrors with a readable reason."""
    try:
        table = read()
    except UnicodeDecodeError as exc:  # a Python codec (cp1252, utf-16) met bytes it cannot decode
        raise pa.ArrowInvalid(f"cannot decode the text: {exc}") from exc
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if (
            "conversion error" in text.lower()
            or "In CSV column" in text
            or "UTF8" in text
            or "decode" in text
        ):
            raise  # the caller retries with strings or another encoding
        raise IngestError(path=path, reason=f"cannot parse the text table: {text}", check="format") from exc
    except OSError as exc:
        text = str(exc)
        if "compress" in text.lower() or "truncated" in text.lower() or "inflate" in text.lower():
            raise IngestError(
                path=path,
                reason=f"the compressed data is truncated or corrupt ({text}); copy or download it again",
                check="compression",
            ) from exc
        raise IngestError(path=path, reason=f"cannot read the file: {text}", check="readable") from exc
    assert isinstance(table, pa.Table)
    return table
