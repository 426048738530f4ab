"""How the UI process is started: `pipeline ui` and `pipeline up` run Streamlit with these options."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from trading_pipeline.settings import Settings

__all__ = ["APP", "serve", "streamlit_argv", "url"]

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_argv(settings: Settings, host: str | None = None, port: int | None = None) -> list[str]:
    """Streamlit bound to loopback by default, headless, no usage statistics, no file watcher, the
    upload limit from the settings, error details kept in the log instead of on the page, and no
    "magic" (a bare string in a page is a comment, never shown)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host or settings.ui_host,
        "--server.port", str(port or settings.ui_port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--server.maxUploadSize", str(settings.ui_max_upload_mb),
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "none",
        "--client.toolbarMode", "viewer",
        "--runner.magicEnabled", "false",
    ]  # fmt: skip


def url(settings: Settings, host: str | None = None, port: int | None = None) -> str:
    return f"http://{host or settings.ui_host}:{port or settings.ui_port}"


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> NoReturn:
    """Replace this process with Streamlit (so a supervisor's signals reach it directly)."""
    argv = streamlit_argv(settings, host, port)
    # Our own interpreter with fixed arguments from typed settings: no shell, no text from a user.
    os.execv(argv[0], argv)  # noqa: S606  # nosec B606
