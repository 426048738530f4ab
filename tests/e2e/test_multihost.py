"""Several "hosts" on one machine: one PostgreSQL, one Redis, one daemon, and two worker groups whose
data folders are two different paths (a symlink) to the same directory.

A 300-file burst is shared between the groups; one group is SIGKILLed as a whole mid-burst, and every
file still ends ingested exactly once. The second run also starts a second daemon on the same folder
(through the other path): it waits as a standby, and takes over when the first daemon is killed with
the group."""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from rq import Worker
from rq.job import Job

from jobqueue import SERIALIZER
from testkit import PipelineProcess, drop_csv, wait_for
from testkit.postgres import ThrowawayPostgres
from tests.e2e.conftest import Stack
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FileStatus

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

FILES = 300
ROWS = 200
PER_GROUP = 2


def _names() -> list[str]:
    """300 distinct symbols the file-name rule accepts (letters only)."""
    letters = string.ascii_uppercase
    return [f"X{a}{b}{c}_1m.csv" for a, b, c in itertools.islice(itertools.product(letters, repeat=3), FILES)]


@pytest.mark.parametrize("second_daemon", [False, True], ids=["one-daemon", "two-daemons"])
def test_two_worker_groups_share_a_burst_and_survive_losing_one(
    second_daemon: bool,
    stack: Stack,
    postgres_server: ThrowawayPostgres,
    conn: redis.Redis,
    tmp_path: Path,
    exactly_once: Callable[..., None],
) -> None:
    url = postgres_server.new_database()
    settings = stack.settings.replace(database_url=url)
    stack.settings = settings
    other_path = tmp_path / "mnt" / "share"
    other_path.parent.mkdir(parents=True)
    other_path.symlink_to(settings.data_dir)  # the second "host" sees the folder at another path
    shared = {"PIPELINE_DATABASE_URL": url, "PIPELINE_DEFAULT_TZ": "UTC"}
    here = {**shared, "PIPELINE_DATA_DIR": str(settings.data_dir)}
    there = {**shared, "PIPELINE_DATA_DIR": str(other_path)}

    daemon = stack.start("daemon", env=here)
    wait_for(lambda: "daemon lock taken" in daemon.output(), timeout_s=60, what="the daemon runs")
    standby: PipelineProcess | None = None
    if second_daemon:
        standby = stack.start("daemon", env=there)
        wait_for(lambda: "standby" in standby.output(), timeout_s=60, what="the second daemon waits")
    group_a = stack.start_workers(PER_GROUP, env=here)
    group_b = stack.start_workers(PER_GROUP, env=there)
    names = _group_names(conn, {"a": group_a, "b": group_b})

    inputs = {}
    for i, name in enumerate(_names()):
        drop_csv(settings.raw_dir, name, rows=ROWS, seed=i)
        inputs[name] = ROWS
    wait_for(lambda: _ingested(settings) >= FILES // 4, timeout_s=180, what="a quarter of the burst")
    for proc in group_b + ([daemon] if second_daemon else []):
        proc.kill()  # the whole "host": workers, their work horses and scheduler processes
    if standby is not None:
        wait_for(lambda: "daemon lock taken" in standby.output(), timeout_s=30, what="the standby takes over")

    rows = stack.wait_final(FILES, timeout_s=300)
    exactly_once(settings, rows, inputs)
    done_by = _groups_that_ran(conn, rows, names)
    assert done_by["a"] > 0 and done_by["b"] > 0, done_by


def _group_names(conn: redis.Redis, groups: dict[str, list[PipelineProcess]]) -> dict[str, str]:
    """RQ worker name -> group, once every worker has registered."""
    pids = {proc.pid: group for group, procs in groups.items() for proc in procs}

    def registered() -> dict[str, str] | None:
        found = {w.name: pids[w.pid] for w in Worker.all(connection=conn) if w.pid in pids}
        return found if len(found) == len(pids) else None

    return wait_for(registered, timeout_s=120, what="every worker registered")


def _ingested(settings: Settings) -> int:
    return Ledger(settings).count_by_status().get(FileStatus.INGESTED, 0)


def _groups_that_ran(conn: redis.Redis, rows: list[FileRecord], names: dict[str, str]) -> dict[str, int]:
    """How many jobs each group finished (RQ keeps the name of the worker that ran a job)."""
    counts = {"a": 0, "b": 0}
    for job_id in {r.job_id for r in rows if r.job_id}:
        job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
        group = names.get(job.worker_name or "")
        if group is not None:
            counts[group] += 1
    return counts
