"""Streamlit UI (joins `pipeline up` in a later issue)."""
