"""The canonical bar schema, defined once and used everywhere.

``datetime`` is the bar's OPEN time as a UTC, tz-aware timestamp (ns); prices are float64; volume is
float64 (vendors mix integer and fractional volume, and float64 holds every integer below 2**53 exactly).
Optional columns are kept when a file has them. Daily bars (date-only inputs) sit at 00:00 UTC of their
session date and are never shifted by a timezone.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "BAR_COLUMNS",
    "OPTIONAL_COLUMNS",
    "PRICE_COLUMNS",
    "REQUIRED_COLUMNS",
    "TIMESTAMP_TYPE",
    "canonical_schema",
    "conform",
]

TIMESTAMP_TYPE = pa.timestamp("ns", tz="UTC")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
REQUIRED_COLUMNS: tuple[str, ...] = ("datetime", *PRICE_COLUMNS)
BAR_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, "volume")
OPTIONAL_COLUMNS: dict[str, pa.DataType] = {
    "trades": pa.int64(),
    "vwap": pa.float64(),
    "open_interest": pa.float64(),
    "quote_volume": pa.float64(),
    "taker_buy_volume": pa.float64(),
    "taker_buy_quote_volume": pa.float64(),
    "bid_volume": pa.float64(),
    "ask_volume": pa.float64(),
    "adj_close": pa.float64(),
}
_CORE_TYPES: dict[str, pa.DataType] = {
    "datetime": TIMESTAMP_TYPE,
    **dict.fromkeys(PRICE_COLUMNS, pa.float64()),
    "volume": pa.float64(),
}


def canonical_schema(extra: list[str] | None = None) -> pa.Schema:
    """The schema of stored bars; ``extra`` names optional columns present in this dataset."""
    fields = [pa.field(name, typ, nullable=(name == "volume")) for name, typ in _CORE_TYPES.items()]
    for name in extra or []:
        fields.append(pa.field(name, OPTIONAL_COLUMNS[name]))
    return pa.schema(fields)


def conform(table: pa.Table) -> pa.Table:
    """Order and cast columns to the canonical schema; drop anything not in it.

    A missing ``volume`` becomes a null column, so every stored file has the same core columns.
    """
    if "volume" not in table.column_names:
        table = table.append_column("volume", pa.nulls(table.num_rows, pa.float64()))
    extra = [name for name in OPTIONAL_COLUMNS if name in table.column_names]
    schema = canonical_schema(extra)
    columns = [table.column(f.name).cast(f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)
