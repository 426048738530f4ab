"""Benchmark: the full `pipeline ingest` path against the raw pyarrow CSV->Parquet floor.

    .venv/bin/python benchmarks/ingest.py              # 5,000,000 rows (the issue's goal)
    .venv/bin/python benchmarks/ingest.py --rows 200000 --repeat 1

Generates a 1-minute CSV (``datetime,open,high,low,close,volume``, naive America/Chicago wall-clock time
on the CME Globex schedule: Sunday 17:00 to Friday 16:00 with the daily 16:00-17:00 break, so no bar sits
in a DST gap or fold) once and caches it. Then, each in a fresh subprocess, alternating, ``--repeat``
times:

* **floor**: ``pyarrow.csv.read_csv`` + ``pyarrow.parquet.write_table``, no validation;
* **ingest**: the real ``pipeline ingest FILE --tz America/Chicago --json`` command into an empty data
  folder (so it never sees a duplicate);
* **in-process**: ``DataIngestor.ingest`` called from a bare ``python -c`` (no CLI start-up: typer and
  every command module), timing each stage from its progress callback.

Wall time is measured around the subprocess (interpreter start and imports included for both), peak
RSS from ``os.wait4`` (the rusage of that one child). Goal: ingest <= 1.5x the floor's time and
<= 2x its peak RSS. Best and median times are printed; ratios use the best runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

VENV_BIN = Path(sys.executable).parent
FLOOR = """
import sys, pyarrow.csv as csv, pyarrow.parquet as pq
table = csv.read_csv(sys.argv[1])
pq.write_table(table, sys.argv[2])
print(table.num_rows)
"""
STAGES = """
import json, sys, time
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.logs import configure_logging
from trading_pipeline.settings import Settings
configure_logging("warning", "json")
marks = []
def progress(stage, percent):
    marks.append((stage, time.perf_counter()))
start = time.perf_counter()
report = DataIngestor(Settings.from_env({}, data_dir=sys.argv[2])).ingest(
    sys.argv[1], IngestOptions(tz="America/Chicago"), progress=progress)
marks.append(("end", time.perf_counter()))
spans = {a[0]: round(b[1] - a[1], 3) for a, b in zip(marks, marks[1:])}
print(json.dumps({"status": report.status, "rows": report.total_rows, "stages": spans}))
"""


def globex_minutes(rows: int, start: str = "2012-01-01") -> np.ndarray:
    """Naive wall-clock minute stamps on the Globex week, starting on a Sunday."""
    week = np.arange(7 * 1440)
    day, minute = week // 1440, week % 1440
    open_ = (day == 0) & (minute >= 17 * 60)
    open_ |= (day >= 1) & (day <= 4) & ((minute < 16 * 60) | (minute >= 17 * 60))
    open_ |= (day == 5) & (minute < 16 * 60)
    template = week[open_]
    weeks = -(-rows // template.size)
    offsets = (np.arange(weeks)[:, None] * 7 * 1440 + template[None, :]).ravel()[:rows]
    return np.datetime64(start, "m") + offsets.astype("timedelta64[m]")


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A random walk around 4000 in 0.25 ticks with consistent OHLC and integer volume."""
    rng = np.random.default_rng(seed)
    close = 4000 + np.cumsum(rng.integers(-4, 5, rows)) * 0.25
    open_ = np.concatenate([[4000.0], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 4, rows) * 0.25
    low = np.minimum(open_, close) - rng.integers(0, 4, rows) * 0.25
    stamps = pa.array(globex_minutes(rows).astype("datetime64[s]"))
    table = pa.table(
        {
            "datetime": pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.integers(1, 2000, rows),
        }
    )
    tmp = path.with_suffix(".part")
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="none"))
    tmp.replace(path)


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one fresh child process."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:3]} failed with exit code {proc.returncode}: {text[:300]}")
    return wall, usage.ru_maxrss / 1024, text


def run_floor(csv_path: Path, work: Path) -> tuple[float, float]:
    wall, rss, _ = measure([sys.executable, "-c", FLOOR, str(csv_path), str(work / "floor.parquet")])
    return wall, rss


def run_ingest(csv_path: Path, work: Path, rows: int) -> tuple[float, float]:
    data = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "PIPELINE_DATA_DIR": str(data)}
    cmd = [str(VENV_BIN / "pipeline"), "ingest", str(csv_path), "--tz", "America/Chicago", "--json"]
    wall, rss, text = measure(cmd, env)
    report = json.loads(text)["files"][0]
    if report["status"] != "ingested" or report["symbols"]["MES"]["rows"] != rows:
        raise SystemExit(f"ingest did not store the bars: {json.dumps(report)[:600]}")
    return wall, rss


def run_in_process(csv_path: Path, work: Path) -> tuple[float, float, dict[str, float]]:
    data = Path(tempfile.mkdtemp(dir=work))
    wall, rss, text = measure([sys.executable, "-c", STAGES, str(csv_path), str(data)])
    return wall, rss, dict(json.loads(text.strip().splitlines()[-1])["stages"])


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each method")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "trading-pipeline-bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    csv_path = args.cache / f"MES_1m_{args.rows}.csv"
    if not csv_path.exists():
        print(f"generating {args.rows:,} rows into {csv_path} ...", flush=True)
        generate(csv_path, args.rows)
    csv_path.read_bytes()  # into the page cache, so neither method pays for the first read
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        work = Path(tmp)
        floors, ingests, cores = [], [], []
        stages: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            floors.append(run_floor(csv_path, work))
            ingests.append(run_ingest(csv_path, work, args.rows))
            wall, rss, spans = run_in_process(csv_path, work)
            cores.append((wall, rss))
            for stage, seconds in spans.items():
                stages.setdefault(stage, []).append(seconds)
    report(args.rows, csv_path, floors, {"pipeline ingest (CLI)": ingests, "DataIngestor in-process": cores})
    medians = {k: statistics.median(v) for k, v in stages.items() if k != "done"}
    print("in-process stages, median s: " + ", ".join(f"{k} {v:.2f}" for k, v in medians.items()))


def report(
    rows: int,
    csv_path: Path,
    floors: list[tuple[float, float]],
    methods: dict[str, list[tuple[float, float]]],
) -> None:
    """Best and median of each method; ratios against the floor's best (the shared machines are noisy,
    and the best run is the one least disturbed by other processes)."""
    size_mb = csv_path.stat().st_size / 1e6
    print(f"{rows:,} rows, {size_mb:.0f} MB CSV, {len(floors)} runs each, fresh processes")
    print(f"{'':38}{'best s':>8}{'median s':>10}{'peak RSS MB':>13}{'time':>8}{'RSS':>7}")
    floor_s, floor_mb = min(w for w, _ in floors), statistics.median(m for _, m in floors)
    for name, runs in {"floor: pyarrow read_csv + write_table": floors, **methods}.items():
        best, median = min(w for w, _ in runs), statistics.median(w for w, _ in runs)
        mb = statistics.median(m for _, m in runs)
        print(f"{name:38}{best:8.2f}{median:10.2f}{mb:13.0f}{best / floor_s:7.2f}x{mb / floor_mb:6.2f}x")
    print("goal: <= 1.50x the floor's time, <= 2.00x its peak RSS (time ratios from the best runs)")


if __name__ == "__main__":
    main()
