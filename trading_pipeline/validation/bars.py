"""Preparing parsed bars for validation and storage: one table per symbol, close labels to open times.

Both steps live beside validation because they decide *which* bars are validated together (a
multi-symbol file is several datasets, each checked on its own) and *when* a bar is (the canonical time is
the bar's open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.report import Finding
from trading_pipeline.validation.blocks import materialize, rows_at
from trading_pipeline.validation.interval import DAY_NS, format_interval, format_timestamp

__all__ = [
    "BAR_LABEL",
    "SYMBOL",
    "SymbolBars",
    "is_safe_symbol",
    "shift_to_open",
    "split_by_symbol",
    "utc_datetime",
]

SYMBOL = "symbol"
SAFE_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""Symbols become folder names in the store (the rule of ``trading_pipeline.names.safe_symbol``)."""
BAR_LABEL = "bar_label"


@dataclass
class SymbolBars:
    """The bars of one symbol in file order, with their 1-based file row numbers (None: 1..n)."""

    symbol: str
    table: pa.Table
    rows: np.ndarray | None


def split_by_symbol(
    table: pa.Table, rows: np.ndarray | None, default: str | None, forced: str | None
) -> tuple[list[SymbolBars], list[Finding]]:
    """One dataset per symbol: from a ``symbol`` column when there is one, else ``forced``/``default``.

    ``forced`` (the --symbol option) renames a single-symbol file; with several symbols in the file it is
    an error, because applying one name to several instruments would merge them.
    """
    if SYMBOL not in table.column_names:
        name = forced or default
        if not name:
            return [], [_no_symbol()]
        return [SymbolBars(name, table, rows)], []
    column = table.column(SYMBOL)
    if column.null_count:
        missing = np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
        return [], [
            Finding.at_rows(
                SYMBOL,
                "symbol missing",
                rows_at(rows, np.flatnonzero(missing)),
                hint="Fill the symbol column",
            )
        ]
    table = table.drop_columns([SYMBOL])
    encoded = pc.dictionary_encode(column).combine_chunks()
    names = [str(s) for s in encoded.dictionary.to_pylist()]
    if len(names) == 1:
        return [SymbolBars(forced or names[0], table, rows)], []
    if forced:
        held = ", ".join(sorted(names))
        what = f"--symbol {forced} given, but the file holds {len(names)} symbols ({held})"
        return [], [Finding.at_rows(SYMBOL, what, (), hint="Leave out --symbol to store each symbol")]
    codes = encoded.indices.to_numpy()
    order = np.argsort(codes, kind="stable")  # each symbol's rows stay in file order
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    rows = materialize(rows, table.num_rows)
    parts = []
    for code, name in sorted(enumerate(names), key=lambda item: item[1]):
        take = order[bounds[code] : bounds[code + 1]]
        parts.append(SymbolBars(name, table.take(take), rows[take]))
    return parts, []


def _no_symbol() -> Finding:
    what = "no symbol: the file has no symbol column and its name does not say which instrument it holds"
    return Finding.at_rows(SYMBOL, what, (), hint="Pass --symbol")


def shift_to_open(table: pa.Table, interval_ns: int | None) -> tuple[pa.Table, Finding]:
    """Move close-labelled bars back one interval so ``datetime`` is the bar's open time.

    Daily and longer bars are labelled by their session date whichever convention the vendor uses, so
    they are not moved; without an interval (a single bar) there is nothing safe to do: an error.
    """
    if not interval_ns:
        what = "close-labelled bars cannot be moved to their open: with one bar the interval is unknown"
        return table, Finding.at_rows(BAR_LABEL, what, (), hint="Leave out --bar-label close")
    spelled = format_interval(interval_ns)
    if interval_ns >= DAY_NS:
        what = f"bars are labelled by their close, but {spelled} bars keep their session date; not moved"
        return table, Finding(BAR_LABEL, what, "warning")
    position = table.column_names.index("datetime")
    shifted = pc.subtract(table.column("datetime"), pa.scalar(interval_ns, pa.duration("ns")))
    table = table.set_column(position, "datetime", shifted.cast(table.schema.field("datetime").type))
    first = format_timestamp(int(pc.min(shifted).cast(pa.int64()).as_py()))
    what = (
        f"bars are labelled by their close: moved back one interval ({spelled}) to their open time; "
        f"first bar now {first}"
    )
    return table, Finding(BAR_LABEL, what, "warning")


def is_safe_symbol(symbol: str) -> bool:
    return SAFE_SYMBOL.fullmatch(symbol) is not None


def utc_datetime(ns: int) -> datetime:
    """An exact aware datetime (to the microsecond) from int64 ns since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
