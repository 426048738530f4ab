"""Validation of one symbol's bars arriving in chunks: the checks of ``validate_bars``, in bounded memory.

Two halves, because a large file may need sorting between them:

* ``FileOrderChecks`` sees the bars in file order: structure, types, missing timestamps, each bar's
  values, plausible times, moves on zero volume, and the order (the last time of one chunk is compared
  with the first of the next, so a step back at a chunk boundary is found like any other).
* ``SortedChecks`` sees them sorted by time: exact repeats dropped and conflicting ones reported
  (the last bar of one chunk is compared with the first of the next), the step counts the interval is
  inferred from, the steps long enough to be gaps, and the summary (rows, first and last bar).

Each keeps a ``Tally`` of its findings; row numbers are always the file's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from trading_pipeline.report import Finding
from trading_pipeline.validation.blocks import materialize
from trading_pipeline.validation.core import (
    _coerce,
    _drop_missing_timestamps,
    _structure_findings,
    _timestamps,
)
from trading_pipeline.validation.gaps import gap_finding_of
from trading_pipeline.validation.interval import format_timestamp
from trading_pipeline.validation.order import (
    CONFLICTING_DUPLICATES,
    DUPLICATE_ROWS,
    UNSORTED,
    _equal_rows,
)
from trading_pipeline.validation.plausible import (
    ONE_ROW,
    _zero_volume_moves,
    time_range_finding,
    zero_volume_words,
)
from trading_pipeline.validation.tally import Tally
from trading_pipeline.validation.values import value_findings

__all__ = ["FileOrderChecks", "SortedChecks"]

MAX_GAP_CANDIDATES = 4_000_000


@dataclass
class FileOrderChecks:
    """The checks that need the bars in file order, fed one chunk at a time."""

    tally: Tally = field(default_factory=Tally)
    broken: bool = False
    rows: int = 0
    last_ts: int | None = None
    backward: int = 0
    backward_rows: Tally = field(default_factory=Tally)
    zero_volume: Tally = field(default_factory=Tally)
    zero_volume_count: int = 0

    @property
    def in_order(self) -> bool:
        return self.backward == 0

    def feed(
        self, table: pa.Table, rows: np.ndarray | None
    ) -> tuple[pa.Table, np.ndarray, np.ndarray] | None:
        """Check a chunk; the bars with a time, their int64 times and file rows (None: unusable)."""
        if self.broken:
            return None
        structural = _structure_findings(table)
        if not structural:
            table, structural = _coerce(table)
        if structural:
            self.tally.add(structural)
            self.broken = True
            return None
        rows = materialize(rows, table.num_rows)
        table, rows, missing = _drop_missing_timestamps(table, rows)
        assert rows is not None
        self.tally.add(missing)
        self.tally.add(value_findings(table, rows))
        ts = _timestamps(table)
        implausible = time_range_finding(ts, rows)
        self.tally.add([implausible] if implausible else [])
        if "volume" in table.column_names:
            moved = _zero_volume_moves(table)
            self.zero_volume_count += int(moved.size)
            what, hint = zero_volume_words(every=False)
            self.zero_volume.add_rows("zero_volume_moves", what, rows[moved], severity="warning", hint=hint)
        self._order(ts, rows)
        self.rows += table.num_rows
        return table, ts, rows

    def _order(self, ts: np.ndarray, rows: np.ndarray) -> None:
        if ts.size == 0:
            return
        joined = ts if self.last_ts is None else np.concatenate([[self.last_ts], ts])
        back = np.flatnonzero(np.diff(joined) < 0) + (0 if self.last_ts is not None else 1)
        self.backward += int(back.size)
        self.backward_rows.add_rows(
            UNSORTED,
            "earlier than the bar before it; the bars were sorted by time",
            rows[back],
            severity="warning",
        )
        self.last_ts = int(ts[-1])

    def findings(self) -> list[Finding]:
        """In the order ``validate_bars`` reports them: values, plausibility, then order."""
        out = self.tally.findings()
        if self.broken:
            return out
        if self.rows == 1:
            what = "the file holds a single bar: its interval, order and gaps cannot be checked"
            out.append(Finding(ONE_ROW, what, "warning"))
        for found in self.zero_volume.findings():
            if self.zero_volume_count == self.rows:
                what, hint = zero_volume_words(every=True)
                found = Finding.at_rows(
                    found.check, what, found.rows, severity="warning", hint=hint, count=found.count
                )
            out.append(found)
        if self.backward and self.backward == self.rows - 1:
            what = "the file runs newest first; the bars were sorted by time"
            out.append(Finding.at_rows(UNSORTED, what, (), severity="warning"))
        else:
            out += self.backward_rows.findings()
        return out


@dataclass
class SortedChecks:
    """The checks that need the bars sorted by time, fed one sorted chunk at a time.

    ``threshold``: steps longer than this are kept as possible gaps (None: the shortest step so far,
    which is right unless a later chunk has shorter steps; ``complete`` tells, and a second read with
    the interval as threshold settles it).
    """

    threshold: int | None = None
    tally: Tally = field(default_factory=Tally)
    rows: int = 0
    first_ts: int | None = None
    last: tuple[pa.Table, int, int] | None = None  # the last bar kept: (1-row table, time, file row)
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    gaps: list[np.ndarray] = field(default_factory=list)  # (start, end, row) triples per chunk
    gap_count: int = 0
    kept: tuple[np.ndarray, np.ndarray] | None = None
    """Times and file rows of the bars the last ``feed`` kept."""

    def feed(self, table: pa.Table, ts: np.ndarray, rows: np.ndarray) -> pa.Table:
        """The chunk without exact repeats (of each other or of the previous chunk's last bar)."""
        self.kept = (ts, rows)
        if ts.size == 0:
            return table
        joined_ts = ts if self.last is None else np.concatenate([[self.last[1]], ts])
        shift = 0 if self.last is None else 1
        same = np.flatnonzero(np.diff(joined_ts) == 0)
        if same.size:
            joined = table if self.last is None else pa.concat_tables([self.last[0], table])
            joined_rows = rows if self.last is None else np.concatenate([[self.last[2]], rows])
            keep = self._duplicates(joined, joined_ts, joined_rows, same)[shift:]
            table, ts, rows = table.filter(pa.array(keep)), ts[keep], rows[keep]
            self.kept = (ts, rows)
            joined_ts = ts if self.last is None else np.concatenate([[self.last[1]], ts])
        if ts.size == 0:
            return table
        self._steps(joined_ts, rows, shift)
        if self.first_ts is None:
            self.first_ts = int(ts[0])
        self.last = (table.slice(table.num_rows - 1), int(ts[-1]), int(rows[-1]))
        self.rows += table.num_rows
        return table

    def _duplicates(self, table: pa.Table, ts: np.ndarray, rows: np.ndarray, same: np.ndarray) -> np.ndarray:
        exact = _equal_rows(table, same, same + 1)
        conflicts = same[~exact]
        if conflicts.size:
            first = format_timestamp(int(ts[conflicts[0]]))
            involved = np.unique(np.concatenate([rows[conflicts], rows[conflicts + 1]]))
            self.tally.add_rows(
                CONFLICTING_DUPLICATES,
                f"same timestamp as another row but different values (first at {first})",
                involved,
                hint="Remove the wrong rows; a file with several instruments needs a symbol column",
            )
        dropped = same[exact] + 1
        self.tally.add_rows(
            DUPLICATE_ROWS, "exact repeat of an earlier row; dropped", rows[dropped], severity="warning"
        )
        keep = np.ones(ts.size, dtype=bool)
        keep[dropped] = False
        return keep

    def _steps(self, joined_ts: np.ndarray, rows: np.ndarray, shift: int) -> None:
        steps = np.diff(joined_ts)
        values, counts = np.unique(steps[steps > 0], return_counts=True)
        merged, inverse = np.unique(np.concatenate([self.steps, values]), return_inverse=True)
        self.counts = np.bincount(inverse, weights=np.concatenate([self.counts, counts])).astype(np.int64)
        self.steps = merged
        floor = self.threshold if self.threshold is not None else (int(merged[0]) if merged.size else None)
        if floor is None:
            return
        at = np.flatnonzero(steps > floor)
        if at.size and self.gap_count < MAX_GAP_CANDIDATES:
            ends = rows[at + 1 - shift]
            self.gaps.append(np.stack([joined_ts[at], joined_ts[at + 1], ends]))
            self.gap_count += int(at.size)

    def interval_ns(self) -> int | None:
        """The lower median of the positive steps, exactly (what ``infer_interval_ns`` estimates)."""
        total = int(self.counts.sum())
        if total == 0:
            return None
        middle = (total - 1) // 2
        return int(self.steps[np.searchsorted(np.cumsum(self.counts), middle, side="right")])

    def complete(self, interval: int) -> bool:
        """Whether every step longer than ``interval`` was kept as a possible gap."""
        longer = int(self.counts[self.steps > interval].sum())
        return longer == sum(int((g[1] - g[0] > interval).sum()) for g in self.gaps)

    def findings(self, interval: int | None) -> list[Finding]:
        out = self.tally.findings()
        if interval:
            gaps = np.concatenate(self.gaps, axis=1) if self.gaps else np.zeros((3, 0), dtype=np.int64)
            found = gap_finding_of(gaps[0], gaps[1], gaps[2], interval)
            out += [found] if found else []
        return out
