"""Reading a large Parquet file batch by batch (row groups), in bounded memory.

The counterpart of ``chunked.ChunkedText`` for Parquet: what the first batch decides (profile, column
plan, time format, an epoch unit) holds for the rest, row numbers count from the top of the file, and
the DST fall-back hour is resolved in file order across batches (``timeparse.Carry``). Each batch is
converted exactly as a whole read converts the file (``vendors.parquet.parse_parquet``), so the caller
(``bounded.check_in_chunks``) checks, sorts and stores it like the chunks of a text file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.chunked import ChunkedText, replace_symbol
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.reader import finish, resolve_layout
from trading_pipeline.ingest.sniff import detect_container
from trading_pipeline.ingest.timeparse import Carry
from trading_pipeline.ingest.vendors.parquet import (
    ParquetPlan,
    check_parquet_size,
    parse_parquet,
    plan_parquet,
)
from trading_pipeline.report import Finding
from trading_pipeline.safeio import open_regular
from trading_pipeline.validation.bars import SYMBOL

__all__ = ["ChunkedParquet", "batch_rows", "open_chunks", "parquet_bytes"]


def parquet_bytes(path: Path) -> int | None:
    """The decompressed size of a Parquet file's data (from its footer), or None for anything else."""
    try:
        if detect_container(path)[0] != "parquet":
            return None
        with open_regular(path) as handle:
            meta = pq.ParquetFile(handle).metadata
    except (IngestError, OSError, pa.ArrowException):
        return None  # the whole-file reader says precisely what is wrong
    return int(sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)))


def batch_rows(meta: pq.FileMetaData, chunk_bytes: int) -> int:
    """Rows per batch: ``chunk_bytes`` of the data as it is once decompressed."""
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return max(1, chunk_bytes // max(1, int(size) // max(1, int(meta.num_rows))))


def open_chunks(
    path: Path, options: IngestOptions, chunk_bytes: int, whole_allowed: bool
) -> ChunkedText | ChunkedParquet:
    """The chunk reader for ``path``: Parquet by batches of about ``chunk_bytes``, else text."""
    size = parquet_bytes(path)
    if size is None:
        return ChunkedText(path, options, chunk_bytes, whole_allowed)
    return ChunkedParquet(path, options, chunk_bytes)


@dataclass
class ChunkedParquet:
    """The batches of one Parquet file as ``ParsedFile`` s in file order."""

    path: Path
    options: IngestOptions
    chunk_bytes: int
    findings: list[Finding] = field(default_factory=list)
    rows_read: int = 0

    def __iter__(self) -> Iterator[ParsedFile]:
        path = self.path
        try:
            with open_regular(path) as handle:
                parquet = pq.ParquetFile(handle)
                yield from self._batches(parquet)
        except (FileNotFoundError, PermissionError):
            raise  # the caller classifies a vanished or unreadable file
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
            reason = f"the Parquet file is truncated or corrupt ({exc})"
            raise IngestError(path=str(path), reason=reason, check="parquet") from exc

    def _batches(self, parquet: pq.ParquetFile) -> Iterator[ParsedFile]:
        path, options = self.path, self.options
        meta = parquet.metadata
        check_parquet_size(meta, str(path))
        if meta.num_rows == 0:
            raise IngestError(path=str(path), reason="the Parquet file has no rows", check="non_empty")
        layout = resolve_layout(options)
        # The symbol column is kept whatever --symbol says; the caller applies --symbol at the end.
        symbol_free = replace(options, symbol=None)
        carry, planned = Carry(), None
        for batch in parquet.iter_batches(batch_size=batch_rows(meta, self.chunk_bytes)):
            table = pa.Table.from_batches([batch])
            planned = planned or plan_parquet(table, options, layout, path)
            first = self.rows_read + 1
            parsed = parse_parquet(table, planned, options, layout, path, first_row=first, carry=carry)
            planned = _decided(planned, parsed.notes)
            self.rows_read += table.num_rows
            if SYMBOL in parsed.table.column_names:
                yield finish(parsed, path, symbol_free, replace_symbol(layout))
            else:
                yield finish(parsed, path, options, layout)


def _decided(planned: ParquetPlan, notes: dict[str, str]) -> ParquetPlan:
    """The plan for the next batches, with what this batch's values decided fixed."""
    fmt = planned.time_format
    if fmt is not None and fmt.swapped and "date_format" in notes:
        return replace(planned, time_format=replace(fmt, fmt=notes["date_format"], swapped=None))
    if fmt is not None and fmt.kind == "epoch" and fmt.unit is None and "epoch_unit" in notes:
        return replace(planned, time_format=replace(fmt, unit=notes["epoch_unit"]))
    return planned
