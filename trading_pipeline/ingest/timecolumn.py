"""The time column in file units -> UTC nanoseconds: formats, zones, ambiguous dates, daily session stamps.

Precedence of what naive times mean: ``--tz``, then the layout's ``timezone``, then a zone the data
declares (JSON metadata), then the vendor rule, then ``PIPELINE_DEFAULT_TZ``, else UTC with a warning.
Times that carry their own zone (offsets, ``Z``, epochs, zone names inside the values) are absolute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.profiles import Profile
from trading_pipeline.ingest.rawtable import RawTable
from trading_pipeline.ingest.timeformats import (
    OFFSETS,
    ZONE_SUFFIX,
    TimeFormat,
    detect_format,
    parse_strings,
    zone_offsets,
)
from trading_pipeline.ingest.timeparse import (
    EPOCH_UNITS,
    epoch_to_utc,
    epoch_unit,
    localize,
    mixed_epoch_units,
    to_utc,
)
from trading_pipeline.report import Finding
from trading_pipeline.schema import TIMESTAMP_TYPE
from trading_pipeline.validation.plausible import EARLIEST_NS, TIME_RANGE, latest_ns

__all__ = ["TimeContext", "session_dates", "utc_times"]

DAY_NS = 86_400 * 1_000_000_000
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


@dataclass
class TimeContext:
    raw: RawTable
    profile: Profile
    options: IngestOptions
    layout: Layout
    path: str
    session_date: date | None
    findings: list[Finding] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    wall: Callable[[], pa.Array] | None = None  # the rows' wall-clock times, when a daily check needs them

    def label(self, role: str) -> str:
        return self.raw.labels.get(role, role)

    @property
    def zone(self) -> tuple[str | None, str]:
        """The zone of naive times and where it came from."""
        opts, layout = self.options, self.layout
        for value, origin in (
            (opts.tz, "--tz or the source's zone"),
            (layout.timezone, "layout"),
            (self.raw.zone, "the file's metadata"),
            (self.profile.tz, f"the {self.profile.name} convention for naive times; --tz overrides"),
            (opts.fallback_tz, "PIPELINE_DEFAULT_TZ"),
        ):
            if value:
                return value, origin
        return None, "default"


def _arr(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def utc_times(ctx: TimeContext) -> tuple[pa.Array, str]:
    """UTC timestamps of every row (null where unreadable, reported) and their nature: 'aware',
    'naive' (converted from a zone) or 'date' (daily)."""
    cols, fmt = ctx.raw.columns, ctx.raw.time_format
    if "datetime" not in cols and "date" not in cols:
        return _naive_to_utc(ctx, _ms_of_day(ctx)), "naive"
    source = _arr(cols["datetime"]) if "datetime" in cols else _joined(cols)
    typ = source.type
    if pa.types.is_timestamp(typ):
        if typ.tz:
            utc = to_utc(source)
            offsets = fmt.offsets if fmt is not None else ()
            ctx.wall = (lambda: _wall_of(utc, offsets)) if offsets else (lambda: pc.local_timestamp(source))
            return utc, "aware"
        naive = source.cast(pa.timestamp("ns"))
        return (_naive_to_utc(ctx, naive), "naive") if _kind(fmt) == "naive" else (_as_date(naive), "date")
    if pa.types.is_integer(typ) or (fmt is not None and fmt.kind == "epoch"):
        return _epoch(ctx, source, fmt), "aware"
    if fmt is None:
        values = [v for v in source.to_pylist()[:300] if v]
        # Quote a value that is not a time: the first one may be fine and would mislead.
        sample = next((v for v in values if detect_format([str(v)]) is None), values[0] if values else "")
        raise IngestError(
            path=ctx.path,
            reason=f"column `{ctx.label('datetime')}` does not hold recognisable times (e.g. {sample!r})",
            check="timestamps",
            suggest=True,
        )
    return _strings(ctx, source, fmt)


def _strings(ctx: TimeContext, source: pa.Array, fmt: TimeFormat) -> tuple[pa.Array, str]:
    text = source
    tokens = None
    if fmt.zone:
        tokens = pc.extract_regex(source, r".*" + ZONE_SUFFIX.replace("((", "(?P<z>(", 1)).field("z")
        text = pc.replace_substring_regex(source, pattern=ZONE_SUFFIX, replacement="")
    parsed = parse_strings(text, fmt, swapped=_read_swapped(ctx, text, fmt))
    _report_bad_times(ctx, source, parsed)
    if fmt.aware:
        ctx.wall = lambda: _wall_of_offsets(text)
        return to_utc(parsed), "aware"
    ctx.wall = lambda: parsed
    if fmt.zone == OFFSETS and tokens is not None:
        offsets, unknown = zone_offsets(tokens)
        ns = np.asarray(parsed.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)) - offsets
        valid = ~np.asarray(parsed.is_null().to_numpy(zero_copy_only=False), dtype=bool) & ~unknown
        ctx.notes["tz"] = "from the data (zone abbreviations or offsets in the values)"
        return pa.array(ns, pa.int64(), mask=~valid).view(TIMESTAMP_TYPE), "aware"
    if fmt.zone:
        utc, findings = localize(parsed, fmt.zone, row_numbers=ctx.raw.row_numbers, carry=ctx.raw.carry)
        ctx.findings.extend(findings)
        ctx.notes["tz"] = f"{fmt.zone} (named in the values)"
        return utc, "aware"
    if not fmt.has_time:
        return _as_date(parsed), "date"
    return _naive_to_utc(ctx, parsed), "naive"


def _read_swapped(ctx: TimeContext, text: pa.Array, fmt: TimeFormat) -> bool:
    """Whether to read dates the swapped way (day-first for a month-first format); notes the format
    when the values decided it, so a file read in chunks reads every later chunk the same way."""
    swapped = _decide_swapped(ctx, text, fmt)
    if swapped is None:
        return False
    ctx.notes["date_format"] = str(fmt.swapped if swapped else fmt.fmt)
    return swapped


def _decide_swapped(ctx: TimeContext, text: pa.Array, fmt: TimeFormat) -> bool | None:
    """Whether day-first and month-first both fit the sample: the column decides, or refuse; None when
    it does not matter (one reading only, or every date has day == month)."""
    if not fmt.swapped:
        return None
    first = parse_strings(text, fmt)
    second = parse_strings(text, fmt, swapped=True)
    misses: tuple[int, int] = (first.null_count, second.null_count)
    if misses[0] != misses[1]:
        return misses[1] < misses[0]
    if pc.all(pc.equal(first, second)).as_py() in (True, None):
        return None  # every date has day == month: the readings agree
    if ctx.profile.month_first:
        return False
    steps = (_date_step(first), _date_step(second))
    if min(steps) <= 4 and max(steps) >= 25:  # consecutive days in one reading, months in the other
        return steps[1] < steps[0]
    example = next((v for v in text.to_pylist() if v), "")
    raise IngestError(
        path=ctx.path,
        reason=f"dates like {example!r} read both day-first ({fmt.swapped}) and month-first ({fmt.fmt}), "
        "and no value in the file decides (no day above 12); declare datetime_format in a layout",
        check="timestamps",
        suggest=True,
    )


def _kind(fmt: TimeFormat | None) -> str:
    return "naive" if fmt is None or fmt.has_time else "date"


def _joined(cols: dict[str, pa.Array | pa.ChunkedArray]) -> pa.Array:
    return _arr(
        pc.binary_join_element_wise(cols["date"].cast(pa.string()), cols["time"].cast(pa.string()), " ")
    )


def _as_date(naive: pa.Array) -> pa.Array:
    return naive.cast(pa.int64()).view(TIMESTAMP_TYPE)


def _epoch(ctx: TimeContext, source: pa.Array, fmt: TimeFormat | None) -> pa.Array:
    ints = (
        pc.cast(source, pa.int64(), safe=False) if pa.types.is_integer(source.type) else _int_strings(source)
    )
    unit = fmt.unit if fmt is not None else None
    if unit is None:
        _check_epoch_units(ctx, ints)
        raw = np.asarray(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        valid = ~np.asarray(ints.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if valid.any():
            ctx.notes["epoch_unit"] = epoch_unit(raw[valid])  # what later chunks of the file use too
    times = epoch_to_utc(ints, unit)
    zone = ctx.zone[0]
    ctx.wall = lambda: pc.local_timestamp(times.cast(pa.timestamp("ns", zone))) if zone else times
    _report_bad_times(ctx, source, times)
    _plausible_epoch(ctx, ints, unit)
    ctx.notes["tz"] = "from the data (epoch)"
    return times


def _check_epoch_units(ctx: TimeContext, ints: pa.Array) -> None:
    """One unit is guessed per column: a column mixing seconds and milliseconds is refused by row."""
    mixed = mixed_epoch_units(ints)
    if mixed is not None:
        odd, theirs, majority = mixed
        what = (
            f"column `{ctx.label('datetime')}` mixes epoch units: these rows are in {theirs}, the others in"
            f" {majority}"
        )
        hint = "One unit per column; convert these rows (a mixed column would put bars in 1970)"
        ctx.findings.append(Finding.at_rows("timestamps", what, ctx.raw.rows(odd), hint=hint))


def _plausible_epoch(ctx: TimeContext, ints: pa.Array, unit: str | None) -> None:
    """Epoch times before 1980 or in the future: say which unit the values look like instead."""
    raw = np.asarray(ints.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    valid = ~np.asarray(ints.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if not valid.any():
        return
    used = unit or epoch_unit(raw[valid])
    scaled = raw[valid].astype(np.float64) * EPOCH_UNITS[used]
    lo, hi = EARLIEST_NS, latest_ns()
    bad = (scaled < lo) | (scaled > hi)
    if not bad.any():
        return
    day = datetime.fromtimestamp(float(scaled[bad][0]) / 1e9, UTC)
    when = "before 1980" if scaled[bad][0] < lo else "more than a day in the future"
    what = f"times {when}: {_epoch_cause(raw[valid], used, lo, hi)}; the data says {day:%Y-%m-%d %H:%M}"
    rows = np.flatnonzero(valid)[bad]
    numbers = ctx.raw.row_numbers[rows] if ctx.raw.row_numbers is not None else rows + 1
    ctx.findings.append(Finding.at_rows(TIME_RANGE, what, numbers, hint="Declare epoch_unit in a layout"))


def _epoch_cause(values: np.ndarray, used: str, lo: int, hi: int) -> str:
    for alt, factor in EPOCH_UNITS.items():
        scaled = values.astype(np.float64) * factor
        if alt != used and bool(np.all((scaled >= lo) & (scaled <= hi))):
            return f"values look like {UNIT_NAMES[alt]} read as {UNIT_NAMES[used]}"
    top = int(np.abs(values).max())
    if top < 86_400_000 and used in ("s", "ms"):
        return "values look like times of day (since midnight), not epoch times"
    if 20_000 < top < 80_000:
        return "values look like spreadsheet day numbers, not epoch times"
    return f"values do not fit one epoch unit (read as {UNIT_NAMES[used]})"


def _int_strings(source: pa.Array) -> pa.Array:
    """Whole numbers as int64; anything else null (reported with the other unreadable times)."""
    text = source.cast(pa.string())
    ok = pc.match_substring_regex(text, r"^\s*-?\d+(\.0*)?\s*$")
    kept = pc.utf8_trim_whitespace(pc.if_else(ok, text, pa.scalar(None, pa.string())))
    return pc.cast(pc.replace_substring_regex(kept, pattern=r"\.0*$", replacement=""), pa.int64())


def _report_bad_times(ctx: TimeContext, source: pa.Array, parsed: pa.Array) -> None:
    bad = _mask(pc.and_(pc.is_null(parsed), pc.is_valid(source)))
    if bad.any():
        example = source[int(np.flatnonzero(bad)[0])].as_py()
        what = f"column `{ctx.label('datetime')}` cannot be read as a time ({example!r})"
        ctx.findings.append(Finding.at_rows("timestamps", what, ctx.raw.rows(bad)))
    empty = _mask(pc.is_null(source))
    if empty.any():
        ctx.findings.append(Finding.at_rows("timestamps", "no timestamp", ctx.raw.rows(empty)))


def _ms_of_day(ctx: TimeContext) -> pa.Array:
    """LEAN: milliseconds since midnight, the date taken from the file name."""
    if ctx.session_date is None:
        raise IngestError(
            path=ctx.path, reason="no trading date in the file name (YYYYMMDD_...)", check="timestamps"
        )
    day = np.datetime64(ctx.session_date, "ns").astype(np.int64)
    ms = pc.cast(_arr(ctx.raw.columns["time"]), pa.int64()).to_numpy(zero_copy_only=False)
    return pa.array(day + ms.astype(np.int64) * 1_000_000, pa.int64()).view(pa.timestamp("ns"))


def _naive_to_utc(ctx: TimeContext, times: pa.Array) -> pa.Array:
    ctx.wall = lambda: times
    zone, origin = ctx.zone
    if zone is None and ctx.profile.tz_required:
        hint = ctx.profile.tz_hint
        what = "timestamps are local time of an unnamed zone and no --tz was given"
        ctx.findings.append(Finding("timezone", f"{what}. {hint}", hint=hint))
        return times.cast(pa.int64()).view(TIMESTAMP_TYPE)
    if zone is None:
        hint = ctx.profile.tz_hint or "Pass --tz ZONE if they are local time"
        what = "timestamps carry no time zone and no --tz was given: read as UTC"
        ctx.findings.append(Finding("timezone", f"{what}. {hint}", "warning", hint=hint))
        zone = "UTC"
    ctx.notes["tz"] = f"{zone} ({origin})"
    codes, names = _symbol_codes(ctx.raw)
    utc, findings = localize(
        times, zone, groups=codes, row_numbers=ctx.raw.row_numbers, carry=ctx.raw.carry, names=names
    )
    ctx.findings.extend(findings)
    return utc


def _symbol_codes(raw: RawTable) -> tuple[np.ndarray | None, list[str] | None]:
    """One integer per symbol, so each symbol of a multi-symbol file passes the DST hour on its own,
    and the symbol of each code."""
    if "symbol" not in raw.columns:
        return None, None
    encoded = pc.dictionary_encode(_arr(raw.columns["symbol"]))
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, [str(v) for v in encoded.dictionary.to_pylist()]


def _wall_of(utc: pa.Array, offsets: tuple[int, ...]) -> pa.Array:
    """Wall-clock times of UTC values read from text with these offsets (the text itself is gone).

    One offset: add it. Several (a zone with DST): per row, the offset that puts the row at the clock
    time every row can reach; when none is common, UTC (the daily check then leaves the times alone).
    """
    ns = np.asarray(utc.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    shifts = np.array(offsets, dtype=np.int64) * 1_000_000_000
    choices = ns[:, None] + shifts[None, :]
    clocks = choices % DAY_NS
    common = set(clocks[0].tolist()) if ns.size else set()
    for row in clocks[1 : min(ns.size, 2000)]:
        common &= set(row.tolist())
    if len(common) != 1:
        return utc
    pick = np.argmax(clocks == common.pop(), axis=1)
    wall = choices[np.arange(ns.size), pick]
    return pa.array(wall, pa.int64(), mask=np.asarray(utc.is_null().to_numpy(zero_copy_only=False))).view(
        pa.timestamp("ns")
    )


def _wall_of_offsets(text: pa.Array) -> pa.Array:
    """ISO values with offsets, read as the wall-clock time they show (the offset dropped)."""
    bare = pc.replace_substring_regex(text, pattern=r"\s*(Z|[+-]\d{2}:?\d{2})$", replacement="")
    return parse_strings(bare, TimeFormat("iso"))


def session_dates(ctx: TimeContext, utc: pa.Array) -> pa.Array:
    """Daily bars stamped at the session open (09:30 New York, 14:30Z) -> 00:00 UTC of the session date.

    A file is daily when its bars are at least ~a day apart and all share one wall-clock time of day;
    the session date is the date on the file's own clock (its zone, offset or --tz), not the UTC date.
    """
    head = utc.slice(0, 2000).drop_null().cast(pa.int64()).to_numpy(zero_copy_only=False)
    sample = np.unique(np.asarray(head, dtype=np.int64))  # the head decides; intraday files stop here
    of_day = sample % DAY_NS
    if ctx.wall is None or sample.size < 2 or np.unique(of_day).size > 2 or not of_day.any():
        return utc
    if np.diff(sample).min() < 20 * 3_600_000_000_000:
        return utc
    valid = ~np.asarray(utc.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    wall = np.asarray(ctx.wall().cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    clock = np.unique(wall[valid] % DAY_NS)
    if clock.size != 1:
        return utc
    dates = wall - wall % DAY_NS
    stamp = f"{int(clock[0]) // 3_600_000_000_000:02d}:{int(clock[0]) // 60_000_000_000 % 60:02d}"
    what = f"daily bars stamped at {stamp} on their own clock: stored at 00:00 UTC of their session date"
    ctx.findings.append(Finding("daily_bars", what, "warning"))
    ctx.notes["daily"] = "yes"
    return pa.array(dates, pa.int64(), mask=~valid).view(TIMESTAMP_TYPE)


def _date_step(parsed: pa.Array) -> float:
    """Median distance in days between consecutive distinct dates, in file order."""
    ns = parsed.drop_null().cast(pa.int64()).to_numpy(zero_copy_only=False)
    days = ns // DAY_NS
    changes = days[np.flatnonzero(np.diff(days)) + 1] if days.size > 1 else days
    distinct = np.concatenate([days[:1], changes])
    if distinct.size < 2:
        return float("nan")
    return float(np.median(np.abs(np.diff(distinct))))
