"""Validation of canonical bars: structure, values, order, duplicates, interval and gaps.

Each check has a stable name (the ``check`` of its findings); docs/validation.md lists them with their
severity and how to fix what they find.
"""

from __future__ import annotations

from trading_pipeline.validation.core import (
    COLUMNS,
    NON_EMPTY,
    NUMBERS,
    TIMESTAMPS,
    ValidationResult,
    validate_bars,
)
from trading_pipeline.validation.gaps import GAPS
from trading_pipeline.validation.interval import (
    format_duration,
    format_interval,
    format_timestamp,
    infer_interval_ns,
)
from trading_pipeline.validation.order import CONFLICTING_DUPLICATES, DUPLICATE_ROWS, UNSORTED
from trading_pipeline.validation.plausible import ONE_ROW, TIME_RANGE, ZERO_VOLUME_MOVES
from trading_pipeline.validation.values import MISSING_PRICES, NON_NEGATIVE_VOLUME, OHLC, POSITIVE_PRICES

__all__ = [
    "COLUMNS",
    "CONFLICTING_DUPLICATES",
    "DUPLICATE_ROWS",
    "GAPS",
    "MISSING_PRICES",
    "NON_EMPTY",
    "NON_NEGATIVE_VOLUME",
    "NUMBERS",
    "OHLC",
    "ONE_ROW",
    "POSITIVE_PRICES",
    "TIMESTAMPS",
    "TIME_RANGE",
    "UNSORTED",
    "ZERO_VOLUME_MOVES",
    "ValidationResult",
    "format_duration",
    "format_interval",
    "format_timestamp",
    "infer_interval_ns",
    "validate_bars",
]
