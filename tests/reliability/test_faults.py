"""The fault-injection suite: real processes, real Redis, real files, faults injected mid-work, and the
one shared checker (``testkit.faults.Harness.check``) after every scenario. Loopback only; each
scenario settles within ``SCENARIO_TIMEOUT_S`` or fails, and pytest-timeout bounds it as a whole.

Each test asserts that the checker counted exactly what ``testkit.scenarios.SCENARIOS`` declares: the
README's reliability table is printed from that declaration.
"""

from __future__ import annotations

import gzip
import os
import random
import subprocess
import threading
from pathlib import Path

import pytest

from testkit.faults import BAD_CSV, Harness, Outcome, bar_csv, pause, wait_rows
from testkit.scenarios import SCENARIOS
from trading_pipeline.statuses import FileStatus

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def assert_declared(name: str, outcome: Outcome) -> None:
    declared = SCENARIOS[name]
    assert (outcome.files, outcome.ingested, outcome.rejected) == (
        declared.files,
        declared.ingested,
        declared.rejected,
    )
    other = ", ".join(f"{n} {status}" for status, n in sorted(outcome.other.items()))
    assert other == declared.other
    assert outcome.lost == 0 and outcome.duplicated == 0


def test_worker_sigkill_at_random_points(harness: Harness) -> None:
    harness.start_daemon()
    harness.start_workers(2)
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)

    def killer() -> None:
        for _ in range(3):
            pause(rng.uniform(0.3, 1.2))
            victim = rng.choice(harness.workers)
            harness.kill(victim)
            harness.start_workers(1)

    thread = threading.Thread(target=killer)
    harness.drop_valid(50)
    thread.start()
    harness.drop_valid(50, start=50)
    thread.join(60)
    try:
        assert_declared("worker_sigkill", harness.check())
    except AssertionError as exc:
        raise AssertionError(f"random seed {seed}: {exc}") from exc


def test_daemon_sigkill_during_a_1000_file_burst(harness: Harness) -> None:
    daemon = harness.start_daemon()
    harness.start_workers(2)
    harness.drop_valid(500, rows=5)
    wait_rows(harness, 100, {"queued", "ingesting", "ingested"})
    harness.kill(daemon)
    harness.drop_valid(450, rows=5, start=500)
    for i in range(50):
        harness.drop(f"BAD{i:03d}_1m.csv", BAD_CSV, FileStatus.REJECTED)
    harness.start_daemon()
    assert_declared("daemon_sigkill", harness.check())


@pytest.mark.parametrize("keep_data", [True, False], ids=["with_data", "without_data"])
def test_redis_stopped_mid_burst_and_restarted(tmp_path: Path, keep_data: bool) -> None:
    harness = Harness(tmp_path, persistent_redis=keep_data)
    try:
        harness.start_daemon()
        harness.start_workers(2)
        harness.drop_valid(100, rows=10)
        wait_rows(harness, 30, {"ingested"})
        if keep_data:
            harness.redis.stop()
        else:
            harness.redis.kill()
            harness.redis.forget_data()
        harness.drop_valid(100, rows=10, start=100)  # dropped while Redis is down
        pause(2.0)
        harness.redis.start()
        name = "redis_restart_with_data" if keep_data else "redis_restart_without_data"
        assert_declared(name, harness.check())
    finally:
        harness.close()


def test_redis_flushed_mid_burst(harness: Harness) -> None:
    harness.start_daemon()
    harness.start_workers(2)
    harness.drop_valid(200, rows=10)
    wait_rows(harness, 40, {"ingested"})
    harness.connection.flushall()
    assert_declared("redis_flushed", harness.check())


def _mount_tmpfs(target: Path, size: str) -> bool:
    """A small tmpfs over ``target`` where the machine allows (root, mount permitted)."""
    if os.geteuid() != 0:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True, check=False
    )
    return result.returncode == 0


