"""Data sources: every source with its metadata; per symbol a preview, a chart and the coverage; set
the active source; remove one (with a confirmation)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from trading_pipeline import actions
from trading_pipeline.sources.repository import DataSourceRepository
from trading_pipeline.views.sources import ChartData, SourceSummary, chart_data, source_summaries
from ui.components.chart import show_candles, show_coverage
from ui.components.preview import show_preview
from ui.components.symbols import pick_symbol
from ui.state import guarded, md, settings

EMPTY = "No sources yet: drop files into data/raw or upload them on the Upload data page."


@st.cache_data(max_entries=8, show_spinner="reading bars...")
def _chart(source_id: str, symbol: str, fingerprint: tuple[str, ...]) -> ChartData:
    """A symbol's chart data; cached until the files feeding it change (the fingerprint lists them)."""
    del fingerprint  # only part of the cache key
    return chart_data(settings(), source_id, symbol)


def _table(summaries: list[SourceSummary]) -> pd.DataFrame:
    rows = []
    for s in summaries:
        m = s.meta
        start, end = m.date_range or ("", "")
        rows.append(
            {
                "source": m.source_id, "active": s.active, "type": m.source_type,
                "symbols": ", ".join(m.symbols), "rows": m.row_count, "from": start, "to": end,
                "files": m.file_count, "size MB": round(m.file_size_mb, 2), "state": s.state[1],
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def _details(summary: SourceSummary) -> None:
    meta = summary.meta
    st.subheader(f"Source {md(meta.source_id)}" + (" (active)" if summary.active else ""))
    cols = st.columns(4)
    cols[0].metric("symbols", len(meta.symbols))
    cols[1].metric("rows", f"{meta.row_count:,}")
    cols[2].metric("files", meta.file_count)
    cols[3].metric("pending", meta.pending_files)
    st.text(f"location: {meta.location or '-'}\ncolumns: {', '.join(meta.columns) or '-'}")
    if meta.validation_errors:
        st.error(f"{len(meta.validation_errors)} problem(s) in the last validation")
        st.dataframe(pd.DataFrame({"problem": meta.validation_errors}), hide_index=True, width="stretch")
    if meta.warnings:
        st.warning(f"{len(meta.warnings)} file(s) with warnings")
        st.dataframe(pd.DataFrame({"warning": meta.warnings}), hide_index=True, width="stretch")
    _actions(summary)
    symbol = pick_symbol(meta.symbols, key="sources_symbol")
    if symbol is None:
        return
    info = meta.symbol_info.get(symbol)
    if info is not None:
        st.caption(f"{symbol}: {info.rows:,} bars from {info.start} to {info.end}, {info.files} file(s)")
    repo = DataSourceRepository(settings())
    source = repo.get_source(meta.source_id)
    preview, chart, days = st.tabs(["Preview", "Chart", "Coverage"])
    with preview, guarded("show the preview"):
        show_preview(source.preview(symbol, 20))
    fingerprint = tuple(f.sha256 for f in source.input_files(symbol))
    with chart, guarded("draw the chart"):
        show_candles(_chart(meta.source_id, symbol, fingerprint), title=symbol)
    with days, guarded("show the coverage"):
        show_coverage(_chart(meta.source_id, symbol, fingerprint).days)


def _actions(summary: SourceSummary) -> None:
    source_id = summary.meta.source_id
    left, right = st.columns(2)
    if left.button("Set as active source", disabled=summary.active, key="sources_activate"):
        with guarded("set the active source"):
            actions.set_active_source(settings(), source_id)
            st.session_state["sources_note"] = f"{source_id} is now the active source"
            st.rerun()
    if source_id == "default":
        right.caption("The default source (data/raw) cannot be removed.")
        return
    confirm = right.checkbox(
        "Yes, delete this source's stored bars and ledger rows", key=f"sources_confirm_{source_id}"
    )
    if right.button("Remove source", disabled=not confirm, key="sources_remove"):
        with guarded("remove the source"):
            removed = actions.remove_source(settings(), source_id)
            st.session_state["sources_note"] = (
                f"removed {removed.source_id}: {removed.ledger_files} file(s), {removed.outputs} output(s)"
            )
            st.session_state.pop("sources_pick", None)
            st.rerun()


st.title("Data sources")
if note := st.session_state.pop("sources_note", None):
    st.success(md(note))
with guarded("list the sources"):
    summaries = source_summaries(settings())
    has_data = [s for s in summaries if s.meta.symbols or s.meta.file_count or s.meta.source_id != "default"]
    if not has_data:
        st.info(EMPTY)
    st.dataframe(_table(summaries), hide_index=True, width="stretch")
    ids = [s.meta.source_id for s in summaries]
    # the active source first, else the first one holding bars (an empty data/raw shows nothing)
    active = next((i for i, s in enumerate(summaries) if s.active and s.meta.symbols), None)
    if active is None:
        active = next((i for i, s in enumerate(summaries) if s.meta.symbols), 0)
    chosen = st.selectbox("Source", ids, index=active, key="sources_pick")
    by_id = {s.meta.source_id: s for s in summaries}
    if chosen in by_id:
        _details(by_id[chosen])
