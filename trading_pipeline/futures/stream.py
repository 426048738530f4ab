"""The futures checks of a file read in chunks: the same findings as a whole read (``checks``).

Times and file rows of a contract's kept bars are collected chunk by chunk (16 bytes a bar, only for
symbols that name a contract, and at most ``max_rows`` of them within the ingest memory budget); the
tick grid is judged per chunk. At the end the session analysis runs on the collected times, exactly as
for a file read whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from trading_pipeline.futures.checks import FUTURES_SYMBOL, SessionChecks, contract_of, coverage_checks
from trading_pipeline.futures.products import PRODUCTS
from trading_pipeline.futures.symbols import Contract, contract_root
from trading_pipeline.report import MAX_REPORTED_ROWS, Finding
from trading_pipeline.schema import PRICE_COLUMNS

__all__ = ["FuturesTally", "futures_tally"]

BYTES_PER_BAR = 16


@dataclass
class FuturesTally:
    tick: float
    max_rows: int
    ts: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    off_rows: list[int] = field(default_factory=list)
    off_count: int = 0
    count: int = 0

    def feed(self, table: pa.Table, ts: np.ndarray, rows: np.ndarray) -> None:
        """One sorted chunk of kept bars (as stored, before any close-to-open shift)."""
        self.count += len(ts)
        if self.count > self.max_rows:
            self.ts, self.rows = [], []
            return
        from trading_pipeline.futures.coverage import off_grid

        self.ts.append(np.array(ts, dtype=np.int64))
        self.rows.append(np.array(rows, dtype=np.int64))
        prices = {c: table.column(c).to_numpy() for c in PRICE_COLUMNS if c in table.column_names}
        if prices and len(ts):
            where = np.flatnonzero(off_grid(prices, self.tick))
            self.off_count += len(where)
            room = MAX_REPORTED_ROWS - len(self.off_rows)
            self.off_rows += [int(r) for r in rows[where[:room]]] if room > 0 else []

    def checks(
        self, symbol: str, interval_ns: int | None, shift: int, short_run_min: float, label_given: bool
    ) -> SessionChecks:
        if self.count > self.max_rows:
            what = (
                f"session checks skipped: {self.count} bars are more than PIPELINE_INGEST_MEMORY_MB "
                f"allows for them ({self.max_rows})"
            )
            return SessionChecks(findings=[Finding(FUTURES_SYMBOL, what, "warning")])
        if not self.count or not interval_ns:
            return SessionChecks()
        ts = np.concatenate(self.ts) - shift
        contract = contract_of(symbol, ts)
        if not isinstance(contract, Contract):
            return contract
        from trading_pipeline.futures.coverage import tick_grid_finding_of

        off = np.array(self.off_rows, dtype=np.int64)
        grid = tick_grid_finding_of(off, self.off_count, contract.product.tick)
        rows = np.concatenate(self.rows)
        return coverage_checks(
            contract, ts, rows, interval_ns, [grid] if grid else [], short_run_min, label_given
        )


def futures_tally(names: list[str | None], memory_mb: int) -> FuturesTally | None:
    """A tally when one of ``names`` (the file's symbol, an explicit --symbol) names a contract."""
    for name in names:
        root = contract_root(name) if name else None
        if root is not None:
            return FuturesTally(PRODUCTS[root].tick, (memory_mb << 20) // 4 // BYTES_PER_BAR)
    return None
