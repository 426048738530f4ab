"""Never miss: files dropped while the daemon was down, a flushed Redis, a Redis outage, shares."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest
import redis

from daemon import run_once
from daemon.hashing import file_sha256
from testkit import (
    RunningDaemon,
    csv_bytes,
    job_paths,
    ledger_rows,
    make_settings,
    queued_jobs,
    wait_for,
)
from trading_pipeline.ledger import Ledger

pytestmark = pytest.mark.integration


def test_files_dropped_while_stopped_are_picked_up_at_start(wsettings, conn, start_daemon):
    """Start-up reconcile: files that arrived with no daemon running are enqueued once each."""
    for i in range(5):
        (wsettings.raw_dir / f"OLD{i}.csv").write_bytes(csv_bytes(seed=i))
    time.sleep(wsettings.quiet_period_s)
    start_daemon(wsettings)
    assert len(job_paths(conn, wsettings)) == 5  # the first reconcile is done before the daemon reports ready
    assert {r.status for r in ledger_rows(wsettings)} == {"queued"}


def test_restart_does_not_enqueue_again(wsettings, conn, start_daemon):
    """A second daemon start sees the rows queued with live jobs and adds nothing."""
    (wsettings.raw_dir / "A.csv").write_bytes(csv_bytes())
    time.sleep(wsettings.quiet_period_s)
    first = start_daemon(wsettings)
    assert len(queued_jobs(conn)) == 1
    first.__exit__()
    second = start_daemon(wsettings)
    assert len(queued_jobs(conn)) == 1 and len(ledger_rows(wsettings)) == 1
    assert second.daemon.submitted.enqueued == []


def test_final_rows_are_left_alone(wsettings, conn):
    """A file whose version the ledger already holds as ingested is never enqueued again."""
    path = wsettings.raw_dir / "DONE.csv"
    path.write_bytes(csv_bytes())
    time.sleep(wsettings.quiet_period_s)
    first = run_once(wsettings, conn)
    assert len(first.enqueued) == 1
    (row,) = ledger_rows(wsettings)
    Ledger(wsettings).set_status("default", row.path, row.sha256, "ingested")
    conn.flushall()
    again = run_once(wsettings, conn)
    assert again.enqueued == [] and queued_jobs(conn) == []


def test_inotify_overflow_triggers_a_reconcile(wsettings, conn, start_daemon):
    """watchdog only logs an overflow; the daemon hears it and rescans, finding the lost file."""
    running = start_daemon(wsettings)
    running.daemon.observers.stop()  # from here on, events are "lost"
    (wsettings.raw_dir / "LOST.csv").write_bytes(csv_bytes())
    time.sleep(wsettings.quiet_period_s * 2)
    assert queued_jobs(conn) == []
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    wait_for(lambda: job_paths(conn, wsettings) == [str(wsettings.raw_dir / "LOST.csv")])


def test_flushed_redis_is_rebuilt_by_the_periodic_reconcile(data_dir, redis_url, conn, start_daemon):
    """Rows stuck in queued whose jobs vanished with a FLUSHALL get their jobs back."""
    settings = make_settings(data_dir, redis_url, reconcile_interval_s=0.5)
    start_daemon(settings)
    for i in range(3):
        (settings.raw_dir / f"P{i}.csv").write_bytes(csv_bytes(seed=i))
    wait_for(lambda: len(queued_jobs(conn)) == 3)
    conn.flushall()
    assert queued_jobs(conn) == []
    wait_for(lambda: len(queued_jobs(conn)) == 3)
    assert len(ledger_rows(settings)) == 3


def test_once_rebuilds_jobs_after_a_flush_and_is_idempotent(wsettings, conn):
    """`--once` twice enqueues nothing the second time; after a flush it enqueues everything again."""
    for i in range(4):
        (wsettings.raw_dir / f"Q{i}.csv").write_bytes(csv_bytes(seed=i))
    first = run_once(wsettings, conn)
    assert len(first.enqueued) == 4  # young files are waited for, not skipped
    assert run_once(wsettings, conn).enqueued == []
    conn.flushall()
    assert len(run_once(wsettings, conn).enqueued) == 4
    assert len(queued_jobs(conn)) == 4


def test_row_left_pending_by_a_crash_is_enqueued(wsettings, conn):
    """A crash between ledger and enqueue leaves a pending row; reconcile finishes the job."""
    path = wsettings.raw_dir / "CRASH.csv"
    path.write_bytes(csv_bytes())
    st = path.stat()
    sha = file_sha256(path)
    Ledger(wsettings).record_seen("default", str(path), sha, st.st_size, st.st_mtime)
    time.sleep(wsettings.quiet_period_s)
    assert len(run_once(wsettings, conn).enqueued) == 1
    assert [r.status for r in ledger_rows(wsettings)] == ["queued"]


def test_polling_observer_mode(data_dir, redis_url, conn, start_daemon):
    """force_polling: a copy and a slow writer are each enqueued once, after they are complete."""
    settings = make_settings(data_dir, redis_url, force_polling=True, quiet_period_s=0.4)
    running = start_daemon(settings)
    assert running.daemon.observers.is_polling(settings.raw_dir)
    shutil.copyfile(_write(data_dir / "src.csv", csv_bytes(seed=1)), settings.raw_dir / "COPY.csv")
    wait_for(lambda: job_paths(conn, settings) == [str(settings.raw_dir / "COPY.csv")])
    data = csv_bytes(rows=300, seed=2)
    with (settings.raw_dir / "SLOW.csv").open("wb") as fh:
        for i in range(0, len(data), len(data) // 10 + 1):
            fh.write(data[i : i + len(data) // 10 + 1])
            fh.flush()
            time.sleep(0.2)
            assert len(queued_jobs(conn)) == 1
    wait_for(lambda: len(queued_jobs(conn)) == 2)
    rows = {Path(r.path).name: r for r in ledger_rows(settings)}
    assert rows["SLOW.csv"].size == len(data)


def test_redis_outage_is_survived(data_dir, own_redis):
    """Redis dies while the daemon runs: files dropped meanwhile are enqueued once it is back."""
    settings = make_settings(data_dir, own_redis.url, reconcile_interval_s=60)
    client = redis.Redis.from_url(own_redis.url, socket_timeout=5)
    with RunningDaemon(settings, client) as running:
        own_redis.stop()
        (settings.raw_dir / "DURING.csv").write_bytes(csv_bytes())
        time.sleep(1.0)  # the enqueue fails; the daemon must stay up
        assert running.running
        own_redis.start()
        wait_for(lambda: _safe_len(client) == 1, timeout_s=40)
        assert [r.status for r in ledger_rows(settings)] == ["queued"]
    client.close()


def _safe_len(client: redis.Redis) -> int:
    try:
        return len(queued_jobs(client))
    except redis.RedisError:
        return -1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_folder_source_added_while_running_is_watched_with_its_options(
    tmp_path, wsettings, conn, start_daemon
):
    """`sources add-dir` on a running daemon: the folder is watched after the next reconcile, and its
    files are queued under that source with its timezone."""
    from trading_pipeline.sources import DataSourceRepository, FileDataSource

    running = start_daemon(wsettings)
    vendor = tmp_path / "vendor_x"
    vendor.mkdir()
    (vendor / "OLD.csv").write_bytes(csv_bytes(seed=1))
    repo = DataSourceRepository(wsettings)
    repo.register_source("vendor_x", FileDataSource("vendor_x", vendor, tz="America/Chicago"))
    running.daemon.request_reconcile()
    wait_for(lambda: len(queued_jobs(conn)) == 1)
    (vendor / "NEW.csv").write_bytes(csv_bytes(seed=2))  # seen by the new watch, not a reconcile
    wait_for(lambda: len(queued_jobs(conn)) == 2)
    options = {job.kwargs["path"]: job.kwargs["options"] for job in queued_jobs(conn)}
    assert {o["source_id"] for o in options.values()} == {"vendor_x"}
    assert {o["tz"] for o in options.values()} == {"America/Chicago"}


def test_row_left_working_by_a_failed_job_becomes_pending(wsettings, conn):
    """A job that failed outside the job function (horse OOM-killed with no retries left, abandoned
    more than MAX_ABANDONS times) leaves its row ``ingesting``; reconcile must not leave it so forever."""
    from rq.job import Job, JobStatus

    from jobqueue import SERIALIZER

    path = wsettings.raw_dir / "KILLER.csv"
    path.write_bytes(csv_bytes())
    time.sleep(wsettings.quiet_period_s)
    (job_id,) = run_once(wsettings, conn).enqueued
    (row,) = ledger_rows(wsettings)
    Ledger(wsettings).set_status("default", row.path, row.sha256, "ingesting")
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    job.set_status(JobStatus.FAILED)
    conn.lrem("rq:queue:ingest", 0, job_id)
    assert run_once(wsettings, conn).enqueued == []  # not re-run in a loop
    (row,) = ledger_rows(wsettings)
    assert row.status == "pending"
    record = Ledger(wsettings).get("default", row.path, row.sha256)
    assert record is not None and "failed" in record.reason
