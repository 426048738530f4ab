"""The web UI (Streamlit): `ui/app.py` with `ui/pages/` and `ui/components/`; `pipeline ui` serves it."""
