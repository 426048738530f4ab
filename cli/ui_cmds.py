"""`pipeline ui`: the Streamlit app in the foreground (`pipeline up` runs it supervised)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, exits_cleanly, load_settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `ui`."""
    app.command("ui")(ui)


@exits_cleanly
def ui(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default PIPELINE_UI_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port (default PIPELINE_UI_PORT, 8501)."),
    ] = None,
) -> None:
    """Serve the web UI (Trading Pipeline Manager): upload, sources, configure, monitor, queue health."""
    from ui.server import serve, url

    settings = load_settings("ui")
    settings.ensure_dirs()
    console.print(f"UI at {url(settings, host, port)}  (Ctrl-C stops it)", highlight=False)
    serve(settings, host, port)
