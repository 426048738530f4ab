"""Sorting bars that do not fit in memory: spilled to a Parquet file, sorted by DuckDB under a memory
limit (it sorts in runs and merges them from disk), read back in batches.

The sort key is (symbol, time, file row): each symbol's bars come out together, in time order, and
bars with the same time in file order, so "the first of the duplicates" means the first in the file.
Times travel as int64 nanoseconds, which DuckDB sorts without touching their zone or precision.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trading_pipeline.schema import TIMESTAMP_TYPE

__all__ = ["BarWriter", "Spill"]

SYMBOL_KEY = "__symbol"
ROW_KEY = "__row"
BATCH_ROWS = 1 << 16
ROW_GROUP_ROWS = 1 << 20


class BarWriter:
    """One Parquet file written a chunk at a time, every chunk cast to the first one's schema (a column
    a later chunk lacks is stored as nulls there; one it adds is left out)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._closed = False
        self._schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._schema = table.schema
        assert self._schema is not None
        self._pending.append(_cast(table, self._schema))
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending and self._writer is not None:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=ROW_GROUP_ROWS)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        if self._closed:
            return
        self._flush()
        if self._writer is not None:
            self._writer.close()
        self._closed = True

    def discard(self) -> None:
        self._pending = []
        if self._writer is not None and not self._closed:
            self._writer.close()
        self._closed = True
        self.path.unlink(missing_ok=True)


def _cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    if table.schema.equals(schema):
        return table
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


class Spill:
    """Bars of every symbol in file order, on disk, until ``sorted`` reads them back in order."""

    def __init__(self, directory: Path, memory_mb: int) -> None:
        self.directory = directory
        self.memory_mb = memory_mb
        self._writer = BarWriter(directory / "spill.parquet.part")

    def write(self, symbol: str, table: pa.Table, rows: np.ndarray) -> None:
        index = table.column_names.index("datetime")
        table = table.set_column(index, "datetime", table.column("datetime").cast(pa.int64()))
        table = table.append_column(
            SYMBOL_KEY, pa.array(np.full(table.num_rows, symbol, dtype=object), pa.string())
        )
        self._writer.write(table.append_column(ROW_KEY, pa.array(rows, pa.int64())))

    def sorted(self) -> Iterator[tuple[str, pa.Table, np.ndarray, np.ndarray]]:
        """(symbol, bars, int64 times, file rows) in (symbol, time, row) order, a batch at a time."""
        self._writer.close()
        if not self._writer.path.exists():
            return
        import duckdb  # only a large unsorted or multi-symbol file needs it

        con = duckdb.connect(config={"memory_limit": f"{max(self.memory_mb * 2 // 5, 64)}MB"})
        con.execute("SET temp_directory = ?", [str(self.directory / "duckdb")])
        try:
            # Keep DuckDB's default insertion-order preservation: with it turned off, the batches of a
            # streamed ORDER BY result may arrive out of order.
            relation = con.read_parquet(str(self._writer.path)).order(f"{SYMBOL_KEY}, datetime, {ROW_KEY}")
            for batch in relation.to_arrow_reader(BATCH_ROWS):
                yield from _by_symbol(pa.Table.from_batches([batch]))
        finally:
            con.close()

    def close(self) -> None:
        self._writer.discard()


def _by_symbol(table: pa.Table) -> Iterator[tuple[str, pa.Table, np.ndarray, np.ndarray]]:
    symbols = table.column(SYMBOL_KEY).cast(pa.string())
    rows = np.asarray(table.column(ROW_KEY).to_numpy(), dtype=np.int64)
    ts = np.asarray(table.column("datetime").to_numpy(), dtype=np.int64)
    bars = table.drop_columns([SYMBOL_KEY, ROW_KEY])
    index = bars.column_names.index("datetime")
    bars = bars.set_column(index, "datetime", pa.array(ts, pa.int64()).view(TIMESTAMP_TYPE))
    changes = (
        np.flatnonzero(
            np.asarray(
                pc.not_equal(symbols.slice(1), symbols.slice(0, len(symbols) - 1)).to_numpy(
                    zero_copy_only=False
                )
            )
        )
        + 1
    )
    bounds = [0, *changes.tolist(), table.num_rows]
    for start, stop in pairwise(bounds):
        if stop > start:
            yield str(symbols[start]), bars.slice(start, stop - start), ts[start:stop], rows[start:stop]
