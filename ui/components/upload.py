"""The upload form, and the live view that follows each uploaded file until it is final.

The form only writes files into a new upload session (``trading_pipeline.actions.upload_files``); the
daemon sees them, the workers ingest them, and the follow view reads the ledger (the truth) plus the
progress workers leave in job meta.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from jobqueue.views import ingest_progress
from trading_pipeline import actions
from trading_pipeline.views.files import reason_or_warning, upload_states
from ui.components.validation import show_report
from ui.state import guarded, local_time, md, redis_link, settings

__all__ = [
    "REFRESH_S",
    "UploadRequest",
    "follow_uploads",
    "handle",
    "show_checks",
    "show_note",
    "upload_form",
]

REFRESH_S = 2
"""Seconds between refreshes of the follow view (a number: the string "2" would mean nanoseconds)."""
FORMATS = (
    "CSV/TSV (also .gz/.zst), Parquet, Excel/OpenDocument, JSON/NDJSON, Databento DBN, LEAN and other zips"
)


@dataclass
class UploadRequest:
    files: list[actions.UploadFile] = field(default_factory=list)
    tz: str | None = None
    bar_label: str | None = None
    symbol: str | None = None
    check_only: bool = False


def upload_form() -> UploadRequest | None:
    """The form; returns what to do once the button is pressed."""
    limit = settings().ui_max_upload_mb
    uploaded = st.file_uploader(
        f"Bar files (up to {limit:,} MB each)",
        accept_multiple_files=True,
        max_upload_size=limit,
        key=f"upload_files_{st.session_state.get('upload_round', 0)}",  # a new round starts empty
        help=FORMATS,
    )
    st.caption(f"Accepted: {FORMATS}. Largest file: {limit:,} MB (PIPELINE_UI_MAX_UPLOAD_MB).")
    col1, col2, col3 = st.columns(3)
    tz = col1.text_input("Time zone of naive timestamps", key="upload_tz", placeholder="e.g. America/Chicago")
    label = col2.selectbox("Bars are stamped with their", ["open time", "close time"], key="upload_label")
    symbol = col3.text_input("Symbol of every file (optional)", key="upload_symbol")
    per_file: dict[str, str] = {}
    if uploaded:
        with st.expander("Symbol per file (optional; the file name is used otherwise)"):
            for i, f in enumerate(uploaded):
                per_file[f.file_id] = st.text_input(f"symbol of {md(f.name)}", key=f"upload_sym_{i}")
    check_only = st.toggle("Check only (run the checks, store nothing)", key="upload_check_only")
    pressed = st.button("Check files" if check_only else "Upload", type="primary", disabled=not uploaded)
    if not pressed or not uploaded:
        return None
    return UploadRequest(
        files=[actions.UploadFile(f.name, f, per_file.get(f.file_id) or None) for f in uploaded],
        tz=tz.strip() or None,
        bar_label="close" if label == "close time" else None,
        symbol=symbol.strip() or None,
        check_only=check_only,
    )


def handle(request: UploadRequest) -> None:
    """Check the files, or save them into a new session that the follow view then tracks."""
    config = settings()
    if request.check_only:
        with guarded("check the files"), st.spinner("checking..."):
            reports = actions.check_files(
                config, request.files, tz=request.tz,
                bar_label="close" if request.bar_label == "close" else None, symbol=request.symbol,
            )  # fmt: skip
            st.session_state["upload_checks"] = [r.to_json() for r in reports]
        return
    with guarded("save the files"):
        upload = actions.upload_files(
            config,
            request.files,
            tz=request.tz,
            bar_label=request.bar_label,
            symbol=request.symbol,
            label="ui",
        )
        followed = st.session_state.setdefault("uploads", [])
        followed.append((upload.session_id, [f.name for f in upload.files]))
        st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
        st.session_state["upload_note"] = (
            f"Saved {len(upload.files)} file(s) in upload session {upload.session_id}."
        )
        st.rerun()  # the next round's file picker starts empty


def show_note() -> None:
    if note := st.session_state.pop("upload_note", None):
        st.success(md(note))


def show_checks() -> None:
    for report in st.session_state.get("upload_checks", []):
        with st.container(border=True):
            show_report(report, title=report.get("path", "").rsplit("/", 1)[-1])


@st.fragment(run_every=REFRESH_S)
def follow_uploads() -> None:
    """Every file of this browser session's uploads, refreshed by itself until a reload."""
    followed: list[tuple[str, list[str]]] = st.session_state.get("uploads", [])
    if not followed:
        return
    config = settings()
    link = redis_link()
    if not link.up:
        st.warning(
            "Redis or the daemon is not running: your files are saved in "
            f"{md(config.uploads_dir)} and will be ingested when the daemon runs (`pipeline up`)."
        )
    for session_id, names in reversed(followed):
        states = upload_states(config, session_id, names)
        live = ingest_progress(link, session_id, [s.record.sha256 for s in states if s.record])
        rows = []
        for state in states:
            rec = state.record
            stage, percent = live.get(rec.sha256, ("", 0.0)) if rec else ("", 0.0)
            waiting = "saved; waiting for the daemon" if rec is None else ""
            rows.append(
                {
                    "file": state.name,
                    "status": state.status,
                    "progress": f"{stage} {percent:.0f}%" if stage and not state.final else "",
                    "symbols": ", ".join(rec.symbols) if rec else "",
                    "rows": rec.rows if rec else None,
                    "updated": local_time(rec.updated_at) if rec else "",
                    "reason or warning": waiting
                    or (reason_or_warning(rec.reason, rec.first_warning, rec.warning_count) if rec else ""),
                }
            )
        tally = Counter(state.status for state in states)
        counts = ", ".join(f"{n} {status}" for status, n in sorted(tally.items()))
        st.markdown(f"**Upload session {md(session_id)}**: {counts}")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        for state in states:
            if state.record is not None and state.record.status == "rejected":
                with st.expander(f"Rejected: {md(state.name)}", expanded=True):
                    st.text(state.record.reason)
                    show_report(state.record.report)
