"""A file's report in plain words: what was found, the offending rows, and the warnings."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui.state import badge, md

__all__ = ["findings_table", "show_report"]

ROWS_SHOWN = 20


def findings_table(findings: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finding: the check, what is wrong, how many rows and the first of them."""
    return pd.DataFrame(
        [
            {
                "check": f.get("check", ""),
                "what is wrong": f.get("message", ""),
                "rows affected": f.get("count", 0),
                "first rows": ", ".join(str(r) for r in list(f.get("rows", []))[:ROWS_SHOWN]),
            }
            for f in findings
        ],
        columns=["check", "what is wrong", "rows affected", "first rows"],
    )


def show_report(report: dict[str, Any] | None, *, title: str = "") -> None:
    """Render a FileReport's JSON (from the ledger or a check): status, errors, warnings, notes.

    Everything from the file is shown as table cells or escaped text, never as Markdown."""
    if not report:
        st.caption("no report yet")
        return
    status = str(report.get("status", ""))
    head = f"{badge(status)} {md(title)}" if title else badge(status)
    profile = report.get("profile")
    st.markdown(head + (f" · layout {md(profile)}" if profile else ""))
    errors = list(report.get("errors") or [])
    warnings = list(report.get("warnings") or [])
    if errors:
        st.markdown("**Why it was refused**")
        st.dataframe(findings_table(errors), hide_index=True, width="stretch")
    if warnings:
        st.markdown("**Warnings**")
        st.dataframe(findings_table(warnings), hide_index=True, width="stretch")
    symbols = report.get("symbols") or {}
    if symbols:
        st.dataframe(
            pd.DataFrame(
                [{"symbol": s, **{k: v for k, v in r.items() if k != "output"}} for s, r in symbols.items()]
            ),
            hide_index=True,
        )
    notes = report.get("notes") or {}
    if notes:
        st.caption("How the file was read")
        st.dataframe(
            pd.DataFrame({"note": list(notes), "value": [str(v) for v in notes.values()]}), hide_index=True
        )
