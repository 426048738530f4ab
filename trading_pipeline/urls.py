"""Service URLs (Redis, PostgreSQL) as they may be shown: a password never reaches a log, a table or
an error message."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["redacted"]


def redacted(url: str) -> str:
    """The URL with any password replaced, fit for logs, tables and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
