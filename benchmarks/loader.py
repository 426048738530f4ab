"""Benchmark: peak memory of a research run's `load` and `clean` when it resamples (--timeframe 5min).

    .venv/bin/python benchmarks/loader.py                       # one symbol of 20,000,000 1-minute bars
    .venv/bin/python benchmarks/loader.py --rows 2000000 --timeframe 1h

Set-up (not measured): the bars are stored as ingest stores them (one zstd Parquet file in the store,
row groups of 1Mi rows, a row in the ledger) under ``--cache``, once per size. Then, each in a fresh
child process started by this parent (which imports neither numpy nor pyarrow: a child's peak RSS
starts at its parent's), alternating, ``--repeat`` times:

* **whole**: the whole-frame stages, as before bounded loading: `load` reads the symbol into one frame
  and `clean` resamples it in memory;
* **batches**: the same stages as they run now, `load` and `clean` reading ``PIPELINE_RUN_BATCH_ROWS``
  rows at a time;
* **imports**: the child importing the stages and doing nothing, the floor under both.

Peak RSS is the child's own ``ru_maxrss`` once the two stages are done (``os.wait4``'s for the
imports child); times include imports. The clean bars
of both paths are compared by hash, so the saving is never bought with different values.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYMBOL = "BENCH"
SETUP = """
import sys
sys.path.insert(0, sys.argv[3])
from benchmarks.pipeline import store_symbol
from trading_pipeline.settings import Settings
settings = Settings.from_env({}, data_dir=sys.argv[1])
settings.ensure_dirs()
store_symbol(settings, sys.argv[2], int(sys.argv[4]), seed=7)
print("{}")
"""
STAGES = """
import hashlib, json, resource, sys, time
start = time.perf_counter()
import trading_pipeline.stages.execute as execute
from trading_pipeline.settings import Settings
from trading_pipeline.stages import build_config, start_run
from trading_pipeline.stages.handover import read_frame, stage_path
data_dir, mode, timeframe, symbol = sys.argv[1:5]
if mode == "imports":
    print(json.dumps({"seconds": time.perf_counter() - start}))
    raise SystemExit(0)
if mode == "whole":
    execute._streamed = lambda *args: None  # the code path of every run before bounded loading
settings = Settings.from_env({}, data_dir=data_dir)
record = start_run(settings, build_config(symbols=symbol, timeframe=timeframe), queued=False)
for stage in ("load", "clean"):
    execute.execute_stage(settings, record.run_id, symbol, stage)
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the check below reads
clean = read_frame(stage_path(settings, record.run_id, symbol, "clean"))
import pandas as pd
rows = pd.util.hash_pandas_object(clean, index=False).to_numpy().tobytes()
digest = hashlib.sha256(",".join(clean.columns).encode() + rows).hexdigest()[:16]
print(json.dumps({"seconds": seconds, "rows": len(clean), "sha": digest, "peak_mb": peak_mb}))
"""


def measure(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, object]]:
    """(peak RSS in MB, the child's JSON line) of one fresh child process: the peak the child reports
    when its stages are done (before it reads the result back to compare it), else its whole life's."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-c", *args], stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        error = proc.stderr.read().decode()[-800:] if proc.stderr else ""
        raise SystemExit(f"child failed: {error}")
    data: dict[str, object] = json.loads(text.strip().splitlines()[-1])
    return float(str(data.get("peak_mb", usage.ru_maxrss / 1024))), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--timeframe", default="5min")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "trading-pipeline-bench")
    args = parser.parse_args()
    data_dir = args.cache / f"loader-{args.rows}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    env["PYTHONPATH"] = str(ROOT)
    if not (data_dir / "state").exists():
        print(f"storing {args.rows:,} bars in {data_dir} ...", flush=True)
        started = time.perf_counter()
        measure([SETUP, str(data_dir), SYMBOL, str(ROOT), str(args.rows)], env)
        print(f"  stored in {time.perf_counter() - started:.1f} s", flush=True)
    results: dict[str, list[tuple[float, dict[str, object]]]] = {"imports": [], "whole": [], "batches": []}
    for _ in range(args.repeat):
        for mode in results:
            results[mode].append(measure([STAGES, str(data_dir), mode, args.timeframe, SYMBOL], env))
    batch_rows = int(os.environ.get("PIPELINE_RUN_BATCH_ROWS", 1 << 20))
    print(
        f"\nload + clean of {args.rows:,} one-minute bars at --timeframe {args.timeframe} "
        f"(batches of {batch_rows:,} rows), fresh child each, best of {args.repeat}:"
    )
    for mode, runs in results.items():
        rss = min(r for r, _ in runs)
        seconds = min(float(str(d["seconds"])) for _, d in runs)
        rows = runs[0][1].get("rows")
        shown = f", {int(str(rows)):,} clean bars, sha {runs[0][1]['sha']}" if rows is not None else ""
        print(f"  {mode:<8} peak RSS {rss:8.0f} MB  {seconds:7.2f} s{shown}")
    whole, batches = (min(r for r, _ in results[m]) for m in ("whole", "batches"))
    same = results["whole"][0][1]["sha"] == results["batches"][0][1]["sha"]
    print(f"  batches / whole peak RSS: {batches / whole:.2f}; identical clean bars: {same}")


if __name__ == "__main__":
    main()
