"""Upload data: files into a new upload session, then follow each one until it is final."""

from __future__ import annotations

import streamlit as st

from ui.components.upload import follow_uploads, handle, show_checks, show_note, upload_form

st.title("Upload data")
st.write(
    "Files are saved into a new upload session folder, which the daemon watches; workers then check and"
    " store them. This page follows each file by itself. Files can also be dropped into data/raw."
)
request = upload_form()
if request is not None:
    handle(request)
show_note()
show_checks()
follow_uploads()
