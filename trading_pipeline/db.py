"""Database access shared by the ledger and the source registry: SQLite in the data folder, or PostgreSQL.

SQLite in WAL mode gives several processes (CLI, daemon, forked RQ work horses, Streamlit) safe
concurrent access to one file in the data folder with no server to run. It stops at one host: its
locking is not reliable over NFS or SMB. ``PIPELINE_DATABASE_URL=postgresql://...`` moves the same
tables to PostgreSQL, so workers on several hosts share them.

The ledger and the registry write their SQL once, in SQLite's spelling with ``?`` placeholders and
``ON CONFLICT`` upserts (both engines understand those); ``Conn`` translates the few differences for
PostgreSQL (placeholders, ``GROUP_CONCAT``). A write transaction is ``BEGIN IMMEDIATE`` on SQLite
(writers queue) and, on PostgreSQL, a transaction holding a transaction-level advisory lock named by
the caller: the same one-writer-at-a-time semantics, so no statement needs a second version.

Each process also keeps one idle SQLite connection per database open (``_anchor``), never used for a
query. The last connection to close runs a checkpoint (with fsyncs) and deletes the write-ahead log;
with a connection per unit of work, every one of them was the last: a work horse spent about half of a
small file's time in those closes. With the anchor, checkpoints run when the log fills, as SQLite
intends.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import sys
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from trading_pipeline.urls import redacted

__all__ = [
    "AdvisoryLock",
    "Conn",
    "Cursor",
    "Database",
    "DbTarget",
    "Row",
    "db_errors",
    "is_database_url",
]

BUSY_TIMEOUT_MS = 30_000
DbTarget = Path | str
"""A SQLite file, or a ``postgresql://`` URL."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Row(tuple[Any, ...]):
    """A PostgreSQL row that reads like ``sqlite3.Row``: by position, by column name, ``dict(row)``."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def is_database_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def db_errors() -> tuple[type[Exception], ...]:
    """The exception types a database call may raise (psycopg's only once it was imported)."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error, psycopg.Error) if psycopg is not None else (sqlite3.Error,)


_GROUP_CONCAT = re.compile(r"GROUP_CONCAT\(([^)]*)\)")


def _postgres_sql(sql: str) -> str:
    sql = _GROUP_CONCAT.sub(r"string_agg(\1, ',')", sql)
    return sql.replace("%", "%%").replace("?", "%s")


class Conn:
    """One connection of either engine, inside a unit of work, speaking the project's portable SQL."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        if not self.postgres:
            return self.raw.execute(sql, args)  # type: ignore[no-any-return]
        cursor = self.raw.cursor()
        cursor.execute(_postgres_sql(sql), args)
        return cursor  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if not self.postgres:
            self.raw.executemany(sql, rows)
            return
        with self.raw.cursor() as cursor:
            cursor.executemany(_postgres_sql(sql), rows)

    def script(self, ddl: str) -> None:
        """Several statements separated by ``;`` (DDL: no placeholders)."""
        for statement in (s.strip() for s in ddl.split(";")):
            if statement:
                self.raw.execute(statement)

    def columns(self, table: str) -> set[str]:
        if self.postgres:
            rows = self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ?",
                (table,),
            ).fetchall()
            return {str(r[0]) for r in rows}
        return {str(r[1]) for r in self.raw.execute(f"PRAGMA table_info({table})")}

    def tables(self) -> set[str]:
        if self.postgres:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type='table'"
        return {str(r[0]) for r in self.execute(sql).fetchall()}


class Database:
    """Where one store's tables live; opens a connection per unit of work (SQLite) or reuses one per
    process and thread (PostgreSQL: a new server backend per statement would cost milliseconds)."""

    def __init__(self, target: DbTarget) -> None:
        self.postgres = is_database_url(target)
        self.target = target if self.postgres else Path(target)

    @property
    def engine(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def describe(self) -> str:
        """Where the tables are, fit for a log line (no password)."""
        return redacted(str(self.target)) if self.postgres else str(self.target)

    def identity(self) -> str:
        """``INTEGER PRIMARY KEY`` is SQLite's row id; PostgreSQL needs an identity column."""
        return (
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if self.postgres else "INTEGER PRIMARY KEY"
        )

    @contextlib.contextmanager
    def read(self) -> Iterator[Conn]:
        if self.postgres:
            with _postgres(str(self.target)) as raw:
                yield Conn(raw, True)
            return
        raw = _sqlite(Path(self.target))
        try:
            yield Conn(raw, False)
        finally:
            raw.close()

    @contextlib.contextmanager
    def write(self, lock: str, *, durable: bool = True) -> Iterator[Conn]:
        """One write transaction; concurrent writers naming the same ``lock`` queue behind each other.

        ``durable=False`` (SQLite): the commit skips the fsync (``synchronous=NORMAL``). The database
        stays consistent, but the last such commits may be lost with the power: only for marks a later
        durable commit settles anyway (a file being ingested)."""
        if self.postgres:
            with _postgres(str(self.target)) as raw, raw.transaction():
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(lock),))
                yield Conn(raw, True)
            return
        raw = _sqlite(Path(self.target))
        if not durable:
            raw.execute("PRAGMA synchronous=NORMAL")
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                yield Conn(raw, False)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
        finally:
            raw.close()


