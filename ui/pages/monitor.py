"""Monitor runs: every run with its status; for one run the per symbol and stage progress (live from
job meta), failures with stage, symbol and reason, rerun from a stage, the label distribution, and
downloads of run.json and the split files."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from jobqueue.actions import rerun
from jobqueue.views import fresh_run, run_live
from trading_pipeline.stages.records import Failure, RunRecord
from trading_pipeline.stages.runs import STAGE_NAMES, is_finished
from trading_pipeline.views.runs import label_distribution, run_downloads, run_summaries, stage_progress
from ui.state import badge, guarded, local_time, md, redis_link, settings

# Seconds between refreshes of a running run (a number: the string "2" would mean nanoseconds).
REFRESH_S = 2
# Split files larger than this are named, not offered as a download (the UI would hold them in memory).
DOWNLOAD_LIMIT_MB = 200


def _failure(failure: Failure | None) -> str:
    return f"{failure.stage} {failure.symbol}: {failure.reason}" if failure else ""


def _runs_table() -> list[str]:
    summaries = run_summaries(settings())
    if not summaries:
        st.info("No runs yet: start one on the Configure pipeline page or with `pipeline run`.")
        return []
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": s.run_id, "status": s.status, "steps": s.progress, "source": s.data_source,
                    "symbols": ", ".join(s.symbols), "created": local_time(s.created_at),
                    "failure": _failure(s.failure),
                }
                for s in summaries
            ]
        ),
        hide_index=True, width="stretch",
    )  # fmt: skip
    return [s.run_id for s in summaries]


def _progress(record: RunRecord) -> None:
    live = run_live(redis_link(), record)
    steps = stage_progress(record, live)
    done = sum(1 for s in steps if s.percent >= 100)
    st.progress(done / max(len(steps), 1), text=f"{done}/{len(steps)} steps")
    table = pd.DataFrame([s.__dict__ for s in steps])
    table = table.pivot(index="symbol", columns="stage", values="status")[list(STAGE_NAMES)]
    st.dataframe(table, width="stretch")
    running = [s for s in steps if s.status == "running"]
    for step in running:
        st.progress(min(step.percent, 100.0) / 100, text=f"{step.symbol} · {step.stage}")
    for failure in record.failures:
        st.error(f"{md(failure.stage)} failed for {md(failure.symbol)}: {md(failure.reason)}")
    for symbol, state in record.symbols.items():
        for warning in state.warnings:
            st.warning(f"{md(symbol)}: {md(warning)}")


@st.fragment(run_every=REFRESH_S)
def _live() -> None:
    """The run list and the chosen run, refreshed by themselves."""
    with guarded("read the runs"):
        ids = _runs_table()
        if not ids:
            return
        wanted = st.session_state.get("monitor_run")
        run_id = st.selectbox("Run", ids, index=ids.index(wanted) if wanted in ids else 0, key="mon_pick")
        st.session_state["monitor_run"] = run_id
        record = fresh_run(redis_link(), settings(), run_id)
        st.markdown(
            f"**Run** {md(record.run_id)} {badge(record.status)} · source {md(record.data_source)}"
            f" · created {md(local_time(record.created_at))}"
        )
        _progress(record)
        if is_finished(record):
            _results(record)


def _results(record: RunRecord) -> None:
    shares = label_distribution(record)
    if not shares.empty:
        st.subheader("Label distribution")
        split = st.segmented_control("split", ["train", "val", "test"], default="train", key="mon_split")
        shown = shares[shares["split"] == (split or "train")]
        fig = px.bar(shown, x="horizon", y="share", color="label", facet_col="symbol", barmode="group")
        fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10})
        st.plotly_chart(fig, width="stretch")
    st.subheader("Downloads")
    for name, path in run_downloads(settings(), record):
        size_mb = path.stat().st_size / 1e6
        if size_mb > DOWNLOAD_LIMIT_MB:
            st.text(f"{name}: {size_mb:,.0f} MB, at {path}")
            continue
        st.download_button(
            f"{name} ({size_mb:,.1f} MB)", data=path.read_bytes,
            file_name=name.replace("/", "_"), key=f"dl_{record.run_id}_{name}",
        )  # fmt: skip


def _rerun(run_id: str) -> None:
    link = redis_link()
    c1, c2 = st.columns([1, 1])
    stage = c1.selectbox("Rerun from stage", STAGE_NAMES, key="mon_from_stage")
    if c2.button("Rerun", disabled=not link.up, key="mon_rerun", help=None if link.up else link.problem):
        with guarded("start the rerun"):
            assert link.connection is not None
            record = rerun(link.connection, settings(), run_id, stage)
            st.session_state["monitor_run"] = record.run_id
            st.rerun()


st.title("Monitor runs")
_live()
if st.session_state.get("monitor_run"):
    _rerun(str(st.session_state["monitor_run"]))
