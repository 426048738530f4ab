"""The one way to reach Redis: where it is (settings, or the URL a running `pipeline up` published)
and a checked client for RQ.

``decode_responses`` stays False: RQ stores binary fields and fails on a decoding client.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis

from trading_pipeline.errors import QueueUnavailableError
from trading_pipeline.settings import Settings
from trading_pipeline.urls import redacted

__all__ = ["URL_FILE", "connect", "connect_settings", "redacted", "resolve_url", "url_file"]

URL_FILE = "redis.url"
NOT_CONFIGURED = "REDIS_URL is not set and no `pipeline up` is running"


def url_file(settings: Settings) -> Path:
    """Where an embedded Redis publishes its URL while it runs, for commands in other terminals."""
    return settings.redis_dir / URL_FILE


def resolve_url(settings: Settings) -> str | None:
    """``PIPELINE_REDIS_URL``/``REDIS_URL`` if set, else the URL of a running embedded Redis, else None."""
    if settings.redis_url:
        return settings.redis_url
    try:
        url = url_file(settings).read_text().strip()
    except OSError:
        return None
    return url or None


def connect(url: str, *, check: bool = True, timeout_s: float | None = None) -> redis.Redis:
    """A client for ``url``; with ``check`` it must answer PING, else a clear ``QueueUnavailableError``.

    ``timeout_s`` bounds each command, for processes that never block-pop (daemon, CLI, UI) so a hung
    server cannot hang them; workers leave it unset because RQ's blocking dequeue outlives any short
    timeout.
    """
    options: dict[str, float] = {}
    if timeout_s is not None:
        options = {"socket_timeout": timeout_s, "socket_connect_timeout": min(timeout_s, 5.0)}
    client = redis.Redis.from_url(url, health_check_interval=30, **options)
    if check:
        try:
            client.ping()
        except redis.RedisError as exc:
            client.close()
            raise QueueUnavailableError(url=redacted(url), reason=str(exc) or type(exc).__name__) from exc
    return client


def connect_settings(
    settings: Settings, *, timeout_s: float | None = 10.0, wait_s: float = 0.0
) -> redis.Redis:
    """The checked client for the configured or running Redis; a clear error when there is none.

    ``wait_s`` keeps trying that long first: under a Procfile or systemd, Redis may start a moment
    after the process that needs it.
    """
    url = resolve_url(settings)
    if url is None:
        raise QueueUnavailableError(url="(unset)", reason=NOT_CONFIGURED)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return connect(url, timeout_s=timeout_s)
        except QueueUnavailableError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)