def lock_key(name: str) -> int:
    """A stable 32-bit number for an advisory lock name (the same on every host and version)."""
    return zlib.crc32(f"trading_pipeline:{name}".encode())


MAX_ANCHORS = 8
"""Databases a process keeps an idle connection to (a test process opens many; a service one or two)."""
_ANCHORS: OrderedDict[tuple[int, Path], sqlite3.Connection] = OrderedDict()


def _anchor(path: Path) -> None:
    """Hold an idle connection to ``path`` for this process. Keyed by pid: a forked child opens its
    own and never touches (nor closes) what it inherited, as SQLite requires."""
    key = (os.getpid(), path)
    if key in _ANCHORS:
        _ANCHORS.move_to_end(key)
        return
    anchor = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    # One read attaches it to the write-ahead log (its shared-memory index), which is what makes
    # SQLite see another connection when the others close; it holds no lock on the data after it.
    anchor.execute("PRAGMA schema_version").fetchall()
    _ANCHORS[key] = anchor
    own = [k for k in _ANCHORS if k[0] == key[0]]
    for old in own[: max(0, len(own) - MAX_ANCHORS)]:
        _ANCHORS.pop(old).close()


def _sqlite(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    _anchor(path)
    return conn


_local = threading.local()


@contextlib.contextmanager
def _postgres(url: str) -> Iterator[Any]:
    """This process's and thread's connection to ``url``; a broken one is dropped, never reused, and a
    connection inherited over ``fork`` is never touched (it belongs to the parent)."""
    import psycopg

    cache: dict[tuple[int, str], Any] = _local.__dict__.setdefault("conns", {})
    key = (os.getpid(), url)
    raw = cache.get(key)
    if raw is None or raw.closed:
        raw = psycopg.connect(url, autocommit=True, row_factory=_row_factory, connect_timeout=10)
        cache[key] = raw
    try:
        yield raw
    except psycopg.OperationalError:
        cache.pop(key, None)
        with contextlib.suppress(psycopg.Error):
            raw.close()
        raise


def _row_factory(cursor: Any) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or [])}

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)

    return make


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own.

    Held while this process lives and its connection is up; the server frees it the moment the
    connection closes (a killed process) or, for a host that vanished, once TCP keepalive gives up
    (about 30 s with the settings below). ``label`` becomes the connection's ``application_name``, so
    ``holder()`` (and `pipeline doctor`) can say who holds it."""

    def __init__(self, url: str, name: str, label: str) -> None:
        self.url = url
        self.key = lock_key(name)
        self.label = label[:63]
        self._conn: Any = None

    def try_acquire(self) -> bool:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.url, autocommit=True, application_name=self.label, connect_timeout=10,
                keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
            )  # fmt: skip
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def check(self) -> bool:
        """Still held: the connection (and with it the lock) is alive."""
        import psycopg

        try:
            self._conn.execute("SELECT 1")
        except (psycopg.Error, AttributeError):
            return False
        return True

    def release(self) -> None:
        import psycopg

        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()  # closing the session frees its advisory locks
            self._conn = None

    def holder(self) -> str | None:
        """The ``application_name`` (and address) of the session holding the lock, if any."""
        with _postgres(self.url) as raw:
            row = raw.execute(
                "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a"
                " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0"
                " AND l.objid::bigint = %s",
                (self.key,),
            ).fetchone()
        if row is None:
            return None
        return f"{row[0]} from {row[1] or 'a local socket'}"
