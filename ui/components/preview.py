"""The first bars of a symbol as a table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

__all__ = ["show_preview"]


def show_preview(frame: pd.DataFrame) -> None:
    if frame.empty:
        st.info("no bars stored for this symbol yet")
        return
    st.dataframe(frame, hide_index=True, width="stretch")
