"""Recognising how a time column is written, from a sample, and parsing the whole column with pyarrow.

Detection runs Python's ``strptime`` over at most a few hundred sample values; the column itself is then
parsed by pyarrow (its ISO-8601 parser where possible, else ``pc.strptime`` with the detected format).
A zone written inside the values (``20240308 15:30:00 US/Eastern``, ``... GMT+0200``) is split off
first. Dates that read both day-first and month-first are not guessed: the format keeps both readings
(``swapped``) and the whole column decides (a day above 12), else the file is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.ingest.layout import Layout

__all__ = [
    "ZONE_SUFFIX",
    "TimeFormat",
    "detect_format",
    "format_from_layout",
    "parse_strings",
    "zone_offsets",
]

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?P<time>[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_INT = re.compile(r"^-?\d+$")
DATE_FORMATS = (
    "%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%m/%d/%y", "%d/%m/%y",
    "%Y-%m-%d", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%y", "%b %d, %Y", "%b %d %Y", "%d %b %Y", "%d-%b-%Y",
    "%d-%b-%y", "%d %B %Y", "%B %d, %Y",
)  # fmt: skip
TIME_FORMATS = (
    "%H:%M:%S", "%H:%M", "%H%M", "%H%M%S", "%H:%M:%S.%f", "%I:%M:%S %p", "%I:%M %p", "%I:%M:%S%p",
)  # fmt: skip
# %H%M before %H%M%S: strptime reads 930 as 9:3:0 otherwise
_SWAPS = {"%m/%d/%Y": "%d/%m/%Y", "%m/%d/%y": "%d/%m/%y", "%m-%d-%Y": "%d-%m-%Y"}
_SWAPS.update({v: k for k, v in _SWAPS.items()})
ZONE_SUFFIX = (
    r"\s+((?:GMT|UTC)[+-]\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|[A-Za-z][A-Za-z_]*(?:/[A-Za-z_+\-0-9]+)*)$"
)
_ZONE = re.compile(r"^(.*\d)" + ZONE_SUFFIX)
ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "IST": 5.5, "SGT": 8, "HKT": 8, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
}  # fmt: skip
"""Zone abbreviations that name one fixed offset (hours); 'CST' is read as US Central."""
OFFSETS = "offsets"


@dataclass(frozen=True)
class TimeFormat:
    """How a time column is written. ``has_time=False`` means dates only (daily bars).

    ``zone`` is a zone the values carry (an IANA name, or ``"offsets"`` for per-value abbreviations
    and GMT offsets); ``swapped`` the day/month-swapped format that fits the sample as well;
    ``fraction`` means fractional seconds follow the seconds; ``unit`` an epoch unit a layout fixed.
    """

    kind: str  # "iso", "strptime" or "epoch"
    fmt: str | None = None
    has_time: bool = True
    aware: bool = False
    pad: int = 0  # zero-pad the time part to this width (TradeStation writes 930 for 09:30)
    zone: str | None = None
    swapped: str | None = None
    fraction: bool = False
    unit: str | None = None
    offsets: tuple[int, ...] = ()  # UTC offsets (seconds) the sample's ISO values carry

    @property
    def fast(self) -> bool:
        """Whether pyarrow's CSV reader can convert the column itself."""
        return self.kind != "strptime" and self.zone is None

    def describe(self) -> str:
        if self.kind == "iso":
            text = "ISO-8601" + (" with UTC offset" if self.aware else "")
        elif self.kind == "epoch":
            text = f"epoch {self.unit}" if self.unit else "epoch (unit from the size)"
        else:
            text = (self.fmt or "") + (".%f" if self.fraction else "")
        return text + (f" {self.zone}" if self.zone else "")


def _all_parse(samples: list[str], fmt: str, allowed: int = 0) -> bool:
    """Whether the samples fit ``fmt`` with at most ``allowed`` misfits (bad rows are reported later)."""
    misfits = 0
    for value in samples:
        try:
            datetime.strptime(value, fmt)  # naive on purpose: the zone is applied later
        except ValueError:
            misfits += 1
            if misfits > allowed:
                return False
    return True


def _zone_of(token: str) -> str | None:
    """'offsets' for abbreviations and GMT offsets, the IANA name for zone names, None otherwise."""
    if token.upper() in ABBREVIATIONS or re.match(r"^((GMT|UTC)[+-]|[+-]\d)", token, re.IGNORECASE):
        return OFFSETS
    try:
        ZoneInfo(token)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return token


