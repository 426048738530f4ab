"""Time a research run: N symbols x M one-minute bars, end to end and per stage, inline and on RQ.

    .venv/bin/python benchmarks/pipeline.py                       # 2 symbols x 2,000,000 bars
    .venv/bin/python benchmarks/pipeline.py --rows 200000 --no-rq --timeframe 5min

Set-up (not timed): synthetic bars are stored as ingest would store them (Parquet in the store, rows in
the ledger) in a temporary data folder. The RQ run uses an embedded redis-server and two forking
`pipeline worker pipeline` processes (falling back to `rq worker`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from jobqueue import PIPELINE_QUEUE, connect
from jobqueue.runs import start_queued_run, wait_for_run
from stack.embedded_redis import EmbeddedRedis
from testkit import make_bars
from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport, SymbolResult
from trading_pipeline.schema import conform
from trading_pipeline.settings import Settings
from trading_pipeline.stages import STAGE_NAMES, RunConfig, RunRecord, build_config, run_inline, start_run
from trading_pipeline.store import BarStore

BIN = Path(sys.executable).parent


def store_symbol(settings: Settings, symbol: str, rows: int, seed: int) -> None:
    bars = make_bars(rows, seed=seed, start="2020-01-01")
    sha = hashlib.sha256(f"{symbol}-{rows}-{seed}".encode()).hexdigest()
    store = BarStore(settings.processed_dir)
    out = store.write(
        conform(pa.Table.from_pandas(bars, preserve_index=False)), store.path_for("default", symbol, sha)
    )
    first, last = bars["datetime"].iloc[0].to_pydatetime(), bars["datetime"].iloc[-1].to_pydatetime()
    report = FileReport(
        path=str(settings.raw_dir / f"{symbol}.csv"),
        status="ingested",
        symbols={symbol: SymbolResult(rows, first, last, str(out))},
        sha256=sha,
        source_id="default",
    )
    Ledger(settings).record_report(report)


def _seconds(value: float | None) -> float:
    return float("nan") if value is None else value


def print_record(title: str, record: RunRecord, wall_s: float) -> None:
    print(f"\n{title}: {wall_s:.2f} s end to end, status {record.status}")
    print(f"  {'stage':<10}" + "".join(f"{s:>12}" for s in record.symbols) + f"{'rows out':>14}")
    for stage in STAGE_NAMES:
        cells = [_seconds(record.stage(s, stage).seconds) for s in record.symbols]
        rows = next(iter(record.symbols.values())).stages[stage].rows_out or 0
        print(f"  {stage:<10}" + "".join(f"{c:>11.2f}s" for c in cells) + f"{rows:>14,}")
    total = sum(st.seconds or 0 for sym in record.symbols.values() for st in sym.stages.values())
    print(f"  sum of stage times {total:.2f} s")


def start_workers(env: dict[str, str], url: str, count: int) -> list[subprocess.Popen[bytes]]:
    ours = (
        subprocess.run([str(BIN / "pipeline"), "worker", "--help"], env=env, capture_output=True).returncode
        == 0
    )
    argv = (
        [str(BIN / "pipeline"), "worker", "--without-scheduler", PIPELINE_QUEUE]
        if ours
        else [
            str(BIN / "rq"),
            "worker",
            "-u",
            url,
            "--serializer",
            "rq.serializers.JSONSerializer",
            PIPELINE_QUEUE,
        ]
    )
    print(f"  workers: {' '.join(Path(argv[0]).name for _ in range(1))} {' '.join(argv[1:])} x{count}")
    return [
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def run_rq(settings: Settings, config: RunConfig, workers: int) -> None:
    with EmbeddedRedis(settings) as server:
        env = {**os.environ, "PIPELINE_DATA_DIR": str(settings.data_dir), "PIPELINE_REDIS_URL": server.url}
        procs = start_workers(env, server.url, workers)
        try:
            connection = connect(server.url)
            time.sleep(2.0)  # let the workers import pandas before the clock starts
            started = time.perf_counter()
            record = start_queued_run(connection, settings, config)
            record = wait_for_run(settings, record.run_id, connection, poll_s=0.05)
            print_record(f"RQ, {workers} workers", record, time.perf_counter() - started)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--symbols", default="MES,MGC")
    parser.add_argument("--timeframe", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-rq", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        settings = Settings.from_env({}, data_dir=root / "data")
        settings.ensure_dirs()
        symbols = args.symbols.split(",")
        t0 = time.perf_counter()
        for i, symbol in enumerate(symbols):
            store_symbol(settings, symbol, args.rows, seed=i)
        print(
            f"set-up: {len(symbols)} symbols x {args.rows:,} bars stored in {time.perf_counter() - t0:.1f} s"
        )
        config = build_config(symbols=args.symbols, timeframe=args.timeframe)
        started, cpu = time.perf_counter(), time.process_time()
        record = start_run(settings, config, queued=False)
        record = run_inline(settings, record.run_id)
        print_record("inline", record, time.perf_counter() - started)
        # CPU time of this process (all threads): less sensitive than wall time to other load on
        # the machine, and on an idle machine with N cores the wall time is at least CPU / N.
        print(f"  CPU time {time.process_time() - cpu:.2f} s (PIPELINE_RUN_THREADS={settings.run_threads})")
        if not args.no_rq:
            run_rq(settings, config, args.workers)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
