"""Configure pipeline: source, symbols and options; the effective TOML, the split dates it will use,
refusal of impossible settings before anything runs, and the launch."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from jobqueue.actions import launch_run
from trading_pipeline.stages.records import SplitPlan
from trading_pipeline.views.config import check_config, preview_splits
from trading_pipeline.views.sources import source_symbols
from ui.components.symbols import pick_symbols
from ui.state import guarded, md, redis_link, settings


@st.cache_data(max_entries=8, show_spinner="working out the split dates...")
def _plan(toml: str, _config: Any) -> SplitPlan:
    """Cached per effective config (its TOML); ``_config`` is not hashed."""
    return preview_splits(settings(), _config)


def _form(sources: list[str], active: str, symbols_of: dict[str, list[str]]) -> dict[str, Any]:
    source = st.selectbox("Data source", sources, index=sources.index(active), key="cfg_source")
    symbols = pick_symbols(symbols_of.get(source, []), key=f"cfg_symbols_{source}")
    c1, c2 = st.columns(2)
    timeframe = c1.text_input("Timeframe (empty keeps the input)", key="cfg_timeframe", placeholder="5min")
    horizons = c2.text_input("Label horizons (bars or durations)", "5,15,60", key="cfg_horizons")
    s1, s2, s3, s4 = st.columns(4)
    train = s1.number_input("train share", 0.0, 1.0, 0.7, 0.05, key="cfg_train")
    val = s2.number_input("validation share", 0.0, 1.0, 0.15, 0.05, key="cfg_val")
    test = s3.number_input("test share", 0.0, 1.0, 0.15, 0.05, key="cfg_test")
    share = s4.number_input("minimum class share", 0.0, 0.99, 0.05, 0.01, key="cfg_min_share")
    return {
        "data_source": source,
        "symbols": ",".join(symbols) if symbols else None,
        "timeframe": timeframe.strip() or None,
        "horizons": horizons.strip() or None,
        "splits": f"{train},{val},{test}",
        "min_class_share": share,
    }


def _show_plan(plan: SplitPlan) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {"split": name, "from": p.start, "until": p.end or "end of data"}
                for name, p in plan.periods().items()
            ]
        ),
        hide_index=True,
    )
    st.caption(f"{plan.union_rows:,} distinct bar times; purge between splits {plan.purge}")


def _launch(config: Any) -> None:
    link = redis_link()
    if not link.up:
        st.warning(f"Runs need Redis and a worker: {md(link.problem)}. Start them with `pipeline up`.")
        return
    if st.button("Launch run", type="primary", key="cfg_launch"):
        with guarded("launch the run"):
            assert link.connection is not None
            record = launch_run(link.connection, settings(), config)
            st.session_state["monitor_run"] = record.run_id
            st.success(f"Run {md(record.run_id)} queued; follow it on the Monitor runs page.")
            st.page_link("pages/monitor.py", label="Monitor runs")


st.title("Configure pipeline")
with guarded("read the sources"):
    symbols_of, active = source_symbols(settings())
    with_bars = [source_id for source_id, symbols in symbols_of.items() if symbols]
    if not with_bars:
        st.info("No source has ingested bars yet: upload files or drop them into data/raw first.")
    else:
        values = _form(with_bars, active if active in with_bars else with_bars[0], symbols_of)
        check = check_config(settings(), values)
        if not check.ok or check.config is None:
            st.error(f"This configuration cannot run: {md(check.problem)}")
        else:
            st.subheader("Effective configuration")
            st.caption("The same TOML `pipeline run --config FILE` reads.")
            st.code(check.toml, language="toml")
            st.subheader("Split dates")
            plan: SplitPlan | None = None
            with guarded("work out the split dates"):
                plan = _plan(check.toml, check.config)
                _show_plan(plan)
            if plan is not None:
                _launch(check.config)
