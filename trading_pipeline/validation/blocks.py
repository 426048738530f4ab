"""Block-wise passes over large arrays, and file row numbers that are only built when needed.

Whole-column numpy temporaries (40 MB per 5M float64s) are fresh memory on every call, and first-touch
page faults make them up to 20x slower than the arithmetic on these VMs. Working in blocks of 32k
elements keeps every temporary small, reused and in cache: the same passes, without the faults.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["BLOCK", "blocks", "materialize", "min_step", "rows_at", "steps_above"]

BLOCK = 1 << 15


def blocks(size: int, block: int = BLOCK) -> Iterator[tuple[int, int]]:
    """(start, stop) covering range(size)."""
    for start in range(0, size, block):
        yield start, min(start + block, size)


def min_step(ts: np.ndarray) -> int | None:
    """The smallest step between consecutive values; None with fewer than two."""
    if ts.size < 2:
        return None
    return int(min(np.diff(ts[start : stop + 1]).min() for start, stop in blocks(ts.size - 1)))


def steps_above(ts: np.ndarray, limit: int) -> np.ndarray:
    """Positions i where ts[i + 1] - ts[i] > limit."""
    found = [
        np.flatnonzero(np.diff(ts[start : stop + 1]) > limit) + start for start, stop in blocks(ts.size - 1)
    ]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def rows_at(rows: np.ndarray | None, positions: np.ndarray) -> np.ndarray:
    """File row numbers of table positions; ``None`` rows mean the table is the file in order."""
    return positions + 1 if rows is None else rows[positions]


def materialize(rows: np.ndarray | None, size: int) -> np.ndarray:
    return np.arange(1, size + 1) if rows is None else rows
