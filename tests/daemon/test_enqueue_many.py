"""enqueue_ingest_many keeps enqueue_ingest's promises, in a few round trips (real Redis)."""

from __future__ import annotations

import hashlib

import pytest
from rq.job import Job

from jobqueue import SERIALIZER, IngestRequest, enqueue_ingest, enqueue_ingest_many
from testkit import queued_jobs
from trading_pipeline.ingest.options import IngestOptions

pytestmark = pytest.mark.integration


def sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def req(i: int, source: str = "default", path: str | None = None) -> IngestRequest:
    return IngestRequest(path or f"/d/{i}.csv", sha(i), IngestOptions(source_id=source))


def test_batch_enqueues_each_once_with_the_single_call_shape(conn, wsettings):
    """Same ids, kwargs and meta as enqueue_ingest; repeats in one batch are enqueued once."""
    results = enqueue_ingest_many(conn, wsettings, [req(1), req(2), req(1, path="/d/other.csv")])
    assert results[0] and results[1] and results[2] is None
    single = enqueue_ingest(conn, wsettings, path="/d/3.csv", sha256=sha(3), options=IngestOptions())
    jobs = {j.id: j for j in queued_jobs(conn)}
    assert set(jobs) == {results[0], results[1], single}
    a, b = jobs[results[0]], jobs[single]
    assert set(a.kwargs) == set(b.kwargs) == {"path", "sha256", "options"}
    assert a.meta.keys() == b.meta.keys() and a.retries_left == b.retries_left
    assert a.timeout == b.timeout and a.result_ttl == b.result_ttl


def test_active_jobs_are_skipped_and_ended_ones_replaced(conn, wsettings):
    first = enqueue_ingest_many(conn, wsettings, [req(1), req(2)])
    assert enqueue_ingest_many(conn, wsettings, [req(1), req(2)]) == [None, None]
    assert enqueue_ingest(conn, wsettings, path="/d/1.csv", sha256=sha(1), options=IngestOptions()) is None
    job = Job.fetch(first[0], connection=conn, serializer=SERIALIZER)
    job.set_status("failed")
    assert enqueue_ingest_many(conn, wsettings, [req(1), req(2)]) == [first[0], None]
    assert len(queued_jobs(conn)) == 2


def test_a_held_lock_means_someone_else_is_enqueueing(conn, wsettings):
    r = req(7)
    conn.set(f"pipeline:enqueue-lock:{r.job_id}", b"1", ex=5)
    assert enqueue_ingest_many(conn, wsettings, [r]) == [None]
    conn.delete(f"pipeline:enqueue-lock:{r.job_id}")
    assert enqueue_ingest_many(conn, wsettings, [r]) == [r.job_id]
    assert not conn.exists(f"pipeline:enqueue-lock:{r.job_id}")


def test_same_bytes_in_two_sources_are_two_jobs(conn, wsettings):
    results = enqueue_ingest_many(conn, wsettings, [req(1, "default"), req(1, "vendor_x")])
    assert None not in results and results[0] != results[1]
