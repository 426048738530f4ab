"""Dropping files into data/raw with the daemon and real workers running: every file once, every row once."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from rq.job import Job

from jobqueue import SERIALIZER
from testkit import enqueue, make_bars, wait_for, write_bars_csv
from trading_pipeline.durable import file_sha256

pytestmark = pytest.mark.integration

BAD_CSV = "datetime,open,high,low,close,volume\n2024-01-02 00:00:00,10,9,8,9.5,1\n"


def _write(directory: Path, name: str, rows: int, seed: int) -> Path:
    return write_bars_csv(directory / name, make_bars(rows, seed=seed, tz=None))


def test_copy_rename_and_slow_writer(stack: Any, exactly_once: Callable[..., None], tmp_path: Path) -> None:
    """cp, mv from the same disk, and a writer that takes ~4 s: each ingested once, whole."""
    raw = stack.settings.raw_dir
    stack.start_daemon()
    stack.start_workers(2)
    source = _write(tmp_path / "outside", "AAA_1m.csv", 800, seed=1)
    shutil.copy(source, raw / "AAA_1m.csv")
    staged = _write(raw / ".staging", "BBB_1m.csv.part", 900, seed=2)  # a temp name in the folder
    staged.rename(raw / "BBB_1m.csv")
    slow = _write(tmp_path / "outside", "CCC_1m.csv", 3000, seed=3).read_bytes()
    with (raw / "CCC_1m.csv").open("wb") as out:
        step = len(slow) // 20 + 1
        for start in range(0, len(slow), step):  # byte offsets, not lines: half rows in between
            out.write(slow[start : start + step])
            out.flush()
            time.sleep(0.2)
    rows = stack.wait_final(3)
    exactly_once(stack.settings, rows, {"AAA_1m.csv": 800, "BBB_1m.csv": 900, "CCC_1m.csv": 3000})


def test_five_hundred_files_at_once_some_bad(
    stack: Any, exactly_once: Callable[..., None], tmp_path: Path
) -> None:
    """A burst of 500 renames into the folder: no file missed, none twice; bad ones rejected."""
    stack.start_daemon()
    stack.start_workers(2)
    staging = tmp_path / "staging"
    staging.mkdir()
    inputs: dict[str, int] = {}
    rejected = set()
    for i in range(500):
        name = f"SYM{i:03d}_1m.csv"
        if i % 50 == 7:
            (staging / name).write_text(BAD_CSV)
            rejected.add(name)
            inputs[name] = 0
        else:
            _write(staging, name, 60, seed=i)
            inputs[name] = 60
    for path in staging.iterdir():
        path.rename(stack.settings.raw_dir / path.name)
    rows = stack.wait_final(500, timeout_s=240)
    exactly_once(stack.settings, rows, inputs, rejected)


def test_the_same_bytes_twice(stack: Any, exactly_once: Callable[..., None], tmp_path: Path) -> None:
    """Same name rewritten with identical bytes: one job. Same bytes under a new name: a duplicate."""
    raw = stack.settings.raw_dir
    stack.start_daemon()
    stack.start_workers(2)
    source = _write(tmp_path / "outside", "DDD_1m.csv", 500, seed=4)
    shutil.copy(source, raw / "DDD_1m.csv")
    shutil.copy(source, raw / "DDD_1m.csv")
    shutil.copy(source, raw / "DDD_copy_1m.csv")
    rows = stack.wait_final(2)
    assert sorted(r.status for r in rows) == ["duplicate", "ingested"]
    exactly_once(stack.settings, rows, {"DDD_1m.csv": 500, "DDD_copy_1m.csv": 500})


def test_files_dropped_while_the_daemon_is_down_are_picked_up_at_start(
    stack: Any, exactly_once: Callable[..., None]
) -> None:
    for i in range(10):
        _write(stack.settings.raw_dir, f"DOWN{i:02d}_1m.csv", 100, seed=i)
    stack.start_workers(2)
    stack.start_daemon()
    rows = stack.wait_final(10)
    exactly_once(stack.settings, rows, {f"DOWN{i:02d}_1m.csv": 100 for i in range(10)})


def test_flushing_redis_while_files_are_queued_loses_nothing(
    stack: Any, exactly_once: Callable[..., None], flush: Callable[[], None]
) -> None:
    """Redis is only the work list: the daemon's reconcile rebuilds it from the ledger and the folder."""
    stack.start_daemon()
    for i in range(20):
        _write(stack.settings.raw_dir, f"FLUSH{i:02d}_1m.csv", 100, seed=i)
    wait_for(
        lambda: len([r for r in stack.ledger() if r.status == "queued"]) == 20,
        timeout_s=60,
        what="20 queued files",
    )
    flush()
    stack.start_workers(2)
    rows = stack.wait_final(20)
    exactly_once(stack.settings, rows, {f"FLUSH{i:02d}_1m.csv": 100 for i in range(20)})


def test_a_worker_killed_mid_job_leaves_exactly_one_copy(
    stack: Any, exactly_once: Callable[..., None]
) -> None:
    """kill -9 of a worker (and its work horse) while it writes; the job is re-run elsewhere."""
    conn = redis.Redis.from_url(stack.env["PIPELINE_REDIS_URL"])
    path = _write(stack.settings.raw_dir, "GGG_1m.csv", 20_000, seed=5)
    # Queued before the daemon starts, under the id the daemon would use, so the daemon finds it
    # active and leaves it be; the job pauses while writing on its first run only.
    enqueue(conn, stack.settings, path, file_sha256(path), pause=("writing", 300))
    stack.start_daemon()
    (victim,) = stack.start_workers(1)
    record = wait_for(
        lambda: next((r for r in stack.ledger() if r.status == "ingesting"), None),
        timeout_s=60,
        what="ingesting",
    )
    job = Job.fetch(record.job_id, connection=conn, serializer=SERIALIZER)
    wait_for(lambda: job.get_meta(refresh=True).get("stage") == "writing", timeout_s=60, what="'writing'")
    stack.start_workers(1)
    killed = time.monotonic()
    victim.kill()
    rows = stack.wait_final(1)
    print(f"e2e kill -9 recovery: {time.monotonic() - killed:.1f} s")
    assert os.path.exists(rows[0].path)
    exactly_once(stack.settings, rows, {"GGG_1m.csv": 20_000})
