"""Choosing symbols from what a source really holds."""

from __future__ import annotations

import streamlit as st

__all__ = ["pick_symbol", "pick_symbols"]


def pick_symbol(symbols: list[str], *, key: str, label: str = "Symbol") -> str | None:
    if not symbols:
        st.info("this source has no ingested symbols yet")
        return None
    return st.selectbox(label, symbols, key=key)


def pick_symbols(symbols: list[str], *, key: str, label: str = "Symbols") -> list[str]:
    """Several symbols; every one by default."""
    chosen: list[str] = st.multiselect(label, symbols, default=symbols, key=key)
    return chosen
