"""Start-up time of the `pipeline` command, whole process, on a ledger of 20,000 files.

    .venv/bin/python benchmarks/startup.py [--rows 20000] [--repeat 7]

Prints the best and the median wall time and the median CPU time of each command (a fresh process
each time) against its goal, after the bare interpreter's as a floor. The ledger is written once into
a temporary data folder (on /dev/shm where there is one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from testkit import ThrowawayRedis
from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport, Finding, SymbolResult
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FileStatus

BIN = Path(sys.executable).parent
GOALS_S = {"--help": 0.25, "files": 0.25, "files --json": None, "jobs": 0.4, "status": None}


def fill_ledger(settings: Settings, rows: int) -> None:
    ledger = Ledger(settings)
    start = datetime(2024, 1, 2, tzinfo=UTC)
    for i in range(rows):
        status = FileStatus.REJECTED if i % 10 == 0 else FileStatus.INGESTED
        report = FileReport(path=f"{settings.raw_dir}/F{i:05d}_1m.csv", status=status, sha256=f"{i:064x}")
        report.source_id = "default"
        if status == FileStatus.INGESTED:
            report.symbols = {f"S{i % 50}": SymbolResult(10_000, start, start, f"/p/{i}.parquet")}
        else:
            report.add(Finding.at_rows("ohlc", "high below low", [3, 4, 5]))
        ledger.record_report(report)


def timed(argv: list[str], env: dict[str, str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of ``repeat`` fresh processes. CPU time is the steadier
    figure on a shared machine: other load stretches the wall time, not the work."""
    walls, cpus = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        walls.append(time.perf_counter() - started)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(argv)} failed")
        cpus.append(usage.ru_utime + usage.ru_stime)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="startup-bench-", dir=base) as tmp:
        settings = Settings.from_env({}, data_dir=Path(tmp) / "data")
        settings.ensure_dirs()
        t0 = time.perf_counter()
        fill_ledger(settings, args.rows)
        print(f"ledger: {args.rows:,} files written in {time.perf_counter() - t0:.1f} s")
        with ThrowawayRedis(Path(tmp)) as redis_server:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_") and k != "REDIS_URL"}
            env.update(PIPELINE_DATA_DIR=str(settings.data_dir), PIPELINE_REDIS_URL=redis_server.url)
            timed([str(BIN / "pipeline"), "--help"], env, 2)  # warm the page cache
            print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            print(f"{'command':<24}{'best':>8}{'median':>9}{'cpu':>8}  goal (wall)")
            rows = {"python -c pass": ([sys.executable, "-c", "pass"], None)}
            rows |= {f"pipeline {c}": ([str(BIN / "pipeline"), *c.split()], g) for c, g in GOALS_S.items()}
            for name, (argv, goal) in rows.items():
                walls, cpus = timed(argv, env, args.repeat)
                verdict = "" if goal is None else f"< {goal} s {'ok' if min(walls) < goal else 'MISSED'}"
                print(
                    f"{name:<24}{min(walls):>7.3f}s{statistics.median(walls):>8.3f}s"
                    f"{statistics.median(cpus):>7.3f}s  {verdict}"
                )


if __name__ == "__main__":
    main()
