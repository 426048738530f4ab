"""What every page shares: the settings, the Redis link, text made safe for the page, and a guard that
turns any error into plain words (the details folded away, never a traceback)."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from datetime import datetime

import streamlit as st

from jobqueue.views import RedisLink, resolve_redis
from trading_pipeline.errors import PipelineError
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import Tone, tone

__all__ = ["badge", "guarded", "local_time", "md", "redis_link", "settings"]

log = logging.getLogger("ui")

TONE_COLOURS: dict[Tone, str] = {
    Tone.GOOD: "green",
    Tone.BAD: "red",
    Tone.BUSY: "orange",
    Tone.WAITING: "blue",
    Tone.QUIET: "gray",
    Tone.INFO: "violet",
}
"""The page's colours for the tones every screen shares (the CLI maps the same tones to its colours)."""

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")


@st.cache_resource
def settings() -> Settings:
    """The settings of this UI process (PIPELINE_* environment variables), read once."""
    value = Settings()
    value.ensure_dirs()
    return value


def redis_link() -> RedisLink:
    """Redis, or why not; never raises, so a page keeps showing the disk's truth when it is down."""
    return resolve_redis(settings())


def md(text: object) -> str:
    """Text from a file (names, reasons, symbols) made inert for Markdown: every punctuation mark is
    backslash-escaped, so no link, image, emphasis, colour directive or formula can come from data."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", "  \n")


def badge(status: str) -> str:
    """A coloured status badge (Markdown) in the status's tone."""
    return f":{TONE_COLOURS[tone(status)]}-badge[{md(status)}]"


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


@contextlib.contextmanager
def guarded(what: str) -> Iterator[None]:
    """Run a part of a page; an error is said in plain words with its details folded away."""
    try:
        yield
    except PipelineError as exc:
        st.error(f"Could not {what}: {md(exc.message)}")
    except Exception as exc:
        log.exception("page error while trying to %s", what)
        st.error(f"Could not {what}. The UI's log has the details.")
        with st.expander("details"):
            st.text(f"{type(exc).__name__}: {exc}")
