"""Finding tables of bars inside a parsed JSON payload, whatever wraps them.

Shapes recognised anywhere in the payload (depth-first, a few levels deep):
* a list of lists (``[[t, o, h, l, c, v], ...]``), optionally with a header row of names;
* a list of objects (``[{"t": ..., "o": ...}]``), nested objects flattened (Databento's ``hd``);
* an object keyed by time whose values are objects (Alpha Vantage, pandas ``orient="index"``);
* parallel arrays of equal length (Yahoo's chart, Finnhub, pandas ``orient="list"``/``"columns"``);
* an object keyed by symbol whose values are lists of objects (Alpaca's multi-symbol bars);
* pandas ``orient="split"`` (``columns`` + ``index`` + ``data``).
Metadata on the way down (``symbol``/``ticker``, a ``timezone``) is kept with the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trading_pipeline.ingest.aliases import is_known_name, normalise_name
from trading_pipeline.ingest.textsniff import looks_like_data

__all__ = ["Table", "find_tables"]

MAX_DEPTH = 6
SYMBOL_KEYS = frozenset({"symbol", "ticker", "instrument", "instid", "productid", "pair"})
ZONE_KEYS = frozenset({"timezone", "tz", "exchangetimezonename", "exchangetimezone", "timezonename"})
META_KEYS = frozenset({"meta", "metadata", "info"})
GENERIC = frozenset(
    {
        "data", "result", "results", "list", "candles", "candle", "bars", "klines", "kline", "items",
        "values", "rows", "records", "ohlc", "ohlcv", "history", "historical", "prices", "quotes",
        "series", "chart", "day", "days", "response", "payload", "body",
    }
)  # fmt: skip
_TICKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:/_-]{0,23}$")
SCALARS = (str, int, float, bool, type(None))


@dataclass
class Table:
    """One table found in the payload, column-major."""

    names: list[str] | None
    columns: list[list[Any]]
    rows: int
    depth: int
    where: str
    shape: str = ""
    symbol: str | None = None
    zone: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class _Meta:
    symbol: str | None = None
    zone: str | None = None
    key_symbol: str | None = None

    def read(self, node: dict[str, Any]) -> _Meta:
        symbol, zone = self.symbol, self.zone
        sources = [
            node,
            *(v for k, v in node.items() if normalise_name(k) in META_KEYS and isinstance(v, dict)),
        ]
        for source in sources:
            for key, value in source.items():
                name = normalise_name(key)
                if isinstance(value, str) and value.strip():
                    if name in SYMBOL_KEYS:
                        symbol = value.strip()
                    elif name in ZONE_KEYS and _is_zone(value.strip()):
                        zone = value.strip()
        return replace(self, symbol=symbol, zone=zone)


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def find_tables(payload: Any, rows_path: str | None = None) -> list[Table]:
    """Every table in the payload (a layout's ``rows`` names the path, e.g. ``data.candles``)."""
    found: list[Table] = []
    meta = _Meta()
    node = payload
    if rows_path:
        for part in rows_path.split("."):
            if isinstance(node, dict):
                meta = meta.read(node)
                node = node.get(part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
        if node is None:
            return []
    _walk(node, [], 0, meta, found, payload)
    return found


def _walk(node: Any, path: list[str], depth: int, meta: _Meta, out: list[Table], root: Any) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, list):
        table = _from_list(node, path, depth, meta, root)
        if table is not None:
            out.append(table)
            return
        for i, item in enumerate(node[:3]):
            _walk(item, [*path, str(i)], depth + 1, meta, out, root)
        return
    if not isinstance(node, dict):
        return
    meta = meta.read(node)
    for build in (_split_orient, _keyed_by_time, _columnar, _by_symbol):
        table = build(node, path, depth, meta)
        if table is not None:
            out.append(table)
    for key, value in node.items():
        if isinstance(value, list | dict):
            child = replace(meta, key_symbol=key if _is_ticker_key(key) else meta.key_symbol)
            _walk(value, [*path, key], depth + 1, child, out, root)


def _is_ticker_key(key: str) -> bool:
    return bool(_TICKER.match(key)) and normalise_name(key) not in GENERIC and any(c.isupper() for c in key)


def _table(
    names: list[str] | None, rows: list[list[Any]], path: list[str], depth: int, meta: _Meta, shape: str
) -> Table:
    width = max((len(r) for r in rows), default=0)
    columns = [[r[i] if i < len(r) else None for r in rows] for i in range(width)]
    return Table(
        names, columns, len(rows), depth, ".".join(path), shape, meta.symbol or meta.key_symbol, meta.zone
    )


def _from_list(node: list[Any], path: list[str], depth: int, meta: _Meta, root: Any) -> Table | None:
    if not node:
        return Table(None, [], 0, depth, ".".join(path), "empty list")
    if all(isinstance(r, list) for r in node):
        rows = [r for r in node if r]
        if not rows or len(rows[0]) < 5 or not all(isinstance(v, SCALARS) for v in rows[0]):
            return None
        names = None
        if all(isinstance(v, str) and not looks_like_data(v) for v in rows[0]):
            names, rows = [str(v) for v in rows[0]], rows[1:]
        table = _table(names, rows, path, depth, meta, "arrays")
        table.profile = None if names else _vendor(root, path, len(rows[0]) if rows else 0, rows)
        return table
    if all(isinstance(r, dict) for r in node):
        records = [_flatten(r) for r in node]
        names = list(dict.fromkeys(k for r in records[:200] for k in r))
        names += [k for k in dict.fromkeys(k for r in records for k in r) if k not in names]
        if sum(is_known_name(n) for n in names) < 3 and not (depth == 0 and root is not node):
            return None  # objects, but not bars (unless the layout pointed at them)
        return _table(names, [[r.get(k) for k in names] for r in records], path, depth, meta, "objects")
    return None


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Nested objects merge into the record (Databento's ``hd`` header); Huobi's names are mapped."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update({k: v for k, v in value.items() if isinstance(v, SCALARS) and k not in record})
        elif isinstance(value, SCALARS):
            flat[key] = value
    if {"id", "amount", "vol", "open", "close"} <= flat.keys():  # Huobi: id = open time, amount = base volume
        flat = {
            {"id": "time", "amount": "volume", "vol": "quote_volume"}.get(k, k): v for k, v in flat.items()
        }
    return flat


def _vendor(root: Any, path: list[str], width: int, rows: list[list[Any]]) -> str | None:
    """Exchange kline arrays whose column order is a vendor fact, told apart by the payload around them."""
    top = {normalise_name(k): v for k, v in root.items()} if isinstance(root, dict) else {}
    if "retcode" in top and width == 7:
        return "bybit_kline"
    if str(top.get("code")) == "0" and width == 9:
        return "okx_candles"
    if str(top.get("code")) == "200000" and width == 7:
        return "kucoin_candles"
    if "result" in top and "error" in top and width == 8:
        return "kraken_ohlc"
    if not top and width == 8 and rows and str(rows[0][-1]).lower() in ("true", "false"):
        return "gate_candlesticks"
    return None


def _split_orient(node: dict[str, Any], path: list[str], depth: int, meta: _Meta) -> Table | None:
    """pandas ``to_json(orient="split")``: column names beside a list of rows, the index beside them."""
    names, data = node.get("columns"), node.get("data")
    if not (isinstance(names, list) and isinstance(data, list) and data and isinstance(data[0], list)):
        return None
    index = node.get("index")
    rows = [list(r) for r in data]
    if isinstance(index, list) and len(index) == len(rows):
        names, rows = ["index", *names], [[i, *r] for i, r in zip(index, rows, strict=True)]
    return _table([str(n) for n in names], rows, [*path, "data"], depth, meta, "split")


def _keyed_by_time(node: dict[str, Any], path: list[str], depth: int, meta: _Meta) -> Table | None:
    """{"2024-01-05 19:55:00": {"1. open": ...}, ...}: the keys are the times."""
    items = [(k, v) for k, v in node.items() if isinstance(v, dict)]
    if not items or len(items) != len(node) or not all(looks_like_data(k) for k, _ in items[:50]):
        return None
    names = list(dict.fromkeys(k for _, v in items[:200] for k in v))
    if len(names) < 4:
        return None
    rows = [[k, *(v.get(n) for n in names)] for k, v in items]
    return _table(["datetime", *names], rows, path, depth, meta, "keyed by time")


def _columnar(node: dict[str, Any], path: list[str], depth: int, meta: _Meta) -> Table | None:
    """Parallel arrays: Yahoo's chart (``timestamp`` beside ``indicators.quote[0].open``...), Finnhub."""
    found: dict[str, list[Any]] = {}
    visited: list[dict[str, Any]] = []
    _gather(node, found, 0, visited)
    for inner in visited:  # metadata beside the arrays (Yahoo's result[0].meta)
        meta = meta.read(inner)
    by_length: dict[int, list[str]] = {}
    for key, values in found.items():
        by_length.setdefault(len(values), []).append(key)
    length, keys = max(by_length.items(), key=lambda item: (len(item[1]) >= 4, item[0]), default=(0, []))
    if len(keys) < 4 or length == 0:
        return _inner_index(node, path, depth, meta)
    rows = [[found[k][i] for k in keys] for i in range(length)]
    return _table(keys, rows, path, depth, meta, "parallel arrays")


def _gather(
    node: dict[str, Any], out: dict[str, list[Any]], depth: int, visited: list[dict[str, Any]]
) -> None:
    visited.append(node)
    for key, value in node.items():
        if isinstance(value, list) and value and all(isinstance(v, SCALARS) for v in value[:50]):
            out.setdefault(key, value)
        elif depth < 3 and isinstance(value, dict):
            _gather(value, out, depth + 1, visited)
        elif depth < 3 and isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            _gather(value[0], out, depth + 1, visited)


def _inner_index(node: dict[str, Any], path: list[str], depth: int, meta: _Meta) -> Table | None:
    """pandas ``orient="columns"``: {"open": {"1704186000000": 1.0, ...}, ...}; the inner keys are times."""
    inner = {k: v for k, v in node.items() if isinstance(v, dict) and v}
    if len(inner) < 4:
        return None
    index = list(next(iter(inner.values())))
    if not all(list(v) == index for v in inner.values()) or not all(
        looks_like_data(str(i)) for i in index[:20]
    ):
        return None
    names = list(inner)
    rows = [[i, *(inner[n][i] for n in names)] for i in index]
    return _table(["datetime", *names], rows, path, depth, meta, "columns keyed by time")


def _by_symbol(node: dict[str, Any], path: list[str], depth: int, meta: _Meta) -> Table | None:
    """{"AAPL": [{...}, ...], "MSFT": [...]}: one table with a symbol column."""
    parts = {
        k: v for k, v in node.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)
    }
    if len(parts) < 2 or len(parts) != len(node) or not all(_is_ticker_key(k) for k in parts):
        return None
    records = [{**_flatten(r), "symbol": key} for key, rows in parts.items() for r in rows]
    names = list(dict.fromkeys(k for r in records for k in r))
    rows_out = [[r.get(k) for k in names] for r in records]
    return _table(names, rows_out, path, depth, meta, "objects by symbol")
