"""AppTest fixtures: the real app file, a real data folder and a real Redis, fresh caches per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
TIMEOUT_S = 60.0
"""AppTest's own default is 3 s, too short for a first render on a loaded machine."""


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """``st.cache_resource`` (the settings) outlives an AppTest: each test reads its own environment."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def ui_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings, redis_url: str) -> Settings:
    """The UI's environment: this test's data folder and Redis."""
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PIPELINE_REDIS_URL", redis_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return settings.replace(redis_url=redis_url)


@pytest.fixture
def open_page(ui_settings: Settings) -> Callable[[str | None], AppTest]:
    """The app, run once, then switched to ``pages/<name>.py`` (None: the default page)."""

    def open_(page: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
        at.run()
        if page is not None:
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_


def ingest_csv(settings: Settings, name: str, data: bytes) -> None:
    """A file dropped into data/raw and ingested in this process (fixtures that need stored bars)."""
    path = settings.raw_dir / name
    path.write_bytes(data)
    DataIngestor(settings).ingest(path, IngestOptions(tz="UTC"))


def texts(at: AppTest) -> str:
    """Everything the page says in Markdown, alerts, text and captions, one string."""
    kinds = ("markdown", "info", "warning", "error", "success", "text", "caption", "title")
    parts = [e.value for kind in kinds for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)
