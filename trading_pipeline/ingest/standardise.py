"""From columns in file units to canonical bars: UTC times, float64 prices, named extras.

Shared by every container (text, zip members, JSON, spreadsheets, Parquet): they all hand over a
``RawTable``. Rows with no prices at all (a holiday written as ``null``) are dropped with a warning;
a row with some prices missing is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.numbers import parse_numbers
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.profiles import Profile
from trading_pipeline.ingest.rawtable import RawTable
from trading_pipeline.ingest.timecolumn import TimeContext, session_dates, utc_times
from trading_pipeline.report import Finding
from trading_pipeline.schema import OPTIONAL_COLUMNS, PRICE_COLUMNS

__all__ = ["Standardised", "standardise"]

FIXED_POINT = 1e-9
PRICE_LIKE = ("vwap", "adj_close")


@dataclass
class Standardised:
    table: pa.Table
    findings: list[Finding] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    row_numbers: np.ndarray | None = None


def _arr(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _numbers(
    ctx: TimeContext,
    role: str,
    values: pa.Array | pa.ChunkedArray,
    required: bool,
    unreadable: dict[str, np.ndarray] | None = None,
) -> pa.Array | pa.ChunkedArray | None:
    """float64 values; text cells are reported (and their rows noted in ``unreadable``)."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        kind = values.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
            reason = f"column `{ctx.label(role)}` holds {kind} values, not numbers"  # lists, structs...
            raise IngestError(path=ctx.path, reason=reason, check="numbers")
        return values.cast(pa.float64())  # chunks kept: combining copies every column for nothing
    col = _arr(values)
    numbers, bad = parse_numbers(col, ctx.raw.numbers, suffixes=role not in PRICE_COLUMNS)
    if unreadable is not None:
        unreadable[role] = bad
    if bad.any():
        # An extra column of text is not a number column: drop it. A volume column of numbers with
        # text in a few rows is bad rows, not a bad column: dropping it would lose every volume.
        if not required and (role != "volume" or bad.all()):
            ctx.findings.append(
                Finding("numbers", f"column `{ctx.label(role)}` holds text; dropped", "warning")
            )
            return None
        shown = sorted({str(v) for v in pc.filter(col, pa.array(bad)).to_pylist()[:50]})[:3]
        what = f"column `{ctx.label(role)}` holds text ({', '.join(repr(s) for s in shown)})"
        ctx.findings.append(Finding.at_rows("numbers", what, ctx.raw.rows(bad)))
    return numbers


def _empty_prices(
    ctx: TimeContext, prices: dict[str, pa.Array], unreadable: dict[str, np.ndarray]
) -> np.ndarray:
    """Rows with no price at all are dropped (a holiday); a row missing only some prices is an error.

    Cells that held text are not empty: they were reported as text already.
    """
    if not any(v.null_count for v in prices.values()):
        return np.zeros(0, dtype=bool)  # the common case: no pass over the rows at all
    nulls = []
    for role, values in prices.items():
        null = np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
        nulls.append(null & ~unreadable[role] if role in unreadable else null)
    every = np.logical_and.reduce(nulls)
    some = np.logical_or.reduce(nulls) & ~every
    for role, null in zip(prices, nulls, strict=True):
        if (null & some).any():
            what = f"column `{ctx.label(role)}` is empty"
            ctx.findings.append(Finding.at_rows("numbers", what, ctx.raw.rows(null & some)))
    if every.any():
        what = "no prices (null or empty, e.g. a holiday): dropped"
        ctx.findings.append(Finding.at_rows("empty_rows", what, ctx.raw.rows(every), severity="warning"))
    return np.asarray(every, dtype=bool)


