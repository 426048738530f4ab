"""A private PostgreSQL server on a free loopback port in a temp folder, for tests and benchmarks.

Uses the machine's server binaries (Debian's ``/usr/lib/postgresql/<v>/bin`` or ``initdb`` on PATH),
never a running cluster. As root, the server runs as the ``postgres`` system user (it refuses root).
``fsync=off`` unless ``durable``: a test's data is thrown away, so durability would only cost time.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

from stack.embedded_redis import free_port

__all__ = ["PostgresUnavailable", "ThrowawayPostgres", "postgres_bin_dir"]


class PostgresUnavailable(RuntimeError):
    """No server binary, or no user to run it as: callers skip rather than fail."""


def postgres_bin_dir() -> Path | None:
    """The newest installed server's bin folder (Debian layout), else the folder of initdb on PATH."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in Path(path).parts[4].split(".") if part.isdigit())

    found = sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def _as_postgres_user() -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root and no 'postgres' system user to run the PostgreSQL server as"
        ) from None
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


class ThrowawayPostgres:
    """``with ThrowawayPostgres() as pg:`` a started server; ``pg.dsn`` (libpq keywords) and
    ``pg.new_database()`` (a fresh, empty database's ``postgresql://`` URL)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # fsync on, as in production: for benchmarks
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binary (initdb/pg_ctl) found; install the postgresql package"
            )
        self.bin_dir = bin_dir
        self.prefix, self.uid, self.gid = _as_postgres_user()
        self.workdir = Path(tempfile.mkdtemp(prefix="pipeline-pg-"))
        self.port = free_port()
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        if self.uid is not None and self.gid is not None:
            os.chown(self.workdir, self.uid, self.gid)
        data = self.workdir / "data"
        initdb = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ]
        self._run([*initdb, "--no-sync"])
        opts = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            opts += " -c fsync=off -c full_page_writes=off"
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.log_path),
                "-o",
                opts,
                "-w",
                "start",
            ]
        )
        self._wait_ready()
        return self.dsn

    @property
    def log_path(self) -> Path:
        return self.workdir / "log"

    def _run(self, argv: list[str]) -> None:
        subprocess.run([*self.prefix, *argv], check=True, capture_output=True, timeout=120)

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def new_database(self) -> str:
        """A fresh empty database on this server; returns its ``postgresql://`` URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [
                *self.prefix,
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.workdir / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
