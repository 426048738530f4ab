"""The one way the system writes "now": UTC, ISO 8601 with milliseconds, as every record stores it."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["now_iso", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def now_iso() -> str:
    """``2026-12-01T14:36:26.123+00:00``: sorts as text in the same order as in time."""
    return utc_now().isoformat(timespec="milliseconds")
