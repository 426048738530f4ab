"""Bars from a PostgreSQL table: the worked example of adding a source type (see docs/sources.md).

The table has the canonical columns plus ``symbol``::

    CREATE TABLE bars (symbol text NOT NULL, datetime timestamptz NOT NULL, open float8 NOT NULL,
                       high float8 NOT NULL, low float8 NOT NULL, close float8 NOT NULL, volume float8,
                       PRIMARY KEY (symbol, datetime));

Optional canonical columns (``vwap``, ``trades``...) are read when present. Passwords never reach the
data folder: give the connection string in an environment variable (``dsn_env``) or use a DSN without
a password (libpq then reads ``PGPASSWORD`` or ``~/.pgpass``); a DSN holding a password fails validation.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any, Self

import pandas as pd

from trading_pipeline.errors import SourceError, UsageError
from trading_pipeline.schema import BAR_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import DataSource, DataSourceMetadata, SymbolInfo
from trading_pipeline.sources.merge import merge_bars
from trading_pipeline.sources.stored import SymbolNotFoundError

__all__ = ["DatabaseDataSource"]

TABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
CONNECT_TIMEOUT_S = 5
_MB = 1024 * 1024


class DatabaseDataSource(DataSource):
    """Canonical bars stored in a PostgreSQL table with a ``symbol`` column (read with psycopg 3)."""

    source_type = "database"

    def __init__(
        self,
        source_id: str,
        *,
        dsn: str | None = None,
        dsn_env: str | None = None,
        table: str = "bars",
        settings: Settings | None = None,
    ) -> None:
        super().__init__(source_id, settings=settings)
        if (dsn is None) == (dsn_env is None):
            raise UsageError("a database source needs exactly one of dsn or dsn_env")
        if not TABLE_RE.fullmatch(table):
            raise UsageError(f"table name {table!r} must be [schema.]name of letters, digits and '_'")
        self.dsn, self.dsn_env, self.table = dsn, dsn_env, table

    # --- persistence --------------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        return {"dsn": self.dsn, "dsn_env": self.dsn_env, "table": self.table}

    @classmethod
    def from_config(cls, source_id: str, config: dict[str, Any], settings: Settings) -> Self:
        return cls(
            source_id,
            dsn=config.get("dsn"),
            dsn_env=config.get("dsn_env"),
            table=config["table"],
            settings=settings,
        )

    # --- connection ---------------------------------------------------------------------------
    def _conninfo(self) -> str:
        if self.dsn is not None:
            return self.dsn
        value = os.environ.get(str(self.dsn_env))
        if not value:
            raise SourceError(
                f"database source {self.source_id!r}: environment variable {self.dsn_env} is not set"
            )
        return value

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A read-only cursor; driver errors become a SourceError naming this source."""
        import psycopg

        try:
            with psycopg.connect(self._conninfo(), connect_timeout=CONNECT_TIMEOUT_S) as conn:
                conn.read_only = True
                with conn.cursor() as cur:
                    yield cur
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(f"database source {self.source_id!r}: {reason}") from exc

    def _table(self) -> Any:
        from psycopg import sql

        return sql.Identifier(*self.table.split("."))

    def _columns(self, cur: Any) -> list[str]:
        from psycopg import sql

        cur.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(self._table()))
        return [d.name for d in cur.description]

    # --- the five questions every source answers --------------------------------------------
    def validate(self) -> tuple[bool, list[str]]:
        errors = self._dsn_errors()
        if errors:
            return False, errors
        try:
            with self._cursor() as cur:
                columns = self._columns(cur)
        except SourceError as exc:
            return False, [exc.message]
        missing = [c for c in ("symbol", *REQUIRED_COLUMNS) if c not in columns]
        if missing:
            errors.append(f"table {self.table} lacks column(s) {', '.join(missing)}")
        return not errors, errors

    def _dsn_errors(self) -> list[str]:
        if self.dsn is None:
            return []
        from psycopg import ProgrammingError, conninfo

        try:
            parts = conninfo.conninfo_to_dict(self.dsn)
        except ProgrammingError as exc:
            return [f"invalid connection string: {exc}"]
        if parts.get("password"):
            return ["the connection string holds a password: pass dsn_env (an environment variable) instead"]
        return []

    def get_available_symbols(self) -> list[str]:
        from psycopg import sql

        with self._cursor() as cur:
            cur.execute(sql.SQL("SELECT DISTINCT symbol FROM {} ORDER BY symbol").format(self._table()))
            return [str(row[0]) for row in cur.fetchall()]

    def get_metadata(self) -> DataSourceMetadata:
        """One aggregate query per call: with an index on (symbol, datetime) it stays fast."""
        from psycopg import sql

        ok, errors = self.validate()
        info: dict[str, SymbolInfo] = {}
        columns: list[str] = []
        size = 0
        if ok:
            query = sql.SQL(
                "SELECT symbol, count(*), min(datetime), max(datetime) FROM {} GROUP BY symbol ORDER BY 1"
            ).format(self._table())
            with self._cursor() as cur:
                columns = [c for c in self._columns(cur) if c in BAR_COLUMNS or c in OPTIONAL_COLUMNS]
                cur.execute(query)
                for symbol, rows, start, end in cur.fetchall():
                    info[str(symbol)] = SymbolInfo(int(rows), _iso(start), _iso(end), files=0)
                cur.execute("SELECT pg_total_relation_size(%s::regclass)", (self.table,))
                size = int(cur.fetchone()[0])
        starts = [i.start for i in info.values() if i.start]
        ends = [i.end for i in info.values() if i.end]
        return DataSourceMetadata(
            source_id=self.source_id,
            source_type=self.source_type,
            symbols=sorted(info),
            date_range=(min(starts), max(ends)) if starts and ends else None,
            row_count=sum(i.rows for i in info.values()),
            file_size_mb=size / _MB,
            created_at=self.created_at,
            columns=columns,
            validated=ok,
            validation_errors=errors,
            symbol_info=info,
            location=f"postgresql table {self.table}",
            options={k: v for k, v in self.to_config().items() if v is not None},
        )

    def load_symbol(self, symbol: str) -> pd.DataFrame:
        return self._query_bars(symbol, limit=None)

    def preview(self, symbol: str, n_rows: int = 10) -> pd.DataFrame:
        return self._query_bars(symbol, limit=n_rows)

    def _query_bars(self, symbol: str, limit: int | None) -> pd.DataFrame:
        from psycopg import sql

        with self._cursor() as cur:
            present = set(self._columns(cur))
            columns = [c for c in (*BAR_COLUMNS, *OPTIONAL_COLUMNS) if c in present]
            query = sql.SQL("SELECT {} FROM {} WHERE symbol = %s ORDER BY datetime").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), self._table()
            )
            if limit is not None:
                query = sql.SQL("{} LIMIT {}").format(query, sql.Literal(int(limit)))
            cur.execute(query, (symbol,))
            rows = cur.fetchall()
        if not rows and limit != 0:
            available = ", ".join(self.get_available_symbols()) or "none"
            raise SymbolNotFoundError(symbol=symbol, source_id=self.source_id, available=available)
        return self._merge_duplicates(symbol, _frame(rows, columns))

    def _merge_duplicates(self, symbol: str, bars: pd.DataFrame) -> pd.DataFrame:
        """A table without a primary key may repeat a bar: identical repeats merge, conflicts raise."""
        repeated = bars["datetime"].duplicated(keep="first")
        if not repeated.any():
            return bars
        name = f"table {self.table}"
        return merge_bars(symbol, [(name, bars[~repeated]), (name, bars[repeated])])


def _frame(rows: list[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    """Rows as canonical bars: UTC ``datetime64[ns]``, float64 prices and volume."""
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True).astype("datetime64[ns, UTC]")
    for column in columns[1:]:
        if column == "trades":
            frame[column] = frame[column].astype("Int64")
        else:
            frame[column] = frame[column].astype("float64")
    return frame


def _iso(value: Any) -> str | None:
    return pd.Timestamp(value).tz_convert("UTC").isoformat() if value is not None else None