def _split_zone(samples: list[str]) -> tuple[list[str], str | None]:
    matches = [_ZONE.match(s) for s in samples]
    if not all(matches):
        return samples, None
    tokens = {m.group(2) for m in matches if m}
    zones = {_zone_of(t) for t in tokens}
    if None in zones:
        return samples, None
    zone = zones.pop() if len(zones) == 1 else OFFSETS
    return [m.group(1) for m in matches if m], zone


def detect_format(samples: list[str]) -> TimeFormat | None:
    """The first format every sample value fits, or None if the values are not times at all."""
    samples = [s.strip() for s in samples if s and s.strip()][:300]
    if not samples:
        return None
    stripped, zone = _split_zone(samples)
    allowances = (0, max(1, len(samples) // 10) if len(samples) > 1 else 0)  # strict, then a few bad
    for allowed in allowances:
        found = _detect(stripped, allowed)
        if found is not None:
            return replace(found, zone=zone) if zone else found
    return None


def _detect(samples: list[str], allowed: int) -> TimeFormat | None:
    isos = [m for m in (_ISO.match(s) for s in samples) if m]
    if len(samples) - len(isos) <= allowed:
        offsets = tuple(sorted({_offset_seconds(m.group("tz")) for m in isos if m.group("tz")}))
        return TimeFormat(
            "iso",
            has_time=any(m.group("time") for m in isos),
            aware=any(m.group("tz") for m in isos),
            offsets=offsets,
        )
    found = _detect_strptime(samples, allowed)
    if found is not None:
        return found
    if len(samples) - sum(1 for s in samples if _INT.match(s)) <= allowed:
        return TimeFormat("epoch")
    return None


def _offset_seconds(text: str) -> int:
    if text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)


def _candidates(first: str) -> list[tuple[str, str | None]]:
    """(date format, time format or None) pairs worth trying for a sample like ``first``."""
    if " " not in first:  # a date alone, or date and time run together: 202401020930
        joined = re.fullmatch(r"(19|20)\d{10}(\d{2})?", first) is not None
        out: list[tuple[str, str | None]] = [(d, None) for d in DATE_FORMATS]
        out += [("%Y%m%d", "%H%M"), ("%Y%m%d", "%H%M%S")] if joined else []
        return [c for c in out if _fits(first, _join(*c, compact=True))]
    pairs = [(d, t) for d in DATE_FORMATS for t in (None, *TIME_FORMATS)]
    return [c for c in pairs if _fits(first, _join(*c))]


def _join(date_fmt: str, time_fmt: str | None, *, compact: bool = False) -> str:
    if time_fmt is None:
        return date_fmt
    return f"{date_fmt}{time_fmt}" if compact and date_fmt == "%Y%m%d" else f"{date_fmt} {time_fmt}"


def _fits(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _detect_strptime(samples: list[str], allowed: int) -> TimeFormat | None:
    compact = " " not in samples[0]
    for date_fmt, time_fmt in _candidates(samples[0]):
        fmt = _join(date_fmt, time_fmt, compact=compact)
        if not _all_parse(samples, fmt, allowed):
            continue
        partner = _SWAPS.get(date_fmt)
        other = _join(partner, time_fmt) if partner else None
        swapped = other if other and _all_parse(samples, other) else None
        return _build(fmt, time_fmt, swapped)
    return None


def _build(fmt: str, time_fmt: str | None, swapped: str | None) -> TimeFormat:
    fraction = fmt.endswith(".%f")
    base = fmt.removesuffix(".%f")
    pad = {"%H%M": 4, "%H%M%S": 6}.get(time_fmt or "", 0) if " " in fmt else 0
    return TimeFormat(
        "strptime",
        base,
        has_time=time_fmt is not None,
        pad=pad,
        swapped=swapped.removesuffix(".%f") if swapped else None,
        fraction=fraction,
    )


def format_from_layout(layout: Layout, has_date_time: bool) -> TimeFormat | None:
    """The time format a layout declares, if any (``has_date_time``: separate date and time columns)."""
    if layout.epoch_unit:
        return TimeFormat("epoch", unit=layout.epoch_unit)
    fmt = layout.datetime_format
    if fmt is None and layout.date_format:
        fmt = (
            f"{layout.date_format} {layout.time_format}"
            if layout.time_format and has_date_time
            else (layout.date_format)
        )
    if fmt is None:
        return None
    has_time = any(code in fmt for code in ("%H", "%I", "%M", "%S"))
    aware = "%z" in fmt
    return replace(_build(fmt, "%H" if has_time else None, None), pad=0, aware=aware)


def parse_strings(values: pa.Array, fmt: TimeFormat, *, swapped: bool = False) -> pa.Array:
    """Naive (or, for aware ISO, UTC) ns timestamps; unparseable values become null.

    A zone inside the values must be split off first (``ZONE_SUFFIX``); ``swapped`` parses with the
    day/month-swapped reading.
    """
    if fmt.kind == "iso":
        target = pa.timestamp("ns", "UTC") if fmt.aware else pa.timestamp("ns")
        try:
            return pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _cast_each_valid(values, target)
    pattern = fmt.swapped if swapped else fmt.fmt
    assert pattern is not None
    fraction = None
    if fmt.fraction:
        fraction = _fraction_ns(values)
        values = pc.replace_substring_regex(values, pattern=r"[.,]\d{1,9}$", replacement="")
    if fmt.pad:
        values = _pad_time(values, fmt.pad)
    parsed = pc.strptime(values, format=pattern, unit="ns", error_is_null=True)
    if "%z" in pattern:
        parsed = parsed.cast(pa.timestamp("ns", "UTC"))
    if fraction is not None:
        parsed = pc.add(parsed, pa.array(fraction, pa.int64()).cast(pa.duration("ns")))
    return parsed


def _fraction_ns(values: pa.Array) -> np.ndarray:
    digits = pc.extract_regex(values, r"[.,](?P<f>\d{1,9})$").field("f")
    padded = pc.utf8_rpad(pc.fill_null(digits, "0"), width=9, padding="0")
    return np.asarray(
        pc.cast(pc.utf8_slice_codeunits(padded, 0, 9), pa.int64()).to_numpy(zero_copy_only=False)
    )


def zone_offsets(tokens: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """UTC offsets in ns of zone tokens ('EST', 'GMT+0200', '+01:00') and a mask of unknown tokens."""
    names = pc.unique(tokens).to_pylist()
    table = {name: _token_offset(name) for name in names if name is not None}
    known = [n for n, v in table.items() if v is not None]
    index = pc.fill_null(pc.index_in(tokens, pa.array(known, pa.string())), -1).to_numpy(zero_copy_only=False)
    values = np.array([table[n] for n in known] + [0], dtype=np.int64)
    return values[np.where(index >= 0, index, len(known))], index < 0


def _token_offset(token: str) -> int | None:
    hours = ABBREVIATIONS.get(token.upper())
    if hours is not None:
        return int(hours * 3600) * 1_000_000_000
    match = re.match(r"^(?:GMT|UTC)?([+-])(\d{1,2}):?(\d{2})?$", token, re.IGNORECASE)
    if not match:
        return None
    sign = -1 if match.group(1) == "-" else 1
    return sign * (int(match.group(2)) * 3600 + int(match.group(3) or 0) * 60) * 1_000_000_000


def _pad_time(values: pa.Array, width: int) -> pa.Array:
    """'12/12/2003 930' -> '12/12/2003 0930' so a fixed-width %H%M format reads it."""
    return pc.replace_substring_regex(values, pattern=rf" (\d{{{width - 1}}})$", replacement=" 0\\1")


_ISO_IN_RANGE = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
"""ISO values whose fields are in range: most bad values (hour 25, month 13) fail here, vectorised."""


def _cast_each_valid(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Slow path for a column with bad values: keep the good ones, null the rest (for the report).

    Out-of-range fields are nulled by one regex pass; what still fails the cast (31 February) is
    found by halving, so a few bad values cost a few dozen casts, and no good value is lost.
    """
    ok = pc.match_substring_regex(values, _ISO_IN_RANGE)
    return _cast_halving(pc.if_else(ok, values, pa.scalar(None, pa.string())), target)


def _cast_halving(values: pa.Array, target: pa.DataType) -> pa.Array:
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(values) <= 1:
            return pa.nulls(len(values), target)
    middle = len(values) // 2
    halves = [_cast_halving(values.slice(0, middle), target), _cast_halving(values.slice(middle), target)]
    return pa.concat_arrays(halves)
