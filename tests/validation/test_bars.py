"""Preparing bars: one dataset per symbol, close-labelled bars moved to their open time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from trading_pipeline.schema import TIMESTAMP_TYPE
from trading_pipeline.validation.bars import shift_to_open, split_by_symbol

MINUTE_NS = 60 * 10**9


def bars(times_min: list[int], symbols: list[str | None] | None = None) -> pa.Table:
    n = len(times_min)
    columns = {
        "datetime": pa.array([t * MINUTE_NS for t in times_min], pa.int64()).cast(TIMESTAMP_TYPE),
        "open": [1.0] * n,
        "high": [2.0] * n,
        "low": [0.5] * n,
        "close": [1.5] * n,
    }
    if symbols is not None:
        columns["symbol"] = pa.array(symbols, pa.string())
    return pa.table(columns)


def test_symbol_column_splits_into_datasets_with_file_rows() -> None:
    """Each symbol keeps its rows in file order and their file row numbers."""
    parts, findings = split_by_symbol(bars([0, 0, 1, 1], ["NQ", "ES", "NQ", "ES"]), None, None, None)
    assert findings == []
    assert [(p.symbol, list(p.rows if p.rows is not None else [])) for p in parts] == [
        ("ES", [2, 4]),
        ("NQ", [1, 3]),
    ]
    assert "symbol" not in parts[0].table.column_names


def test_without_a_symbol_column_the_given_symbol_is_used() -> None:
    """No symbol column: --symbol wins over the file-name symbol."""
    parts, _ = split_by_symbol(bars([0, 1]), None, "FROMNAME", "FORCED")
    assert [p.symbol for p in parts] == ["FORCED"]


def test_no_symbol_at_all_is_an_error() -> None:
    """Without a column, an option or a name, the file cannot be stored: a symbol error."""
    parts, findings = split_by_symbol(bars([0, 1]), None, None, None)
    assert parts == []
    assert findings[0].check == "symbol" and "Pass --symbol" in findings[0].message


def test_missing_symbols_are_errors_with_rows() -> None:
    """Rows without a symbol are named."""
    _, findings = split_by_symbol(bars([0, 1, 2], ["ES", None, "ES"]), np.array([5, 6, 7]), None, None)
    assert findings[0].rows == (6,)


def test_forcing_one_symbol_onto_several_is_an_error() -> None:
    """--symbol cannot rename a file that holds several instruments."""
    _, findings = split_by_symbol(bars([0, 0], ["ES", "NQ"]), None, None, "ES")
    assert "holds 2 symbols (ES, NQ)" in findings[0].message


def test_shift_moves_bars_back_one_interval() -> None:
    """Close-labelled 5-minute bars are stored 5 minutes earlier, with a warning saying so."""
    table, finding = shift_to_open(bars([5, 10, 15]), 5 * MINUTE_NS)
    assert table.column("datetime").cast(pa.int64()).to_pylist() == [0, 5 * MINUTE_NS, 10 * MINUTE_NS]
    assert finding.severity == "warning" and "(5min)" in finding.message
    assert table.schema.field("datetime").type == TIMESTAMP_TYPE


def test_shift_without_an_interval_is_an_error() -> None:
    """A single close-labelled bar cannot be moved safely."""
    _, finding = shift_to_open(bars([5]), None)
    assert finding.severity == "error"
