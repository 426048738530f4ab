"""The watcher with a real inotify observer and a real Redis: what a researcher's drop turns into."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from jobqueue import ingest_job_id
from testkit import csv_bytes, job_paths, ledger_rows, make_bars, queued_jobs, wait_for, write_bars_csv

pytestmark = pytest.mark.integration


def test_copy_is_enqueued_once_with_its_source_and_hash(tmp_path, wsettings, conn, start_daemon):
    """cp into data/raw gives one queued job and one ledger row in status queued."""
    start_daemon(wsettings)
    src = write_bars_csv(tmp_path / "MES_1m.csv", make_bars(50))
    shutil.copy(src, wsettings.raw_dir / "MES_1m.csv")
    target = str((wsettings.raw_dir / "MES_1m.csv").resolve())
    wait_for(lambda: job_paths(conn, wsettings) == [target])
    (job,) = queued_jobs(conn)
    (row,) = ledger_rows(wsettings)
    assert (row.source_id, row.path, row.status) == ("default", target, "queued")
    assert job.id == ingest_job_id("default", row.sha256) == row.job_id
    assert job.kwargs["options"]["source_id"] == "default"
    assert job.kwargs["sha256"] == row.sha256


def test_rename_from_part_is_enqueued_and_the_part_file_never(wsettings, conn, start_daemon):
    """The upload protocol: write x.csv.part, then rename; only the final name is ever enqueued."""
    start_daemon(wsettings)
    part = wsettings.raw_dir / "MGC_1m.csv.part"
    part.write_bytes(csv_bytes(seed=1))
    time.sleep(0.5)  # longer than the quiet period: the .part file must still not be enqueued
    assert queued_jobs(conn) == []
    part.rename(wsettings.raw_dir / "MGC_1m.csv")
    wait_for(lambda: job_paths(conn, wsettings) == [str(wsettings.raw_dir / "MGC_1m.csv")])


def test_move_in_from_elsewhere_on_the_same_disk(tmp_path, wsettings, conn, start_daemon):
    """A same-filesystem mv shows up as a lone created event; it is enqueued without waiting for quiet."""
    start_daemon(wsettings)
    src = write_bars_csv(wsettings.data_dir / "staging.csv", make_bars(50))
    src.rename(wsettings.raw_dir / "ES_1m.csv")
    wait_for(lambda: job_paths(conn, wsettings) == [str(wsettings.raw_dir / "ES_1m.csv")])


def test_slow_writer_is_enqueued_once_after_it_finishes(wsettings, conn, start_daemon):
    """A writer that takes seconds, pausing longer than the quiet period, is enqueued once, whole."""
    start_daemon(wsettings)
    data = csv_bytes(rows=400, seed=2)
    target = wsettings.raw_dir / "SLOW_1m.csv"
    step = len(data) // 16 + 1
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    with target.open("wb") as fh:  # about 4 s in all
        for i, chunk in enumerate(chunks):
            fh.write(chunk)
            fh.flush()
            time.sleep(0.8 if i in (3, 9) else 0.15)  # pauses longer than the quiet period, file open
            assert queued_jobs(conn) == [], "enqueued while the writer still had the file open"
    wait_for(lambda: len(queued_jobs(conn)) == 1)
    (row,) = ledger_rows(wsettings)
    assert row.size == len(data)
    time.sleep(1.0)
    assert len(queued_jobs(conn)) == 1 and len(ledger_rows(wsettings)) == 1


def test_writer_that_never_closes_quickly_waits_for_the_quiet_period(wsettings, conn, start_daemon):
    """Data written with os.write and no close yet is enqueued only after the quiet period."""
    start_daemon(wsettings)
    target = wsettings.raw_dir / "OPEN.csv"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, csv_bytes(seed=3))
        time.sleep(0.15)
        assert queued_jobs(conn) == []
    finally:
        os.close(fd)
    wait_for(lambda: len(queued_jobs(conn)) == 1)


def test_burst_of_500_files_is_enqueued_exactly_once_each(tmp_path, wsettings, conn, start_daemon):
    """500 files written at once: 500 jobs, 500 ledger rows, no file missed or doubled."""
    start_daemon(wsettings)
    payloads = [csv_bytes(rows=5, seed=i) for i in range(500)]

    def write(start: int) -> None:
        for i in range(start, 500, 4):
            (wsettings.raw_dir / f"S{i:03d}_1m.csv").write_bytes(payloads[i])

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: len(queued_jobs(conn)) >= 500, timeout_s=60)
    time.sleep(0.5)
    paths = job_paths(conn, wsettings)
    assert len(paths) == 500 == len(set(paths))
    rows = ledger_rows(wsettings)
    assert len(rows) == 500 and {r.status for r in rows} == {"queued"}


def test_same_file_dropped_twice_makes_one_job(tmp_path, wsettings, conn, start_daemon):
    """Copying the same bytes over the same name again while the job waits adds nothing."""
    start_daemon(wsettings)
    src = write_bars_csv(tmp_path / "MES.csv", make_bars(50))
    shutil.copy(src, wsettings.raw_dir / "MES.csv")
    wait_for(lambda: len(queued_jobs(conn)) == 1)
    shutil.copy(src, wsettings.raw_dir / "MES.csv")
    time.sleep(QUIET_WAIT)
    assert len(queued_jobs(conn)) == 1
    assert len(ledger_rows(wsettings)) == 1


def test_modified_file_is_a_new_version_with_its_own_job(wsettings, conn, start_daemon):
    """Same name, new content: a second ledger row and a second job (the ingestor supersedes)."""
    start_daemon(wsettings)
    target = wsettings.raw_dir / "MES.csv"
    target.write_bytes(csv_bytes(seed=4))
    wait_for(lambda: len(queued_jobs(conn)) == 1)
    target.write_bytes(csv_bytes(seed=5))
    wait_for(lambda: len(queued_jobs(conn)) == 2)
    assert len({r.sha256 for r in ledger_rows(wsettings)}) == 2


@pytest.mark.parametrize(
    "name",
    [".hidden.csv", "MES.csv.part", "MES.csv.tmp", "~lock.csv", "layout.toml", "README", "x.xlsx.part"],
)
def test_temp_hidden_and_unsupported_names_are_ignored(name, wsettings, conn, start_daemon):
    """Nothing that is not a finished data file is ever queued, even after the quiet period."""
    start_daemon(wsettings)
    (wsettings.raw_dir / name).write_bytes(csv_bytes())
    (wsettings.raw_dir / ".staging").mkdir()
    (wsettings.raw_dir / ".staging" / "MES.csv").write_bytes(csv_bytes())
    time.sleep(QUIET_WAIT)
    assert queued_jobs(conn) == [] and ledger_rows(wsettings) == []


def test_upload_session_metadata_is_ignored_and_files_get_the_session_source(wsettings, conn, start_daemon):
    """A file in an upload session belongs to that session; its metadata.json is never ingested."""
    start_daemon(wsettings)
    session = wsettings.uploads_dir / "upload_20261128T101500_3f9a0b1c"
    (session / "files").mkdir(parents=True)
    (session / "metadata.json").write_text("{}")
    (session / "files" / "MES.csv").write_bytes(csv_bytes())
    wait_for(lambda: len(queued_jobs(conn)) == 1)
    (job,) = queued_jobs(conn)
    assert job.kwargs["options"]["source_id"] == session.name
    assert job.kwargs["path"].endswith("files/MES.csv")


def test_folder_moved_in_whole_is_picked_up(tmp_path, wsettings, conn, start_daemon):
    """A folder of files moved into data/raw has no per-file events; it is scanned."""
    start_daemon(wsettings)
    folder = wsettings.data_dir / "batch"
    folder.mkdir()
    for i in range(3):
        (folder / f"F{i}.csv").write_bytes(csv_bytes(seed=10 + i))
    folder.rename(wsettings.raw_dir / "batch")
    wait_for(lambda: len(queued_jobs(conn)) == 3)


QUIET_WAIT = 1.0
"""Several quiet periods: long enough that anything the daemon would enqueue has been."""


def test_a_layout_toml_beside_the_files_goes_with_their_jobs(wsettings, conn, start_daemon):
    """The daemon finds the nearest layout.toml and puts its path in the job; the toml is not a job."""
    start_daemon(wsettings)
    folder = wsettings.raw_dir / "broker"
    folder.mkdir()
    (folder / "layout.toml").write_text('delimiter = ";"\n')
    (folder / "ES_1m.csv").write_bytes(csv_bytes(seed=2))
    (wsettings.raw_dir / "NQ_1m.csv").write_bytes(csv_bytes(seed=3))
    wait_for(lambda: len(queued_jobs(conn)) == 2)
    options = {os.path.basename(job.kwargs["path"]): job.kwargs["options"] for job in queued_jobs(conn)}
    assert options["ES_1m.csv"]["layout_path"] == "raw/broker/layout.toml"  # relative to the data folder
    assert wsettings.local_path(options["ES_1m.csv"]["layout_path"]) == str(
        (folder / "layout.toml").resolve()
    )
    assert options["NQ_1m.csv"]["layout_path"] is None
