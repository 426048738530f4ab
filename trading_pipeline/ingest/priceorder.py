"""Which header-less field is open, high, low and close, decided from the data when the order is not a
vendor fact (Coinbase writes low before high, Bitfinex and KuCoin open, close, high, low).

The high is the field that is the largest on every row and the low the smallest; of the other two the
open is the one that continues the previous bar's close. The standard order stays when the data fits
it; another order is taken only when it is the only one the data fits, and the report says which.
When several orders fit and the data cannot tell them apart, the file is refused.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pyarrow as pa

from trading_pipeline.errors import IngestError
from trading_pipeline.report import Finding

__all__ = ["decide_price_order"]

PRICES = ("open", "high", "low", "close")
SAMPLE_ROWS = 20_000
CLEAR_MARGIN = 0.5
"""The open/close reading taken must follow the previous close at most half as far off as the other."""


def _fits(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> bool:
    return bool(np.all(lo <= np.minimum(o, c)) and np.all(h >= np.maximum(o, c)))


def _continuity(o: np.ndarray, c: np.ndarray) -> float:
    """How far each open is from the previous close (rows in time order); lower means a better fit."""
    if o.size < 2:
        return float("nan")
    return float(np.median(np.abs(o[1:] - c[:-1])))


def decide_price_order(table: pa.Table, path: str) -> tuple[pa.Table, Finding | None]:
    """The table with its four price columns in the order the data shows, and a note when it moved."""
    head = table.slice(0, SAMPLE_ROWS)
    values = np.column_stack([head.column(p).to_numpy(zero_copy_only=False) for p in PRICES]).astype(
        np.float64
    )
    times = head.column("datetime").cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    keep = np.isfinite(values).all(axis=1)
    values, times = values[keep], times[keep]
    if values.shape[0] == 0 or _fits(*values.T):
        return table, None
    values = values[np.argsort(times, kind="stable")]
    fitting = _fitting_orders(values)
    if not fitting:
        return table, None  # no order fits every row: the OHLC check reports the rows
    order = _choose(fitting, values, path)
    columns = [table.column(PRICES[i]) for i in order]
    for name, column in zip(PRICES, columns, strict=True):
        table = table.set_column(table.column_names.index(name), name, column)
    fields = ", ".join(PRICES[order.index(i)] for i in range(4))
    what = (
        f"no header: the four price fields read as {fields}, the only order in which "
        "low <= open, close <= high on every row (and each open follows the previous close)"
    )
    return table, Finding("columns", what, "warning")


def _fitting_orders(values: np.ndarray) -> dict[bytes, tuple[int, ...]]:
    """Orders (field index for open, high, low, close) that fit every row, one per distinct result."""
    found: dict[bytes, tuple[int, ...]] = {}
    for order in permutations(range(4)):
        o, h, lo, c = (values[:, i] for i in order)
        if _fits(o, h, lo, c):
            found.setdefault(values[:, list(order)].tobytes(), order)
    return found


def _choose(fitting: dict[bytes, tuple[int, ...]], values: np.ndarray, path: str) -> tuple[int, ...]:
    orders = list(fitting.values())
    if len(orders) == 1:
        return orders[0]
    scores = sorted((_continuity(values[:, o[0]], values[:, o[3]]), o) for o in orders)
    best, runner_up = scores[0][0], scores[1][0]
    if np.isfinite(best) and (best < runner_up * CLEAR_MARGIN or (best == 0 < runner_up)):
        return scores[0][1]
    shown = "; ".join(", ".join(PRICES[o.index(i)] for i in range(4)) for o in orders[:3])
    raise IngestError(
        path=path,
        reason=f"no header, and the data fits more than one order of the price fields ({shown}); "
        "add a header row or declare the columns in a layout",
        check="columns",
        suggest=True,
    )