def test_the_disk_fills_during_writes(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    processed = harness.settings.processed_dir
    if not _mount_tmpfs(processed, "6m"):
        harness.close()
        pytest.skip(
            "no tmpfs here (not root or mount refused): test_disk_full_injected covers ENOSPC in-process"
        )
    try:
        ballast = processed / "ballast.bin"
        with ballast.open("wb") as out:  # fill it to the last few KB
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass
        harness.start_daemon()
        harness.start_workers(2)
        harness.drop_valid(40, rows=400)
        wait_rows(harness, 1, {"queued"})
        pause(2.0)  # writes fail with ENOSPC and are retried with back-off
        ballast.unlink()
        outcome = harness.check()
        assert_declared("disk_full", outcome)
        assert any("retrying" in line or "No space" in line for p in harness.workers for line in [p.output()])
    finally:
        harness.close()
        subprocess.run(["umount", "-l", str(processed)], check=False, capture_output=True)


def test_a_file_deleted_or_replaced_between_event_and_job(harness: Harness) -> None:
    harness.start_daemon()
    paths = harness.drop_valid(40, rows=10)
    wait_rows(harness, 40, {"queued"})
    for path in paths[:10]:
        path.unlink()
        harness.expected[path] = (FileStatus.VANISHED, 0)
    for i, path in enumerate(paths[10:20]):
        harness.drop(path.name, bar_csv(12, 1000 + i))  # new content under the same name
    harness.start_workers(2)
    assert_declared("vanish_or_replace", harness.check())


def test_two_daemons_on_one_folder(harness: Harness) -> None:
    harness.start_daemon()
    harness.start_daemon()
    harness.start_workers(2)
    harness.drop_valid(200, rows=10)
    assert_declared("two_daemons", harness.check())


def test_hostile_files_in_the_drop_folder(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.env["PIPELINE_MAX_DECOMPRESSED_MB"] = "1"
    try:
        harness.start_daemon()
        harness.start_workers(2)
        raw = harness.settings.raw_dir
        os.mkfifo(raw / "FIFO_1m.csv")
        harness.expected[raw / "FIFO_1m.csv"] = (FileStatus.IGNORED, 0)
        secret = tmp_path / "secret.csv"
        secret.write_text("root:SECRET:1:2\n")
        (raw / "SHADOW_1m.csv").symlink_to(secret)
        harness.expected[raw / "SHADOW_1m.csv"] = (FileStatus.IGNORED, 0)
        (raw / "BROKEN_1m.csv").symlink_to(tmp_path / "missing.csv")
        harness.expected[raw / "BROKEN_1m.csv"] = (FileStatus.IGNORED, 0)
        bomb = raw / "BOMB_1m.csv.gz"
        with gzip.open(bomb, "wb", compresslevel=9) as out:
            out.write(bar_csv(20, 1).encode())
            out.write(b"2024-01-02 10:00:00,1,2,0.5,1.5,1\n" * 100_000)
        harness.expected[bomb] = (FileStatus.REJECTED, 0)
        harness.drop("JUNK_1m.csv", "\x00\x01\x02binary\xff" * 100, FileStatus.REJECTED)
        harness.drop_valid(20, rows=10)
        outcome = harness.check()
        assert_declared("hostile_drop", outcome)
        reasons = " ".join(r.reason for r in harness.current().values())
        assert "SECRET" not in reasons and "PIPELINE_MAX_DECOMPRESSED_MB" in reasons
    finally:
        harness.close()


def test_disk_full_injected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no tmpfs can be mounted, ENOSPC is injected mid-write: the partial temp file is removed,
    the failure is infrastructure (retried by RQ, never a rejection), and the retry stores the bars once."""
    import errno

    import pyarrow.parquet as pq

    from trading_pipeline.errors import StoreError
    from trading_pipeline.ingest.ingestor import DataIngestor
    from trading_pipeline.ledger import Ledger
    from trading_pipeline.settings import Settings

    settings = Settings.from_env({}, data_dir=tmp_path / "data")
    settings.ensure_dirs()
    path = settings.raw_dir / "MES_1m.csv"
    path.write_text(bar_csv(200, 1))
    real_write = pq.write_table

    def full_disk(table: object, where: object, **kwargs: object) -> None:
        Path(str(where)).write_bytes(b"PAR1" + b"\0" * 1000)  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("trading_pipeline.store.pq.write_table", full_disk)
    with pytest.raises(StoreError, match="No space left"):
        DataIngestor(settings).ingest(path)
    assert not [p for p in settings.data_dir.rglob("*") if p.name.endswith(".tmp")]
    assert not list(settings.processed_dir.rglob("*.parquet"))
    monkeypatch.setattr("trading_pipeline.store.pq.write_table", real_write)
    report = DataIngestor(settings).ingest(path)
    assert report.status == FileStatus.INGESTED
    assert [r.status for r in Ledger(settings).files()] == ["ingested"]
    stored = list(settings.processed_dir.rglob("*.parquet"))
    assert len(stored) == 1 and pq.read_metadata(stored[0]).num_rows == 200
