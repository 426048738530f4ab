"""Turning vendor time columns into UTC ``timestamp[ns, UTC]`` arrays, vectorised.

Local wall-clock times are converted with numpy instead of ``pyarrow.compute.assume_timezone``: the
zone's UTC-offset transitions inside the data's range are found once (a few dozen ``zoneinfo`` calls),
then every row is placed with one ``searchsorted`` over those boundaries. That is several times faster
than per-value zone lookups, and it lets the repeated fall-back hour be resolved *in file order*
(first pass = daylight time, second pass = standard time) and nonexistent spring-forward times be
reported row by row instead of being shifted silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.errors import UsageError
from trading_pipeline.report import Finding
from trading_pipeline.schema import TIMESTAMP_TYPE

__all__ = [
    "EPOCH_UNITS",
    "Carry",
    "epoch_to_utc",
    "epoch_unit",
    "localize",
    "mixed_epoch_units",
    "zone",
]

NS_PER_S = 1_000_000_000
DAY_NS = 86_400 * NS_PER_S
EPOCH_UNITS: dict[str, int] = {"s": NS_PER_S, "ms": 1_000_000, "us": 1_000, "ns": 1}
CHUNK = 1 << 18
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z", "Etc/Zulu", "Zulu", "Etc/Universal"})


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; an unknown name is a usage error, not a crash."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"unknown time zone {name!r}: use an IANA name such as America/Chicago, Europe/London, "
            "Etc/GMT+5 or UTC"
        ) from exc


def epoch_unit(values: np.ndarray) -> str:
    """Guess the epoch unit from magnitude: 10 digits = s, 13 = ms, 16 = us, 19 = ns.

    The largest absolute value decides, so a file starting near 1970 still reads in the right unit as
    long as later rows are modern; thresholds sit between year ~2286 of one unit and 1973 of the next.
    """
    if values.size == 0:
        return "ns"
    top = int(np.abs(values).max())
    if top < 10**11:
        return "s"
    if top < 10**14:
        return "ms"
    if top < 10**17:
        return "us"
    return "ns"


UNIT_BOUNDS = np.array([10**11, 10**14, 10**17], dtype=np.int64)
UNIT_CLASSES = ("seconds", "milliseconds", "microseconds", "nanoseconds")
UNAMBIGUOUS = 10**9
"""Values below this (before 2001 in seconds, a few days after 1970 in milliseconds) fit more than one
unit, so they do not count when the units of a column are compared."""


def mixed_epoch_units(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, str, str] | None:
    """Rows whose magnitude says another unit than the column's majority: ``(mask, theirs, majority)``.

    One unit is guessed per column, so a column alternating seconds and milliseconds would put half
    its bars in January 1970; such a column is refused instead.
    """
    ints = _combine(values).cast(pa.int64())
    valid = ~np.asarray(ints.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    raw = np.abs(np.asarray(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64))
    considered = valid & (raw >= UNAMBIGUOUS)
    classes = np.searchsorted(UNIT_BOUNDS, raw, side="right")
    counts = np.bincount(classes[considered], minlength=len(UNIT_CLASSES))
    if np.count_nonzero(counts) < 2:
        return None
    majority = int(counts.argmax())
    odd = considered & (classes != majority)
    first = int(classes[np.flatnonzero(odd)[0]])
    return odd, UNIT_CLASSES[first], UNIT_CLASSES[majority]


def epoch_to_utc(values: pa.Array | pa.ChunkedArray, unit: str | None = None) -> pa.Array:
    """Integer epoch values (unit guessed by magnitude unless given) as UTC nanosecond timestamps.

    Nulls stay null, and so do values whose nanoseconds would not fit int64 (after year 2262): a
    wrapped-around timestamp would be a silent wrong bar, a null is reported by the caller.
    """
    ints = _combine(values).cast(pa.int64())
    valid = ~np.asarray(ints.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    raw = np.asarray(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    factor = EPOCH_UNITS[unit or epoch_unit(raw[valid])]
    if factor != 1:
        valid &= np.abs(raw) <= np.iinfo(np.int64).max // factor
        raw = np.where(valid, raw, 0) * factor
    return _as_utc(raw, valid)


def _combine(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


@dataclass(frozen=True)
class _Transitions:
    """Offset changes of a zone inside a range: ``offsets[k]`` holds from ``starts[k]`` (UTC ns)."""

    starts: np.ndarray
    offsets: np.ndarray

    @property
    def fixed(self) -> bool:
        return self.offsets.size == 1


def _offset_ns(tz: ZoneInfo, utc_s: int) -> int:
    moment = datetime.fromtimestamp(utc_s, UTC).astimezone(tz)
    offset = moment.utcoffset() or timedelta(0)
    return int(offset.total_seconds()) * NS_PER_S


def _transitions(tz: ZoneInfo, lo_ns: int, hi_ns: int) -> _Transitions:
    """Offset changes between lo and hi, found by daily sampling and bisection to the second."""
    lo_s = lo_ns // NS_PER_S - 2 * 86_400
    hi_s = hi_ns // NS_PER_S + 2 * 86_400
    starts = [lo_s * NS_PER_S]
    offsets = [_offset_ns(tz, lo_s)]
    prev_s, prev_off = lo_s, offsets[0]
    for day_s in range(lo_s + 86_400, hi_s + 86_400, 86_400):
        off = _offset_ns(tz, day_s)
        if off != prev_off:
            left, right = prev_s, day_s  # offset at left == prev_off, at right == off
            while right - left > 1:
                mid = (left + right) // 2
                if _offset_ns(tz, mid) == prev_off:
                    left = mid
                else:
                    right = mid
            starts.append(right * NS_PER_S)
            offsets.append(off)
        prev_s, prev_off = day_s, off
    return _Transitions(np.array(starts, dtype=np.int64), np.array(offsets, dtype=np.int64))


TAIL = 60
"""Rows around a repeated hour that tell whether the file runs newest-first."""


@dataclass
class Carry:
    """What a file read in chunks carries from one chunk to the next (a whole-file read has none).

    ``passes``: per DST change (its UTC instant) and group (symbol), whether the clock has already
    stepped back into the repeated hour and the last local time seen in it; ``tail``: the last local
    times of the previous chunk, so the newest-first test near a chunk's start sees the rows before it.
    """

    passes: dict[tuple[int, str | None], tuple[bool, int]] = field(default_factory=dict)
    tail: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def localize(
    naive: pa.Array | pa.ChunkedArray,
    tz_name: str,
    *,
    groups: np.ndarray | None = None,
    row_numbers: np.ndarray | None = None,
    carry: Carry | None = None,
    names: list[str] | None = None,
) -> tuple[pa.Array, list[Finding]]:
    """Naive wall-clock timestamps of zone ``tz_name`` as UTC, resolving DST in file order.

    Returns the UTC array and findings: an error (check ``timezone``) listing rows whose local time
    does not exist (spring-forward gap). Repeated fall-back times take daylight time on their first
    pass through the hour and standard time after the clock steps back (reversed for newest-first files).
    ``groups`` (e.g. symbol codes) keeps the passes of a multi-symbol file apart: each symbol walks
    through the repeated hour on its own. ``row_numbers`` maps rows to the file's 1-based data rows
    for the report (default ``1..n``). ``carry`` continues a file read in chunks (``names``: the
    symbol of each group code, which stays the same from chunk to chunk where the codes do not).
    """
    arr = _combine(naive).cast(pa.timestamp("ns"))
    valid = np.ones(len(arr), dtype=bool)
    if arr.null_count:
        valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        arr = pc.fill_null(arr, pa.scalar(0, pa.timestamp("ns")))
    local = np.asarray(arr.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    if tz_name in UTC_NAMES or not valid.any():
        return _as_utc(local, valid), []
    tz = zone(tz_name)
    if carry is not None and carry.tail.size == 0:
        carry.tail = local[valid][-TAIL:]
    lo, hi = int(local[valid].min()), int(local[valid].max())
    trans = _transitions(tz, lo - DAY_NS, hi + DAY_NS)
    if trans.fixed:
        return _as_utc(local - trans.offsets[0], valid), []
    utc, gap_rows = _localize_dst(local, valid, trans, groups, carry, names)
    if carry is not None:
        carry.tail = np.concatenate([carry.tail, local[valid][-TAIL:]])[-TAIL:]
    if not gap_rows.size:
        return _as_utc(utc, valid), []
    numbers = row_numbers[gap_rows] if row_numbers is not None else gap_rows + 1
    return _as_utc(utc, valid), [_gap_finding(numbers, local[gap_rows[0]], tz_name)]


def _localize_dst(
    local: np.ndarray,
    valid: np.ndarray,
    trans: _Transitions,
    groups: np.ndarray | None,
    carry: Carry | None = None,
    names: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """UTC nanoseconds, and the (sorted) indices of rows that fall in a spring-forward gap."""
    before, after = trans.offsets[:-1], trans.offsets[1:]
    change = trans.starts[1:]
    bounds = np.empty(2 * change.size, dtype=np.int64)
    bounds[0::2] = change + np.minimum(before, after)
    bounds[1::2] = change + np.maximum(before, after)
    utc, odd = _place(local, bounds, trans.offsets)
    odd = odd[valid[odd]]
    window = np.searchsorted(bounds, local[odd], side="right") >> 1
    gap = after[window] > before[window]
    tail = carry.tail if carry is not None else None
    for k in np.unique(window[~gap]):
        in_window = odd[(window == k) & ~gap]
        for group, rows in _by_group(in_window, groups, names):
            descending = _descending_near(local, valid, rows, tail)
            key = (int(change[k]), group)
            before_chunk = carry.passes.get(key) if carry is not None else None
            open_end = carry is not None and _last_of_group(valid, groups, rows) == rows[-1]
            second, seen = _second_pass(local[rows], descending, before_chunk, open_end)
            if carry is not None:
                carry.passes[key] = (seen, int(local[rows[-1]]))
            utc[rows] = local[rows] - np.where(second, after[k], before[k])
    return utc, np.sort(odd[gap])


def _last_of_group(valid: np.ndarray, groups: np.ndarray | None, rows: np.ndarray) -> int:
    """The chunk's last valid row of the group of ``rows``."""
    mine = valid if groups is None else valid & (groups == groups[rows[0]])
    return int(np.flatnonzero(mine)[-1])


