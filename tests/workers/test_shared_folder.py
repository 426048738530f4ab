"""Hosts that see the shared data folder at different paths, or not at all (the share not mounted).

The "other host" is a `pipeline worker --burst` whose PIPELINE_DATA_DIR is another folder; the ledger
is a shared PostgreSQL database, as it is across real hosts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus

from jobqueue import SERIALIZER
from testkit import drop_csv, enqueue
from testkit.postgres import ThrowawayPostgres
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def shared(settings: Settings, redis_url: str, postgres_server: ThrowawayPostgres) -> Settings:
    """The enqueueing host's settings: its data folder, the test Redis, a fresh PostgreSQL database."""
    return settings.replace(redis_url=redis_url, database_url=postgres_server.new_database())


def _worker_on(data_dir: Path, shared: Settings, cli_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        **cli_env,
        "PIPELINE_DATA_DIR": str(data_dir),
        "PIPELINE_REDIS_URL": str(shared.redis_url),
        "PIPELINE_DATABASE_URL": str(shared.database_url),
        "PIPELINE_LOG_FORMAT": "json",
    }
    script = Path(sys.executable).with_name("pipeline")
    return subprocess.run(
        [str(script), "worker", "--burst"], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_worker_that_mounts_the_share_elsewhere_ingests_the_same_job(
    shared: Settings, conn: redis.Redis, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The job and the ledger row name ``raw/MES_1m.csv``; the other host reads it under its own path."""
    path, sha, _ = drop_csv(shared.raw_dir, "MES_1m.csv", rows=300)
    job_id = enqueue(conn, shared, path, sha)
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    assert job.kwargs["path"] == "raw/MES_1m.csv"
    elsewhere = tmp_path / "mnt" / "share" / "data"
    shutil.copytree(shared.data_dir, elsewhere)  # the same files, seen at another path
    run = _worker_on(elsewhere, shared, cli_env)
    assert run.returncode == 0, run.stderr
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    record = Ledger(shared).get("default", str(path), sha)
    assert record is not None and record.status == "ingested"
    assert (elsewhere / "processed" / "default" / "MES" / f"{sha[:20]}.parquet").is_file()


def test_a_worker_without_the_mount_fails_the_job_and_loses_nothing(
    shared: Settings, conn: redis.Redis, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The share is not mounted on this host: the job fails saying so and is retried; the row is not
    marked vanished, and a worker that sees the share then ingests the file."""
    path, sha, _ = drop_csv(shared.raw_dir, "MES_1m.csv", rows=300)
    Ledger(shared).record_seen("default", str(path), sha, path.stat().st_size, path.stat().st_mtime)
    job_id = enqueue(conn, shared, path, sha)
    unmounted = tmp_path / "empty-mountpoint"
    unmounted.mkdir()
    run = _worker_on(unmounted, shared, cli_env)
    assert run.returncode == 0, run.stderr
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.SCHEDULED  # failed, and a retry is coming
    assert "mount missing" in run.stdout + run.stderr  # the worker's log says why
    record = Ledger(shared).get("default", str(path), sha)
    assert record is not None and record.status == "queued" and "mount missing" in record.reason
    time.sleep(1.5)  # the first retry is due after 1 s; a burst worker's scheduler then queues it
    assert _worker_on(shared.data_dir, shared, cli_env).returncode == 0
    assert Ledger(shared).get("default", str(path), sha).status == "ingested"  # type: ignore[union-attr]
