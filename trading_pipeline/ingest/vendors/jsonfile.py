"""JSON payloads saved from REST APIs: arrays of arrays (exchange klines), arrays of objects, rows wrapped
in an object (``{"results": [...]}``, ``{"data": {"candles": ...}}``), rows keyed by time (Alpha
Vantage), columns as parallel arrays (Yahoo chart, Finnhub), one object per line (NDJSON).

The rows are found by shape, not by a list of vendor keys: the largest table anywhere in the payload
wins. Around it, the payload may say the symbol and the time zone. An API *error* saved as a file has
no rows; it is refused with the payload's own message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.aliases import normalise_name
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.sniff import read_head
from trading_pipeline.ingest.tabular import Cells, read_cells
from trading_pipeline.ingest.textsniff import decode_head
from trading_pipeline.ingest.vendors.jsonshapes import Table, find_tables

__all__ = ["api_error", "read_json"]

MAX_JSON_BYTES = 512 << 20
"""A JSON document is parsed whole (about ten times its size in memory): API payloads are far smaller."""
ERROR_KEYS = ("errormessage", "error", "errors", "note", "information", "retmsg", "msg", "message", "detail")
SUCCESS_CODES = {None, 0, "0", 200, "200", "200000", "ok", "OK", "Success", "success"}
STATUS_KEYS = ("status", "s", "response", "code", "retcode")


def read_json(path: Path, compression: str | None, options: IngestOptions, layout: Layout) -> ParsedFile:
    """Bars from a JSON (or NDJSON) file."""
    data = read_head(path, compression, size=MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        reason = (
            f"the JSON payload is larger than {MAX_JSON_BYTES >> 20} MiB; JSON is parsed whole, "
            "so save bars this many as CSV or Parquet"
        )
        raise IngestError(path=str(path), reason=reason, check="format")
    text, _ = decode_head(data, path.name, layout.encoding)
    payload = _parse(text, str(path))
    tables = find_tables(payload, layout.rows)
    if not tables or max(t.rows for t in tables) == 0:
        check = "api_error" if api_error(payload) else "non_empty"
        raise IngestError(path=str(path), reason=_no_rows(payload, tables), check=check)
    best = max(tables, key=lambda t: (t.rows, -t.depth))
    return read_cells(_cells(best), path.name, str(path), options, layout, "json")


def _parse(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as whole:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) < 2:
            raise IngestError(path=path, reason=f"not valid JSON: {whole}", check="format") from whole
        rows = []
        for number, line in enumerate(lines, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                reason = f"not valid JSON (nor one JSON value per line): line {number}: {exc}"
                raise IngestError(path=path, reason=reason, check="format") from exc
        return rows


def _no_rows(payload: Any, tables: list[Table]) -> str:
    message = api_error(payload)
    if message:
        return f"the file is an API error response, not bars: {message}"
    empty = next((t for t in tables if t.rows == 0), None)
    if empty is not None:
        return f"the payload's `{empty.where or 'rows'}` list is empty: no bars"
    keys = ", ".join(list(payload)[:8]) if isinstance(payload, dict) else type(payload).__name__
    return f"the JSON holds no rows of bars (top-level: {keys})"


def api_error(payload: Any, depth: int = 0) -> str | None:
    """The message of an API error payload ('Invalid symbol. (code -1121)'), or None.

    Only asked about payloads without bars, so any message-like field counts.
    """
    if not isinstance(payload, dict) or depth > 2:
        return None
    keys = {normalise_name(k): k for k in payload}
    status_key = next((keys[k] for k in STATUS_KEYS if k in keys), None)
    status = payload[status_key] if status_key is not None else None
    failed = status not in SUCCESS_CODES and not isinstance(status, dict | list)
    for key in ERROR_KEYS:
        text = _message(payload[keys[key]]) if key in keys else ""
        if text:
            code = (
                f" ({status_key} {status})"
                if failed and status is not None and str(status) not in text
                else ""
            )
            return f"{text}{code}"
    if failed and status is not None and str(status):
        return f"{status_key} {status}"
    for value in payload.values():
        nested = api_error(value, depth + 1)
        if nested:
            return nested
    return None


def _message(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "; ".join(m for m in (_message(v) for v in value) if m)
    if isinstance(value, dict):
        for key in ("message", "msg", "description", "detail", "error"):
            if key in value:
                return _message(value[key])
    return ""


def _cells(table: Table) -> Cells:
    notes = {"rows_from": table.where or "(top level)"}
    if table.shape:
        notes["json_shape"] = table.shape
    return Cells(
        table.names, table.columns, symbol=table.symbol, zone=table.zone, notes=notes, profile=table.profile
    )
