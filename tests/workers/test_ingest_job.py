"""`workers.jobs.ingest_job` on real forking workers: outcomes, retries, and what people can see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from jobqueue import INGEST_QUEUE, SERIALIZER, IngestRequest, enqueue_ingest_many
from testkit import drop_csv, enqueue, parquet_rows, wait_for
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger, SeenFile
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(db_settings: Settings) -> Settings:
    """Every test here runs on SQLite and on PostgreSQL."""
    return db_settings


@pytest.fixture
def cli_env(cli_env: dict[str, str], database_url: str | None) -> dict[str, str]:
    return {**cli_env, **({"PIPELINE_DATABASE_URL": database_url} if database_url else {})}


def _burst(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("pipeline")
    return subprocess.run(
        [str(script), "worker", "--burst", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _job(conn: redis.Redis, job_id: str) -> Job:
    return Job.fetch(job_id, connection=conn, serializer=SERIALIZER)


def test_a_valid_file_is_ingested_and_its_result_is_kept_for_days(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv", rows=700)
    job_id = enqueue(conn, queue_settings, path, sha)
    run = _burst(worker_env)
    assert run.returncode == 0, run.stderr
    job = _job(conn, job_id)
    assert job.get_status() == JobStatus.FINISHED
    result = job.return_value()
    assert result["status"] == "ingested" and result["symbols"]["MES"]["rows"] == 700
    assert job.get_meta(refresh=True)["stage"] == "done"
    assert conn.ttl(job.key) > 24 * 3600  # not RQ's 500 s
    record = Ledger(queue_settings).get("default", str(path), sha)
    assert record is not None and record.status == "ingested" and record.job_id == job_id
    assert parquet_rows(queue_settings) == {f"default/MES/{sha[:20]}.parquet": len(bars)}


def test_bad_data_is_rejected_without_a_retry(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    """A rejection is an outcome, not a failure: the job finishes and says so."""
    path = queue_settings.raw_dir / "MES_bad.csv"
    path.write_text("datetime,open,high,low,close,volume\n2024-01-02 00:00:00,10,9,8,9.5,1\n")
    sha = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    job_id = enqueue(conn, queue_settings, path, sha)
    assert _burst(worker_env).returncode == 0
    job = _job(conn, job_id)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value()["status"] == "rejected"
    record = Ledger(queue_settings).get("default", str(path), sha)
    assert record is not None and record.status == "rejected" and record.reason
    assert parquet_rows(queue_settings) == {}


@pytest.mark.parametrize("change", ["vanished", "changed"])
def test_a_file_gone_or_changed_since_enqueue_is_recorded_and_not_retried(
    change: str, queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    path, sha, _ = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    job_id = enqueue(conn, queue_settings, path, sha)
    if change == "vanished":
        path.unlink()
    else:
        drop_csv(queue_settings.raw_dir, "MES_1m.csv", seed=9)
    assert _burst(worker_env).returncode == 0
    job = _job(conn, job_id)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value()["status"] == "vanished"
    record = Ledger(queue_settings).get("default", str(path), sha)
    assert record is not None and record.status == "vanished"  # final: never pending forever
    assert ("deleted" if change == "vanished" else "replaced by new content") in record.reason
    assert parquet_rows(queue_settings) == {}


def test_an_infrastructure_failure_is_retried_with_backoff(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    """The store is unwritable (its folder is a file): the job fails, waits in `scheduled`, then succeeds."""
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    queue_settings.processed_dir.rmdir()
    queue_settings.processed_dir.write_text("not a folder")
    job_id = enqueue(conn, queue_settings, path, sha)
    assert _burst(worker_env).returncode == 0
    job = _job(conn, job_id)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == queue_settings.ingest_retries - 1
    record = Ledger(queue_settings).get("default", str(path), sha)
    assert record is not None and record.status == "queued" and "retrying" in record.reason

    queue_settings.processed_dir.unlink()  # the disk is fixed
    registry = ScheduledJobRegistry(INGEST_QUEUE, connection=conn, serializer=SERIALIZER)
    wait_for(lambda: registry.get_jobs_to_schedule(), timeout_s=30, what="the retry to be due")
    assert _burst(worker_env).returncode == 0  # a burst worker's scheduler enqueues due retries first
    assert _job(conn, job_id).get_status() == JobStatus.FINISHED
    record = Ledger(queue_settings).get("default", str(path), sha)
    assert record is not None and record.status == "ingested" and record.rows == len(bars)


def test_plain_rq_worker_with_the_json_serializer_runs_ingest_jobs(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str], redis_url: str
) -> None:
    """`rq worker -u URL --serializer rq.serializers.JSONSerializer ingest` works as well."""
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv")
    job_id = enqueue(conn, queue_settings, path, sha)
    rq = Path(sys.executable).with_name("rq")
    run = subprocess.run(
        [
            str(rq),
            "worker",
            "-u",
            redis_url,
            "--serializer",
            "rq.serializers.JSONSerializer",
            "--burst",
            "ingest",
        ],
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert _job(conn, job_id).get_status() == JobStatus.FINISHED
    assert list(parquet_rows(queue_settings).values()) == [len(bars)]


def test_the_same_bytes_under_a_second_name_ride_on_the_first_names_job(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    """The job id is (source, sha256), so the daemon's enqueue for the copy finds the job active and
    only queues the copy's ledger row: that one job ends both rows, no reconcile needed."""
    path, sha, bars = drop_csv(queue_settings.raw_dir, "MES_1m.csv", rows=600)
    copy = queue_settings.raw_dir / "MES_copy_1m.csv"
    copy.write_bytes(path.read_bytes())
    job_id = enqueue(conn, queue_settings, path, sha)
    seen = [SeenFile("default", str(p), sha, p.stat().st_size, 0.0, job_id) for p in (path, copy)]
    ledger = Ledger(queue_settings)  # creates the tables, as the daemon does at start
    assert Ledger(queue_settings).record_queued(seen) == ["pending", "pending"]
    again = IngestRequest(str(copy), sha, IngestOptions())
    assert enqueue_ingest_many(conn, queue_settings, [again]) == [None]  # "job already active"
    run = _burst(worker_env)
    assert run.returncode == 0, run.stderr
    result = _job(conn, job_id).return_value()
    assert result["status"] == "ingested"
    assert result["twins"] == [{"path": str(copy), "status": "duplicate"}]
    statuses = {r.path: r.status for r in ledger.files()}
    assert statuses == {str(path): "ingested", str(copy): "duplicate"}
    assert list(parquet_rows(queue_settings).values()) == [len(bars)]


def test_the_layout_in_the_job_reaches_the_reader(
    queue_settings: Settings, conn: redis.Redis, worker_env: dict[str, str]
) -> None:
    """A watched folder's layout.toml travels as a path in the job: the worker reads the file with it."""
    folder = queue_settings.raw_dir / "broker"
    folder.mkdir()
    layout = folder / "layout.toml"
    layout.write_text(
        'delimiter = ";"\nheader = false\ndecimal = ","\ndatetime_format = "%d.%m.%Y %H:%M"\n'
        'timezone = "Europe/Berlin"\nsymbol = "FDAX"\n'
        "[columns]\ndatetime = 1\nopen = 2\nhigh = 3\nlow = 4\nclose = 5\n"
    )
    path = folder / "export.txt"
    path.write_text("02.01.2024 15:30;4744,5;4754;4722;4742,8\n02.01.2024 15:31;4742,8;4750;4740;4745\n")
    sha = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    job_id = enqueue(conn, queue_settings, path, sha, IngestOptions(layout_path=str(layout)))
    assert _burst(worker_env).returncode == 0
    result = _job(conn, job_id).return_value()
    assert result["status"] == "ingested", result
    assert result["symbols"]["FDAX"]["start"] == "2024-01-02T14:30:00+00:00"