def _by_group(
    rows: np.ndarray, groups: np.ndarray | None, names: list[str] | None
) -> list[tuple[str | None, np.ndarray]]:
    """``rows`` split by group (named when ``names`` are given), each part in file order."""
    if groups is None:
        return [(None, rows)]
    keys = groups[rows]
    return [
        (names[int(key)] if names is not None and key >= 0 else str(key), rows[keys == key])
        for key in np.unique(keys)
    ]


def _place(local: np.ndarray, bounds: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC = local - offset of the stable stretch holding each row; also the rows inside a DST window.

    Works in chunks so the temporaries stay small and cache-warm (fresh memory is slow to touch).
    """
    utc = np.empty_like(local)
    odd_parts: list[np.ndarray] = []
    for start in range(0, local.size, CHUNK):
        part = local[start : start + CHUNK]
        slot = np.searchsorted(bounds, part, side="right")
        np.subtract(part, offsets[slot >> 1], out=utc[start : start + CHUNK])
        inside = (slot & 1).astype(bool)
        if inside.any():
            odd_parts.append(np.flatnonzero(inside) + start)
    odd = np.concatenate(odd_parts) if odd_parts else np.empty(0, dtype=np.int64)
    return utc, odd


def _descending_near(
    local: np.ndarray, valid: np.ndarray, rows: np.ndarray, tail: np.ndarray | None = None
) -> bool:
    """Whether the file runs newest-first around these rows (Barchart-style), by the local majority.

    An ascending file steps back exactly once at a fall-back change, so one backward step is no
    evidence of a newest-first file: it takes at least two more backward steps than forward ones.
    ``tail``: the previous chunk's last local times, the rows before a chunk's first row.
    """
    lo, hi = max(int(rows[0]) - TAIL, 0), min(int(rows[-1]) + TAIL, local.size)
    near = local[lo:hi][valid[lo:hi]]
    if tail is not None and int(rows[0]) < TAIL and tail.size:
        near = np.concatenate([tail[-(TAIL - int(rows[0])) :], near])
    steps = np.diff(near)
    return bool((steps < 0).sum() - (steps > 0).sum() >= 2)


def _second_pass(
    times: np.ndarray, descending: bool, before: tuple[bool, int] | None = None, open_end: bool = False
) -> tuple[np.ndarray, bool]:
    """Rows of the repeated hour read after the clock stepped back, in file order, and whether the
    step has been seen.

    ``before``: (step seen, last local time) from the previous chunks of the same hour. In a
    newest-first file the rows before the step up are the second pass; when a chunk ends inside the
    hour (``open_end``) before the step up, the step is taken to follow in the next chunk.
    """
    stepped = np.zeros(times.size, dtype=bool)
    if not descending:
        stepped[1:] = np.diff(times) <= 0
        if before is not None:
            stepped[0] = before[0] or times[0] <= before[1]
        second = np.logical_or.accumulate(stepped)
        return second, bool(second[-1])
    stepped[:-1] = np.diff(times) >= 0  # the clock steps up after this row
    already = before is not None and (before[0] or times[0] >= before[1])
    seen = already or bool(stepped.any())
    if open_end and not seen:
        stepped[-1] = True
    return np.logical_or.accumulate(stepped[::-1])[::-1], seen


def _gap_finding(rows: np.ndarray, first_local_ns: int, tz_name: str) -> Finding:
    example = datetime(1970, 1, 1) + timedelta(microseconds=int(first_local_ns) // 1000)
    return Finding.at_rows(
        "timezone",
        f"local time {example:%Y-%m-%d %H:%M} does not exist in {tz_name} (clocks sprang forward)",
        (int(r) for r in rows),
        hint="The file's times cannot be wall-clock time of that zone; check --tz",
    )


def _as_utc(ns: np.ndarray, valid: np.ndarray) -> pa.Array:
    mask = None if valid.all() else ~valid
    return pa.array(ns.astype(np.int64, copy=False), type=pa.int64(), mask=mask).view(TIMESTAMP_TYPE)


def to_utc(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A tz-aware timestamp array converted to ``timestamp[ns, UTC]``."""
    return pc.cast(_combine(values), TIMESTAMP_TYPE)
