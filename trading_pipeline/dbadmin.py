"""`pipeline db`: bring every store's schema up to date, and copy an installation between databases.

The stores are the source registry and the ledger. On SQLite each has its own file in ``data/state``;
on PostgreSQL they share one database. ``copy`` moves every row of every table, keeping row ids (the
outputs point at them), into an empty destination, and counts both sides afterwards: a copy that
lost a row fails instead of reporting success.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trading_pipeline.db import Conn, Database, DbTarget, is_database_url
from trading_pipeline.errors import UsageError
from trading_pipeline.migrations import Migration, migrate, pending
from trading_pipeline.settings import Settings

__all__ = ["CopyResult", "StoreState", "copy_database", "migrate_all", "schema_state"]

BATCH = 1000


@dataclass(frozen=True)
class Store:
    component: str
    sqlite_file: str
    tables: tuple[str, ...]
    """Copy order: a table after the ones it references."""
    identity_tables: tuple[str, ...]
    """Tables whose ``id`` PostgreSQL generates: their sequences continue after the copied ids."""

    def migrations(self) -> Sequence[Migration]:
        if self.component == "ledger":
            from trading_pipeline.ledger import MIGRATIONS as ledger_steps

            return ledger_steps
        from trading_pipeline.sources.repository import MIGRATIONS as registry_steps

        return registry_steps


STORES = (
    Store("sources", "sources.sqlite3", ("sources", "repository_state"), ()),
    Store("ledger", "ledger.sqlite3", ("files", "outputs", "builds"), ("files", "builds")),
)


@dataclass(frozen=True)
class StoreState:
    component: str
    where: str
    version: int
    latest: int
    applied: tuple[str, ...] = ()

    @property
    def current(self) -> bool:
        return self.version >= self.latest

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.component,
            "database": self.where,
            "version": self.version,
            "latest": self.latest,
            "applied": list(self.applied),
        }


def _target(settings: Settings, store: Store) -> DbTarget:
    return settings.database_for(settings.state_dir / store.sqlite_file)


def _run_index_state(settings: Settings, *, apply: bool) -> list[StoreState]:
    """The run index (PostgreSQL only: on one host the run folders are the index)."""
    if not settings.database_url:
        return []
    from trading_pipeline.stages.runindex import COMPONENT, MIGRATIONS

    db = Database(settings.database_url)
    latest = MIGRATIONS[-1].version
    if apply:
        applied = migrate(db, COMPONENT, MIGRATIONS)
        return [StoreState(COMPONENT, db.describe(), latest, latest, tuple(s.description for s in applied))]
    missing = pending(db, COMPONENT, MIGRATIONS)
    return [StoreState(COMPONENT, db.describe(), missing[0].version - 1 if missing else latest, latest)]


def schema_state(settings: Settings) -> list[StoreState]:
    """Each store's applied and latest schema version, changing nothing."""
    states = _run_index_state(settings, apply=False)
    for store in STORES:
        db = Database(_target(settings, store))
        steps = store.migrations()
        latest = steps[-1].version
        missing = pending(db, store.component, steps)
        version = missing[0].version - 1 if missing else latest
        states.append(StoreState(store.component, db.describe(), version, latest))
    return states


def migrate_all(settings: Settings) -> list[StoreState]:
    """Apply every missing migration of every store; a second call applies none."""
    states = _run_index_state(settings, apply=True)
    for store in STORES:
        db = Database(_target(settings, store))
        steps = store.migrations()
        applied = migrate(db, store.component, steps, settings.data_dir)
        latest = steps[-1].version
        states.append(
            StoreState(store.component, db.describe(), latest, latest, tuple(s.description for s in applied))
        )
    return states


@dataclass(frozen=True)
class CopyResult:
    table: str
    rows: int


def _endpoint(url: str, store: Store) -> DbTarget:
    """``postgresql://...`` as it is; ``sqlite:///PATH`` names a data folder, or its ``state`` folder."""
    if is_database_url(url):
        return url
    if not url.startswith("sqlite:///"):
        raise UsageError(f"{url!r}: use sqlite:///path/to/data or postgresql://user@host/db")
    folder = Path(url.removeprefix("sqlite://"))
    if (folder / "state").is_dir():
        folder = folder / "state"
    return folder / store.sqlite_file


def copy_database(source: str, destination: str, data_dir: Path | None) -> list[CopyResult]:
    """Copy every row of the registry and the ledger from ``source`` into an empty ``destination``."""
    if source == destination:
        raise UsageError("--from and --to name the same database")
    results: list[CopyResult] = []
    for store in STORES:
        src_target = _endpoint(source, store)
        if isinstance(src_target, Path) and not src_target.is_file():
            raise UsageError(f"no {store.sqlite_file} at {src_target}")
        src, dst = Database(src_target), Database(_endpoint(destination, store))
        steps = store.migrations()
        migrate(src, store.component, steps, data_dir)
        migrate(dst, store.component, steps, data_dir)
        results.extend(_copy_store(src, dst, store))
    if is_database_url(destination) and data_dir is not None:
        from trading_pipeline.stages.runindex import RunIndex

        added = RunIndex(destination).index_folder(data_dir / "runs")
        results.append(CopyResult("runs", added))
    return results


def _copy_store(src: Database, dst: Database, store: Store) -> list[CopyResult]:
    with dst.write(store.component) as out:
        for table in store.tables:
            if _count(out, table):
                raise UsageError(
                    f"the destination already holds rows in {table}: copy into an empty database"
                )
        with src.read() as conn:
            for table in store.tables:
                _copy_table(conn, out, table)
        for table in store.identity_tables if dst.postgres else ():
            out.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                f" FROM {table}"
            )
    results = []
    with src.read() as conn, dst.read() as out:
        for table in store.tables:
            have, got = _count(conn, table), _count(out, table)
            if have != got:
                raise UsageError(f"{table}: {have} rows in the source but {got} copied")
            results.append(CopyResult(table, got))
    return results


def _count(conn: Conn, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _copy_table(conn: Conn, out: Conn, table: str) -> None:
    columns = sorted(conn.columns(table) & out.columns(table))
    names = ", ".join(f'"{c}"' for c in columns)
    rows = conn.execute(f"SELECT {names} FROM {table}").fetchall()
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    for start in range(0, len(rows), BATCH):
        out.executemany(insert, [tuple(r) for r in rows[start : start + BATCH]])
