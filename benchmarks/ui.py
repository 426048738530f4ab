"""Benchmark: first render of each UI page on a loaded data folder, and the chart of a 5M-row symbol.

    .venv/bin/python benchmarks/ui.py                       # 50 sources, 20,000 ledger rows, 5M bars
    .venv/bin/python benchmarks/ui.py --rows 1000000 --repeat 1

The data folder gets 50 sources (data/raw and 49 upload sessions, each with one ingested file of 2,000
bars), 20,000 ledger rows (queued files spread over the sources, 2,000 of them rejected with a report),
and one finished research run. Each page is rendered by ``streamlit.testing.v1.AppTest`` from the real
``ui/app.py`` with every cache cleared first: the time is the page's whole script run (the script
thread's work a browser waits for, without the browser's own drawing). The chart is the Sources page's
chart path for one stored symbol of ``--rows`` bars (``chart_data``: read the stored Parquet's columns,
merge to at most 2,000 candles, count bars per day), then the Plotly figure, rendered under AppTest.
Goals: 1.5 s per page, 2 s for the chart.
Best and median of ``--repeat`` runs are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testkit import bars_to_csv, make_bars  # noqa: E402
from trading_pipeline.ingest.ingestor import DataIngestor  # noqa: E402
from trading_pipeline.ingest.options import IngestOptions  # noqa: E402
from trading_pipeline.ledger import Ledger, SeenFile  # noqa: E402
from trading_pipeline.report import FileReport, Finding, SymbolResult  # noqa: E402
from trading_pipeline.settings import Settings  # noqa: E402
from trading_pipeline.stages.config import RunConfig  # noqa: E402
from trading_pipeline.stages.runner import run_inline, start_run  # noqa: E402
from trading_pipeline.statuses import FileStatus  # noqa: E402
from trading_pipeline.store import BarStore  # noqa: E402

APP = str(REPO / "ui" / "app.py")
PAGES = ("upload", "sources", "configure", "monitor", "queue")
PAGE_GOAL_S = 1.5
CHART_GOAL_S = 2.0


def build(settings: Settings, sources: int, ledger_rows: int) -> None:
    from trading_pipeline.sources.sessions import SessionManager

    ingestor = DataIngestor(settings)
    ids = ["default"] + [SessionManager(settings).create_session() for _ in range(sources - 1)]
    for i, source_id in enumerate(ids):
        folder = settings.raw_dir if source_id == "default" else settings.uploads_dir / source_id / "files"
        path = folder / f"SYM{chr(65 + i % 26)}{chr(65 + i // 26)}_1m.csv"
        path.write_bytes(bars_to_csv(make_bars(2000, seed=i, tz=None)))
        ingestor.ingest(path, IngestOptions(source_id=source_id, tz="UTC"))
    ledger = Ledger(settings)
    seen = [
        SeenFile(ids[n % len(ids)], f"/bench/{n:05d}.csv", f"{n:064x}", 1000, 0.0, f"job-{n}")
        for n in range(ledger_rows - len(ids))
    ]
    ledger.record_queued(seen)
    for f in seen[: ledger_rows // 10]:
        report = FileReport(f.path, FileStatus.REJECTED, sha256=f.sha256, source_id=f.source_id)
        report.add(Finding("ohlc", "rows 11-13: high below low", rows=(11, 12, 13), count=3))
        ledger.record_report(report)
    record = start_run(settings, RunConfig(symbols=("SYMAA",), min_class_share=0.0), queued=False)
    run_inline(settings, record.run_id)


def render(page: str) -> float:
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    if page != "upload":  # the app opens on Upload: reach another page first, then time its render
        at.run()
        at.switch_page(f"pages/{page}.py")
    return _timed_run(at, page)


def _timed_run(at: AppTest, what: str) -> float:
    """Seconds of one script run; a run that ends in an exception stops the benchmark."""
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"{what}: {at.exception[0].value}")
    return elapsed


def store_big_symbol(settings: Settings, rows: int) -> None:
    """A stored symbol of ``rows`` bars in data/raw, recorded in the ledger as an ingest would."""
    bars = make_bars(rows, seed=9)
    sha = f"{rows:064x}"
    path = BarStore(settings.processed_dir).path_for("default", "BIG", sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    bars.to_parquet(path)
    start, end = bars["datetime"].iloc[0].to_pydatetime(), bars["datetime"].iloc[-1].to_pydatetime()
    report = FileReport(
        str(settings.raw_dir / "BIG_1m.csv"), FileStatus.INGESTED, sha256=sha, source_id="default"
    )
    report.symbols["BIG"] = SymbolResult(rows, start, end, output=str(path))
    Ledger(settings).record_report(report)


def chart_app() -> None:
    from trading_pipeline.settings import Settings as _Settings
    from trading_pipeline.views.sources import chart_data
    from ui.components.chart import show_candles

    show_candles(chart_data(_Settings(), "default", "BIG"), title="BIG")


def chart() -> float:
    return _timed_run(AppTest.from_function(chart_app, default_timeout=120), "chart")


def report(name: str, times: list[float], goal: float) -> None:
    best, median = min(times), statistics.median(times)
    verdict = "ok" if best <= goal else "OVER GOAL"
    print(f"{name:<12} best {best:6.3f} s  median {median:6.3f} s  (goal {goal} s) {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--ledger-rows", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=5_000_000, help="bars of the charted symbol")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, help="keep the data folder here (built once, then reused)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        data = args.data or Path(tmp) / "data"
        os.environ["PIPELINE_DATA_DIR"] = str(data)
        os.environ.pop("PIPELINE_REDIS_URL", None)
        os.environ.pop("REDIS_URL", None)
        settings = Settings()
        fresh = not settings.ledger_path.exists()
        settings.ensure_dirs()
        started = time.perf_counter()
        if fresh:
            build(settings, args.sources, args.ledger_rows)
        rows = sum(Ledger(settings).count_by_status().values())
        print(f"data folder: {args.sources} sources, {rows:,} ledger rows, 1 run "
              f"(built in {time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip
        for page in PAGES:
            report(page, [render(page) for _ in range(args.repeat)], PAGE_GOAL_S)
        if fresh:
            store_big_symbol(settings, args.rows)
        report(f"chart {args.rows / 1e6:g}M", [chart() for _ in range(args.repeat)], CHART_GOAL_S)


if __name__ == "__main__":
    main()