def _scale(ctx: TimeContext, prices: dict[str, pa.Array]) -> dict[str, pa.Array]:
    factor = ctx.layout.price_multiplier or ctx.profile.price_scale
    if factor is None and ctx.profile.fixed_point and "close" in prices and _integral(prices["close"]):
        factor = FIXED_POINT
    if factor is None or factor == 1:
        return prices
    ctx.notes["price_scale"] = f"x{factor:g}"
    divisor = round(1 / factor)
    if divisor >= 1 and abs(divisor * factor - 1) < 1e-12:  # dividing by 1e9 is exact where x1e-9 is not
        return {k: pc.divide(v, float(divisor)) for k, v in prices.items()}
    return {k: pc.multiply(v, float(factor)) for k, v in prices.items()}


def _integral(values: pa.Array) -> bool:
    arr = values.to_numpy(zero_copy_only=False)
    finite = arr[np.isfinite(arr)]
    return (
        bool(finite.size) and bool(np.all(finite == np.round(finite))) and float(np.abs(finite).max()) >= 1e6
    )


def standardise(
    raw: RawTable,
    profile: Profile,
    options: IngestOptions,
    path: str,
    session_date: date | None = None,
    layout: Layout | None = None,
) -> Standardised:
    """Canonical columns in file order; findings for rows that could not be read."""
    ctx = TimeContext(raw, profile, options, layout or Layout(), path, session_date)
    times, kind = utc_times(ctx)
    out: dict[str, pa.Array] = {"datetime": times if kind == "date" else session_dates(ctx, times)}
    unreadable: dict[str, np.ndarray] = {}
    parsed = {r: _numbers(ctx, r, raw.columns[r], True, unreadable) for r in PRICE_COLUMNS}
    prices = {k: v for k, v in parsed.items() if v is not None}
    empty = _empty_prices(ctx, prices, unreadable)
    scaled = _scale(ctx, {**prices, **_extras(ctx, PRICE_LIKE)})
    out.update({k: v for k, v in scaled.items() if k in PRICE_COLUMNS})
    for role in ("volume", *OPTIONAL_COLUMNS):
        if role in scaled and role not in PRICE_COLUMNS:
            out[role] = scaled[role]
        elif role in raw.columns and role not in PRICE_LIKE:
            col = _numbers(ctx, role, raw.columns[role], False)
            if col is not None:
                out[role] = col
    _up_down(ctx, out)
    _trades(ctx, out)
    if "symbol" in raw.columns:
        out["symbol"] = _arr(raw.columns["symbol"]).cast(pa.string())
    if kind == "date":
        ctx.notes["daily"] = "yes"
    table, numbers = pa.table(out), raw.row_numbers
    if empty.size and empty.any():
        table = table.filter(pa.array(~empty))
        numbers = (numbers if numbers is not None else np.arange(1, empty.size + 1))[~empty]
    return Standardised(table, ctx.findings, ctx.notes, numbers)


def _extras(ctx: TimeContext, roles: tuple[str, ...]) -> dict[str, pa.Array]:
    found = {r: _numbers(ctx, r, ctx.raw.columns[r], False) for r in roles if r in ctx.raw.columns}
    return {k: v for k, v in found.items() if v is not None}


def _up_down(ctx: TimeContext, out: dict[str, pa.Array]) -> None:
    raw = ctx.raw
    if "volume" not in out and "up" in raw.columns and "down" in raw.columns:
        up, down = (_numbers(ctx, r, raw.columns[r], False) for r in ("up", "down"))
        if up is not None and down is not None:
            out["volume"] = pc.add(up, down)
            ctx.notes["volume"] = "Up + Down"


def _trades(ctx: TimeContext, out: dict[str, pa.Array]) -> None:
    if "trades" not in out:
        return
    values = out["trades"].to_numpy(zero_copy_only=False)
    finite = values[np.isfinite(values)]
    if finite.size == values.size and np.all(finite == np.round(finite)):
        out["trades"] = pa.array(values.astype(np.int64))
    else:
        ctx.findings.append(
            Finding("numbers", f"column `{ctx.label('trades')}` is not whole counts; dropped", "warning")
        )
        del out["trades"]
