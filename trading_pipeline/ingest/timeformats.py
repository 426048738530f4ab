"""Recognising how a time column is written, from a sample, and parsing the whole column with pyarrow.

Detection runs Python's ``strptime`` over at most a few hundred sample values; the column itself is then
parsed by pyarrow (its ISO-8601 parser where possible, else ``pc.strptime`` with the detected format).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TimeFormat", "detect_format", "parse_strings"]

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?P<time>[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_INT = re.compile(r"^-?\d+$")
DATE_FORMATS = ("%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%m/%d/%y", "%Y-%m-%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H%M", "%H%M%S")  # %H%M first: strptime reads 930 as 9:3:0 otherwise


@dataclass(frozen=True)
class TimeFormat:
    """How a time column is written. ``has_time=False`` means dates only (daily bars)."""

    kind: str  # "iso", "strptime" or "epoch"
    fmt: str | None = None
    has_time: bool = True
    aware: bool = False
    pad: int = 0  # zero-pad the time part to this width (TradeStation writes 930 for 09:30)

    def describe(self) -> str:
        if self.kind == "iso":
            return "ISO-8601" + (" with UTC offset" if self.aware else "")
        return self.fmt or self.kind


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


def detect_format(samples: list[str]) -> TimeFormat | None:
    """The first format every sample value fits, or None if the values are not times at all."""
    samples = [s.strip() for s in samples if s.strip()][:300]
    if not samples:
        return None
    for allowed in (
        0,
        max(1, len(samples) // 10) if len(samples) > 1 else 0,
    ):  # strict, then a few bad values
        found = _detect(samples, allowed)
        if found is not None:
            return found
    return None


def _detect(samples: list[str], allowed: int) -> TimeFormat | None:
    isos = [m for m in (_ISO.match(s) for s in samples) if m]
    if len(samples) - len(isos) <= allowed:
        return TimeFormat(
            "iso", has_time=any(m.group("time") for m in isos), aware=any(m.group("tz") for m in isos)
        )
    found = _detect_strptime(samples, allowed)
    if found is not None:
        return found
    if len(samples) - sum(1 for s in samples if _INT.match(s)) <= allowed:
        return TimeFormat("epoch")
    return None


def _detect_strptime(samples: list[str], allowed: int) -> TimeFormat | None:
    parts = samples[0].split()
    if len(parts) > 2:
        return None
    for date_fmt in DATE_FORMATS:
        if len(parts) == 1:
            if _all_parse(samples, date_fmt, allowed):
                return TimeFormat("strptime", date_fmt, has_time=False)
            for time_fmt in TIME_FORMATS:
                if len(samples[0]) >= 12 and _all_parse(samples, date_fmt + time_fmt, allowed):
                    return TimeFormat("strptime", date_fmt + time_fmt)
            continue
        for time_fmt in TIME_FORMATS:
            fmt = f"{date_fmt} {time_fmt}"
            if _all_parse(samples, fmt, allowed):
                return TimeFormat("strptime", fmt, pad={"%H%M": 4, "%H%M%S": 6}.get(time_fmt, 0))
    return None


def parse_strings(values: pa.Array, fmt: TimeFormat) -> pa.Array:
    """Naive (or, for aware ISO, UTC) ns timestamps; unparseable values become null."""
    if fmt.kind == "iso":
        target = pa.timestamp("ns", "UTC") if fmt.aware else pa.timestamp("ns")
        try:
            return pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _cast_each_valid(values, target)
    assert fmt.fmt is not None
    if fmt.pad:
        values = _pad_time(values, fmt.pad)
    return pc.strptime(values, format=fmt.fmt, unit="ns", error_is_null=True)


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
