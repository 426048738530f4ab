"""The futures checks of validation: for a symbol that names a dated contract of a known product, coverage
per CME Globex session (replacing the calendar-blind gap warning), bars inside closures, the tick grid.

Symbols that name no contract (``AAPL``, a bare root ``MES``, a vendor-continuous ``MES.c.0``) are left
alone: a bare root may be any vendor's stitched series, whose provenance the file does not state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.symbols import parse_symbol
from trading_pipeline.report import Finding
from trading_pipeline.schema import PRICE_COLUMNS

__all__ = ["FUTURES_SYMBOL", "SessionChecks", "session_checks"]

FUTURES_SYMBOL = "futures_symbol"
DAY_NS = 86_400 * 1_000_000_000


@dataclass
class SessionChecks:
    ran: bool = False
    findings: list[Finding] = field(default_factory=list)
    sessions: list[dict[str, Any]] | None = None


def session_checks(
    symbol: str,
    table: pa.Table,
    rows: np.ndarray | None,
    interval_ns: int | None,
    short_run_min: float = 5.0,
) -> SessionChecks:
    """Session checks of one symbol's sorted, open-stamped bars; ``ran`` is False when they do not apply."""
    if table.num_rows == 0 or not interval_ns:
        return SessionChecks()
    ts = np.asarray(table.column("datetime").cast(pa.int64()).to_numpy())
    first = dt.datetime.fromtimestamp(int(ts[0]) // 1_000_000_000, dt.UTC).date()
    last = dt.datetime.fromtimestamp(int(ts[-1]) // 1_000_000_000, dt.UTC).date()
    try:
        contract = parse_symbol(symbol, first, last)
    except FuturesError as exc:
        return SessionChecks(findings=[Finding(FUTURES_SYMBOL, f"{exc}; session checks skipped", "warning")])
    if contract is None:
        return SessionChecks()
    # Imported here: the session calendar needs pandas, which a plain ingest never loads otherwise.
    from trading_pipeline.futures.coverage import analyse_contract, tick_grid_finding

    out = SessionChecks(ran=interval_ns < DAY_NS)
    prices = {c: table.column(c).to_numpy() for c in PRICE_COLUMNS if c in table.column_names}
    grid = tick_grid_finding(prices, contract.product.tick, rows) if prices else None
    out.findings += [grid] if grid else []
    if out.ran:
        coverage = analyse_contract(contract, ts, interval_ns, rows, int(short_run_min * 60e9))
        out.findings += coverage.findings
        out.sessions = coverage.sessions
    return out
