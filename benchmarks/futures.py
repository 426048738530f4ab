"""Benchmark: session-aware gap analysis of 5M one-minute bars, and a 20-contract continuous build.

    .venv/bin/python benchmarks/futures.py
    .venv/bin/python benchmarks/futures.py --bars 1000000 --contracts 8

Gap analysis: ``analyse_contract`` on MES one-minute bar opens laid on the CME Globex sessions from
2011 on (2% of the minutes removed at random, one 30-minute outage a week), every session judged.
Build: ``build_continuous`` of ``--contracts`` quarterly MES contracts of one-minute bars, each traded
for 180 days before its last trade, volume roll, ratio adjustment, Parquet series and roll log written.
Prints wall times; data generation is not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np

from testkit.futures import make_chain
from trading_pipeline.futures.calendar import session_calendar
from trading_pipeline.futures.continuous import build_continuous
from trading_pipeline.futures.coverage import analyse_contract
from trading_pipeline.futures.roll import RollRule
from trading_pipeline.futures.symbols import Contract, parse_contract

MINUTE = 60 * 1_000_000_000


def _stamps(n: int, seed: int = 0) -> np.ndarray:
    sessions = session_calendar("MES").sessions(dt.date(2011, 1, 3), dt.date(2026, 12, 31))
    starts, ends, _ = sessions.windows()
    stamps = np.concatenate(
        [np.arange(a, b, MINUTE, dtype=np.int64) for a, b in zip(starts, ends, strict=True)]
    )
    stamps = stamps[: int(n / 0.98) + 1]
    rng = np.random.default_rng(seed)
    keep = rng.random(len(stamps)) > 0.02
    # Thursdays 16:40-17:10 UTC (the epoch began on a Thursday): inside the session every week.
    minute_of_week = (stamps // MINUTE) % (7 * 1440)
    keep &= ~((minute_of_week >= 1000) & (minute_of_week < 1030))
    return stamps[keep][:n]


def gap_analysis(n: int) -> None:
    ts = _stamps(n)
    first = dt.datetime.fromtimestamp(int(ts[0]) // 10**9, dt.UTC).date()
    last = dt.datetime.fromtimestamp(int(ts[-1]) // 10**9, dt.UTC).date()
    contract = Contract(last.year + 1, 3, "MES")
    started = time.perf_counter()
    report = analyse_contract(contract, ts, MINUTE, judged_span=(first, last + dt.timedelta(days=2)))
    seconds = time.perf_counter() - started
    runs = sum(s["missing_runs"] for s in report.sessions)
    print(
        f"gap analysis: {len(ts):,} one-minute bars, {len(report.sessions):,} sessions, "
        f"{runs:,} missing runs, {len(report.findings)} findings: {seconds:.2f} s"
    )


def build(contracts: int) -> None:
    symbols = []
    contract = Contract(2021, 3, "MES")
    for _ in range(contracts):
        symbols.append(contract.code)
        contract = Contract(contract.year + (contract.month == 12), contract.month % 12 + 3, "MES")
    chain = make_chain(
        symbols,
        start="2020-09-01",
        interval="1min",
        mode="ratio",
        factors=[1.0 + 0.002 * k for k in range(contracts)],
        crossings=[None] * (contracts - 1),
        lifetime_days=180,
    )
    bars = {parse_contract(s): frame for s, frame in chain.items()}
    rows = sum(len(f) for f in bars.values())
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = build_continuous("MES", bars, Path(tmp), rule=RollRule("volume"), adjust="ratio")
        seconds = time.perf_counter() - started
    print(
        f"continuous build: {contracts} contracts, {rows:,} input bars -> {result.rows:,} bars, "
        f"{len(result.rolls)} rolls: {seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=5_000_000)
    parser.add_argument("--contracts", type=int, default=20)
    args = parser.parse_args()
    gap_analysis(args.bars)
    build(args.contracts)


if __name__ == "__main__":
    main()
