"""The futures checks of validation: for a symbol that names a dated contract of a known product, coverage
per CME Globex session (replacing the calendar-blind gap warning), bars inside closures, the tick grid.

Symbols that name no contract (``AAPL``, a bare root ``MES``, a vendor-continuous ``MES.c.0``) are left
alone: a bare root may be any vendor's stitched series, whose provenance the file does not state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.symbols import Contract, parse_symbol
from trading_pipeline.report import Finding
from trading_pipeline.schema import PRICE_COLUMNS

__all__ = ["FUTURES_SYMBOL", "SessionChecks", "contract_of", "coverage_checks", "session_checks"]

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
    *,
    label_given: bool = False,
) -> SessionChecks:
    """Session checks of one symbol's sorted, open-stamped bars; ``ran`` is False when they do not apply.

    ``label_given``: the user stated the bar labelling (``--bar-label``); bars in a closure are then a
    warning, not an error (the file is stored as told, and the warning says what fits instead).
    """
    if table.num_rows == 0 or not interval_ns:
        return SessionChecks()
    ts = np.asarray(table.column("datetime").cast(pa.int64()).to_numpy())
    contract = _contract(symbol, ts)
    if not isinstance(contract, Contract):
        return contract
    from trading_pipeline.futures.coverage import tick_grid_finding

    prices = {c: table.column(c).to_numpy() for c in PRICE_COLUMNS if c in table.column_names}
    grid = tick_grid_finding(prices, contract.product.tick, rows) if prices else None
    return coverage_checks(
        contract, ts, rows, interval_ns, [grid] if grid else [], short_run_min, label_given
    )


def contract_of(symbol: str, ts: np.ndarray) -> Contract | SessionChecks:
    """The contract ``symbol`` names given its bars' times, or the (possibly empty) checks to report."""
    return _contract(symbol, ts)


def _contract(symbol: str, ts: np.ndarray) -> Contract | SessionChecks:
    first = dt.datetime.fromtimestamp(int(ts[0]) // 1_000_000_000, dt.UTC).date()
    last = dt.datetime.fromtimestamp(int(ts[-1]) // 1_000_000_000, dt.UTC).date()
    try:
        contract = parse_symbol(symbol, first, last)
    except FuturesError as exc:
        return SessionChecks(findings=[Finding(FUTURES_SYMBOL, f"{exc}; session checks skipped", "warning")])
    return contract if contract is not None else SessionChecks()


def coverage_checks(
    contract: Contract,
    ts: np.ndarray,
    rows: np.ndarray | None,
    interval_ns: int,
    grid: list[Finding],
    short_run_min: float,
    label_given: bool,
) -> SessionChecks:
    """The tick-grid finding (computed by the caller, whole or per chunk) plus session coverage."""
    # Imported here: the session calendar needs pandas, which a plain ingest never loads otherwise.
    from trading_pipeline.futures.coverage import SESSION_CLOSURE, analyse_contract

    out = SessionChecks(ran=interval_ns < DAY_NS, findings=list(grid))
    if out.ran:
        coverage = analyse_contract(contract, ts, interval_ns, rows, int(short_run_min * 60e9))
        for finding in coverage.findings:
            if label_given and finding.check == SESSION_CLOSURE:
                finding = replace(
                    finding, severity="warning", message=f"{finding.message} (kept: --bar-label was given)"
                )
            out.findings.append(finding)
        out.sessions = coverage.sessions
    return out
