"""Queue health: what `rq info` shows (queues, workers and what each is doing, failed jobs with their
exception; requeue or delete a failed job) plus the ledger's counts and the latest rejections."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from jobqueue.actions import delete_failed_job, requeue_failed_job
from jobqueue.views import RedisLink, queue_health
from trading_pipeline.views.files import latest_rejections, short_path, status_counts
from ui.state import guarded, local_time, md, redis_link, settings

JOB_ACTIONS = (("Requeue", requeue_failed_job, "requeued"), ("Delete", delete_failed_job, "deleted"))


def _ledger() -> None:
    st.subheader("Files in the ledger")
    counts = status_counts(settings())
    if not counts:
        st.info("No files yet: drop files into data/raw or upload them on the Upload data page.")
        return
    cols = st.columns(min(len(counts), 6))
    for i, (status, n) in enumerate(sorted(counts.items())):
        cols[i % len(cols)].metric(str(status), f"{n:,}")
    rejected = latest_rejections(settings(), limit=10)
    if rejected:
        st.markdown("**Latest rejections**")
        st.dataframe(
            pd.DataFrame(
                [
                    {"file": short_path(r.path, settings().data_dir), "source": r.source_id,
                     "when": local_time(r.updated_at), "reason": r.reason}
                    for r in rejected
                ]
            ),
            hide_index=True, width="stretch",
        )  # fmt: skip


def _failures(link: RedisLink, failures: list[dict[str, object]]) -> None:
    st.subheader(f"Failed jobs ({len(failures)} latest)")
    if not failures:
        st.caption("none")
        return
    for i, f in enumerate(failures):
        job_id = str(f["job_id"])
        with st.expander(f"{md(f['queue'])} · {md(f['description'] or job_id)}: {md(f['error'])}"):
            st.text(f"job {job_id}, ended {local_time(str(f['ended_at'] or ''))}")
            st.code(str(f["exception"] or ""), language=None)
            for column, (label, act, done) in zip(st.columns(2), JOB_ACTIONS, strict=True):
                if column.button(label, key=f"q_{label.lower()}_{i}"):
                    with guarded(f"{label.lower()} the job"):
                        assert link.connection is not None
                        act(link.connection, job_id)
                        st.session_state["queue_note"] = f"{done} {job_id}"
                        st.rerun()


def _queues(link: RedisLink) -> None:
    health = queue_health(link)
    if health is None:
        st.warning(
            f"Redis is down: {md(link.problem)}. Files already saved are safe and are ingested once the"
            " daemon and workers run again."
        )
        return
    st.caption(f"Redis at {md(link.url)}")
    st.subheader("Queues")
    st.dataframe(pd.DataFrame(health.queues), hide_index=True, width="stretch")
    st.subheader(f"Workers ({len(health.workers)})")
    if health.workers:
        shown = pd.DataFrame(health.workers)[
            ["name", "state", "queues", "current_job", "successful_jobs", "failed_jobs", "last_heartbeat"]
        ]
        shown["queues"] = shown["queues"].map(", ".join)
        st.dataframe(shown, hide_index=True, width="stretch")
    else:
        st.warning(
            "No worker is running: queued work waits. Start one with `pipeline up` or `pipeline worker`."
        )
    _failures(link, health.failures)


st.title("Queue health")
if note := st.session_state.pop("queue_note", None):
    st.success(md(note))
with guarded("read the queues"):
    _queues(redis_link())
with guarded("read the ledger"):
    _ledger()
