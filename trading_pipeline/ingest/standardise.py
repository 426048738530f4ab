"""From columns in file units to canonical bars: UTC times, float64 prices, named extras.

Shared by every container (text, zip members, Parquet): they all hand over a ``RawTable``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.profiles import Profile
from trading_pipeline.ingest.textread import RawTable
from trading_pipeline.ingest.timeformats import TimeFormat, parse_strings
from trading_pipeline.ingest.timeparse import epoch_to_utc, localize, to_utc
from trading_pipeline.report import Finding
from trading_pipeline.schema import OPTIONAL_COLUMNS, PRICE_COLUMNS, TIMESTAMP_TYPE

__all__ = ["Standardised", "standardise"]

NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
FIXED_POINT = 1e-9


@dataclass
class Standardised:
    table: pa.Table
    findings: list[Finding] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Ctx:
    raw: RawTable
    profile: Profile
    options: IngestOptions
    path: str
    session_date: date | None
    findings: list[Finding] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def rows(self, mask: np.ndarray) -> np.ndarray:
        """1-based data-row numbers of the True entries."""
        idx = np.flatnonzero(mask)
        return self.raw.row_numbers[idx] if self.raw.row_numbers is not None else idx + 1

    def label(self, role: str) -> str:
        return self.raw.labels.get(role, role)


def _arr(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _parse_time(ctx: _Ctx) -> tuple[pa.Array, str]:
    """Timestamps and their nature: 'aware' (absolute), 'naive' (wall clock) or 'date' (daily)."""
    cols, fmt = ctx.raw.columns, ctx.raw.time_format
    if "datetime" not in cols and "date" not in cols:
        return _ms_of_day(ctx), "naive"
    source = _arr(cols["datetime"]) if "datetime" in cols else _joined(cols)
    typ = source.type
    if pa.types.is_timestamp(typ):
        return (to_utc(source), "aware") if typ.tz else (source.cast(pa.timestamp("ns")), _kind(fmt))
    if pa.types.is_integer(typ) or (fmt is not None and fmt.kind == "epoch"):
        ints = pc.cast(source, pa.int64(), safe=False) if pa.types.is_integer(typ) else _int_strings(source)
        times = epoch_to_utc(ints)
        _report_bad_times(ctx, source, times)
        return times, "aware"
    if fmt is None:
        sample = next((v for v in source.to_pylist()[:5] if v), "")
        raise IngestError(
            path=ctx.path,
            reason=f"column `{ctx.label('datetime')}` does not hold recognisable times (e.g. {sample!r})",
            check="timestamps",
        )
    parsed = parse_strings(source, fmt)
    _report_bad_times(ctx, source, parsed)
    if fmt.aware:
        return to_utc(parsed), "aware"
    return parsed, _kind(fmt)


def _kind(fmt: TimeFormat | None) -> str:
    return "naive" if fmt is None or fmt.has_time else "date"


def _joined(cols: dict[str, pa.Array | pa.ChunkedArray]) -> pa.Array:
    return _arr(pc.binary_join_element_wise(cols["date"], cols["time"], " "))


def _int_strings(source: pa.Array) -> pa.Array:
    """Whole numbers as int64; anything else null (reported with the other unreadable times)."""
    ok = pc.match_substring_regex(source, r"^\s*-?\d+\s*$")
    return pc.cast(pc.utf8_trim_whitespace(pc.if_else(ok, source, pa.scalar(None, pa.string()))), pa.int64())


def _report_bad_times(ctx: _Ctx, source: pa.Array, parsed: pa.Array) -> None:
    bad = _mask(pc.and_(pc.is_null(parsed), pc.is_valid(source)))
    if bad.any():
        example = source[int(np.flatnonzero(bad)[0])].as_py()
        what = f"column `{ctx.label('datetime')}` cannot be read as a time ({example!r})"
        ctx.findings.append(Finding.at_rows("timestamps", what, ctx.rows(bad)))
    empty = _mask(pc.is_null(source))
    if empty.any():
        ctx.findings.append(Finding.at_rows("timestamps", "no timestamp", ctx.rows(empty)))


def _ms_of_day(ctx: _Ctx) -> pa.Array:
    """LEAN: milliseconds since midnight, the date taken from the file name."""
    if ctx.session_date is None:
        raise IngestError(
            path=ctx.path, reason="no trading date in the file name (YYYYMMDD_...)", check="timestamps"
        )
    day = np.datetime64(ctx.session_date, "ns").astype(np.int64)
    ms = pc.cast(_arr(ctx.raw.columns["time"]), pa.int64()).to_numpy(zero_copy_only=False)
    return pa.array(day + ms.astype(np.int64) * 1_000_000, pa.int64()).view(pa.timestamp("ns"))


def _to_utc(ctx: _Ctx, times: pa.Array, kind: str) -> pa.Array:
    opts, profile = ctx.options, ctx.profile
    if kind == "aware":
        ctx.notes["tz"] = "from the data (UTC offsets or epoch)"
        return times
    if kind == "date":
        ctx.notes["tz"] = "daily bars: session date at 00:00 UTC, no zone shift"
        return times.cast(pa.int64()).view(TIMESTAMP_TYPE)
    zone = opts.tz or profile.tz or opts.fallback_tz
    if zone is None:
        hint = profile.tz_hint or "Pass --tz ZONE if they are local time"
        what = "timestamps carry no time zone and no --tz was given: read as UTC"
        ctx.findings.append(Finding("timezone", f"{what}. {hint}", "warning", hint=hint))
        zone = "UTC"
    ctx.notes["tz"] = f"{zone} ({_zone_origin(opts.tz, profile.tz, opts.fallback_tz)})"
    utc, findings = localize(times, zone, groups=_symbol_codes(ctx.raw), row_numbers=ctx.raw.row_numbers)
    ctx.findings.extend(findings)
    return utc


def _zone_origin(option: str | None, vendor: str | None, fallback: str | None) -> str:
    if option:
        return "--tz"
    if vendor:
        return "vendor rule"
    return "PIPELINE_DEFAULT_TZ" if fallback else "default"


def _symbol_codes(raw: RawTable) -> np.ndarray | None:
    """One integer per symbol, so each symbol of a multi-symbol file passes the DST hour on its own."""
    if "symbol" not in raw.columns:
        return None
    codes = pc.dictionary_encode(_arr(raw.columns["symbol"])).indices
    return np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _numbers(ctx: _Ctx, role: str, values: pa.Array | pa.ChunkedArray, required: bool) -> pa.Array | None:
    col = _arr(values)
    empty = col.null_count > 0
    if empty and required:
        rows = ctx.rows(_mask(pc.is_null(col)))
        ctx.findings.append(Finding.at_rows("numbers", f"column `{ctx.label(role)}` is empty", rows))
    if not pa.types.is_string(col.type):
        return col.cast(pa.float64())
    ok = pc.match_substring_regex(col, NUMBER)
    bad = _mask(pc.invert(ok))
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
        ctx.findings.append(Finding.at_rows("numbers", what, ctx.rows(bad)))
    return pc.cast(pc.if_else(ok, col, pa.scalar(None, pa.string())), pa.float64())


def _scale(ctx: _Ctx, prices: dict[str, pa.Array]) -> dict[str, pa.Array]:
    factor = ctx.profile.price_scale
    if factor is None and ctx.profile.fixed_point and _integral(prices["close"]):
        factor = FIXED_POINT
    if factor is None:
        return prices
    ctx.notes["price_scale"] = f"x{factor:g}"
    divisor = round(1 / factor)  # dividing by 1e9 is exact where multiplying by 1e-9 is not
    return {k: pc.divide(v, float(divisor)) for k, v in prices.items()}


def _integral(values: pa.Array) -> bool:
    arr = values.to_numpy(zero_copy_only=False)
    finite = arr[np.isfinite(arr)]
    return (
        bool(finite.size) and bool(np.all(finite == np.round(finite))) and float(np.abs(finite).max()) >= 1e6
    )


def standardise(
    raw: RawTable, profile: Profile, options: IngestOptions, path: str, session_date: date | None = None
) -> Standardised:
    """Canonical columns in file order; findings for rows that could not be read."""
    ctx = _Ctx(raw, profile, options, path, session_date)
    times, kind = _parse_time(ctx)
    out: dict[str, pa.Array] = {"datetime": _to_utc(ctx, times, kind)}
    prices = {r: _numbers(ctx, r, raw.columns[r], True) for r in PRICE_COLUMNS}
    out.update(_scale(ctx, {k: v for k, v in prices.items() if v is not None}))
    for role in ("volume", *OPTIONAL_COLUMNS):
        if role in raw.columns:
            col = _numbers(ctx, role, raw.columns[role], False)
            if col is not None:
                out[role] = col
    if "volume" not in out and "up" in raw.columns and "down" in raw.columns:
        up, down = (_numbers(ctx, r, raw.columns[r], False) for r in ("up", "down"))
        if up is not None and down is not None:
            out["volume"] = pc.add(up, down)
            ctx.notes["volume"] = "Up + Down"
    if "adj_close" in out and profile.price_scale:
        out["adj_close"] = pc.divide(out["adj_close"], float(round(1 / profile.price_scale)))
    _trades(ctx, out)
    if "symbol" in raw.columns:
        out["symbol"] = _arr(raw.columns["symbol"]).cast(pa.string())
    if kind == "date":
        ctx.notes["daily"] = "yes"
    return Standardised(pa.table(out), ctx.findings, ctx.notes)


def _trades(ctx: _Ctx, out: dict[str, pa.Array]) -> None:
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
