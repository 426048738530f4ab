"""The hand-off between reading a file and validating it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from trading_pipeline.report import Finding

__all__ = ["ParsedFile"]


@dataclass
class ParsedFile:
    """Bars read from one file, standardised but not yet validated.

    ``table`` has the canonical columns (``datetime`` as UTC ``timestamp[ns, UTC]``, prices float64,
    optional ``volume`` and extras) **in file order**, plus a string ``symbol`` column when the file holds
    several symbols (or a symbol came from the file itself). ``row_numbers`` maps each table row to its
    1-based data row in the file when that is not simply ``1..n`` (e.g. after a multi-member archive).
    ``findings`` holds what the reader noticed: warnings (naive timestamps taken as UTC...) and errors
    (unparseable values, ragged rows...). Any error finding rejects the file. ``detected`` is what
    detection decided, in the shape of a layout (delimiter, columns, time format...).
    """

    table: pa.Table
    profile: str
    symbol: str | None = None
    findings: list[Finding] = field(default_factory=list)
    row_numbers: np.ndarray | None = None
    bar_label: str = "open"
    notes: dict[str, str] = field(default_factory=dict)
    detected: dict[str, Any] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)
