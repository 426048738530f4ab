"""Databento Binary Encoding (DBN) OHLCV files, plain or zstd-compressed.

The metadata header is decoded with ``databento_dbn`` (schema, symbol mappings); the records, which
for OHLCV schemas are fixed 56-byte structs, are viewed as a numpy structured array instead of being
decoded one Python object at a time.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyarrow as pa

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.sniff import read_head
from trading_pipeline.schema import TIMESTAMP_TYPE

__all__ = ["read_dbn"]

OHLCV_RTYPES = {32: "1s", 33: "1m", 34: "1h", 35: "1d", 36: "eod"}
RECORD = np.dtype(
    [
        ("length", "u1"),
        ("rtype", "u1"),
        ("publisher_id", "<u2"),
        ("instrument_id", "<u4"),
        ("ts_event", "<u8"),
        ("open", "<i8"),
        ("high", "<i8"),
        ("low", "<i8"),
        ("close", "<i8"),
        ("volume", "<u8"),
    ]
)
UNDEF_PRICE = np.iinfo(np.int64).max


def _content(path: Path, compression: str | None) -> bytes:
    return read_head(path, compression, size=-1)


def _metadata(data: bytes, path: Path) -> tuple[object, int]:
    if len(data) < 8 or not data.startswith(b"DBN"):
        raise IngestError(path=str(path), reason="not a DBN stream (no DBN header)", check="format")
    (length,) = struct.unpack_from("<I", data, 4)
    end = 8 + length
    import databento_dbn  # only when a DBN file turns up: reading a CSV never loads it

    decoder = databento_dbn.DBNDecoder()
    try:
        decoder.write(data[:end])
        decoded = decoder.decode()
    except Exception as exc:  # databento_dbn raises its own ValueError/DBNError types
        raise IngestError(
            path=str(path), reason=f"the DBN metadata is corrupt ({exc})", check="format"
        ) from exc
    if not decoded:
        raise IngestError(path=str(path), reason="the DBN metadata is truncated", check="compression")
    return decoded[0], end


def _symbol_map(meta: object) -> dict[int, str]:
    """instrument_id -> symbol from the metadata's mappings (raw symbol -> id intervals)."""
    out: dict[int, str] = {}
    mappings = getattr(meta, "mappings", {}) or {}
    for raw_symbol, intervals in mappings.items():
        for interval in intervals:
            value = str(interval.get("symbol", ""))
            if value.isdigit():
                out[int(value)] = str(raw_symbol)
    return out


def read_dbn(path: Path, compression: str | None, options: IngestOptions) -> ParsedFile:
    """OHLCV records as canonical bars; several instruments give a ``symbol`` column."""
    data = _content(path, compression)
    meta, start = _metadata(data, path)
    schema = str(getattr(meta, "schema", ""))
    body = memoryview(data)[start:]
    if len(body) % RECORD.itemsize:
        raise IngestError(
            path=str(path),
            reason=f"DBN schema {schema!r} records are not OHLCV bars, or the file is truncated",
            check="format" if not schema.startswith("ohlcv") else "compression",
        )
    records = np.frombuffer(body, dtype=RECORD)
    if records.size == 0:
        raise IngestError(path=str(path), reason="the DBN file holds no records", check="non_empty")
    if not np.all(np.isin(records["rtype"], list(OHLCV_RTYPES))) or not np.all(records["length"] == 14):
        raise IngestError(path=str(path), reason=f"DBN schema {schema!r} is not OHLCV bars", check="format")
    table = _table(records)
    ids = np.unique(records["instrument_id"])
    names = _symbol_map(meta)
    symbol = None
    if ids.size > 1:
        labels = np.array([names.get(int(i), str(i)) for i in records["instrument_id"]], dtype=object)
        table = table.append_column("symbol", pa.array(labels, pa.string()))
    else:
        symbol = names.get(int(ids[0])) or (list(getattr(meta, "symbols", []) or []) or [None])[0]
    rtype = OHLCV_RTYPES[int(records["rtype"][0])]
    return ParsedFile(
        table=table,
        profile="databento_dbn",
        symbol=symbol,
        bar_label=options.bar_label or "open",
        notes={
            "dataset": str(getattr(meta, "dataset", "")),
            "schema": schema,
            "interval": rtype,
            "tz": "UTC",
        },
    )


def _prices(values: np.ndarray) -> pa.Array:
    undefined = values == UNDEF_PRICE
    scaled = values.astype(np.float64) / 1e9
    return pa.array(scaled, pa.float64(), mask=undefined if undefined.any() else None)


def _table(records: np.ndarray) -> pa.Table:
    ts = pa.array(records["ts_event"].astype(np.int64), pa.int64()).view(TIMESTAMP_TYPE)
    columns = {"datetime": ts}
    for name in ("open", "high", "low", "close"):
        columns[name] = _prices(np.ascontiguousarray(records[name]))
    columns["volume"] = pa.array(records["volume"].astype(np.float64), pa.float64())
    return pa.table(columns)
