"""Trading Pipeline Manager: the Streamlit app (`pipeline ui`, `pipeline up`, or `streamlit run ui/app.py`).

Navigation only; each page lives in ``ui/pages`` and renders what ``trading_pipeline.views`` and
``jobqueue.views`` return, and acts through ``trading_pipeline.actions`` and ``jobqueue.actions``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
TITLE = "Trading Pipeline Manager"

PAGES = [
    st.Page(HERE / "pages" / "upload.py", title="Upload data", icon=":material/upload:", default=True),
    st.Page(HERE / "pages" / "sources.py", title="Data sources", icon=":material/database:"),
    st.Page(HERE / "pages" / "configure.py", title="Configure pipeline", icon=":material/tune:"),
    st.Page(HERE / "pages" / "monitor.py", title="Monitor runs", icon=":material/monitoring:"),
    st.Page(HERE / "pages" / "queue.py", title="Queue health", icon=":material/dns:"),
]

st.set_page_config(page_title=TITLE, page_icon=":material/candlestick_chart:", layout="wide")
st.sidebar.title(TITLE)
st.navigation(PAGES).run()
