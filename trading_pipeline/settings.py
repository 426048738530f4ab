"""One typed settings object for every process (CLI, daemon, workers, UI).

Every field reads an environment variable with the ``PIPELINE_`` prefix (``PIPELINE_DATA_DIR``...), so a
systemd unit, a Procfile line and a test all configure the system the same way. ``REDIS_URL`` is also
accepted because that is the name RQ users and hosting platforms already export.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from trading_pipeline.envsettings import EnvSettings, setting

__all__ = ["Settings", "get_settings"]

DEFAULT_DATA_DIR = Path("data")


def _known_zone(value: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when a zone is set: 5 ms per command

    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as America/Chicago"
            ) from exc
    return value or None


def _zone_map_text(text: str) -> dict[str, str]:
    """``default=America/Chicago,vendor_x=UTC`` as well as JSON."""
    text = text.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError("use a JSON object of source: zone")
        return {str(k): str(v) for k, v in loaded.items()}
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError("use source=Zone pairs separated by commas, e.g. default=America/Chicago")
    return {k.strip(): v.strip() for k, v in pairs}


def _zones_exist(value: dict[str, str]) -> dict[str, str]:
    for zone_name in value.values():
        _known_zone(zone_name)
    return value


def _database(value: str) -> str | None:
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            "use a postgresql://user:password@host:port/dbname URL (or leave it unset for SQLite)"
        )
    return value or None


def _absolute(value: Path) -> Path:
    return value.expanduser().resolve()


@dataclass(frozen=True, init=False)
class Settings(EnvSettings):
    """Where things live on disk and how the services behave.

    ``Settings()`` reads the process environment, ``Settings.from_env(environ, **values)`` a given one;
    ``settings.replace(**changes)`` is a checked copy. An invalid value raises ``ConfigError`` naming
    the setting and the variable it came from.
    """

    env_prefix = "PIPELINE_"

    data_dir: Path = setting(DEFAULT_DATA_DIR, "Root of everything on disk.", check=_absolute)
    database_url: str | None = setting(
        None,
        "postgresql://user:password@host/db for the ledger and the source registry (several hosts);"
        " unset means SQLite files in data/state (one host).",
        check=_database,
    )
    redis_url: str | None = setting(
        None,
        "Redis to use; unset means `pipeline up` starts an embedded one.",
        env=("PIPELINE_REDIS_URL", "REDIS_URL"),
    )
    log_format: str = setting("auto", "auto (pretty on a tty, JSON otherwise), json, console")
    log_level: str = setting("info", "debug, info, warning or error.")

    # Ingest
    default_tz: str | None = setting(
        None, "Zone for naive timestamps when no --tz and no vendor rule applies.", check=_known_zone
    )
    ingest_memory_mb: int = setting(
        1024, "Peak memory one ingest may use: larger files are read, checked and sorted in chunks.", ge=128
    )
    source_tz: dict[str, str] = setting(
        description="Zone of naive timestamps per source, like --tz for every file of it:"
        " 'default=America/Chicago,vendor_x=Europe/London' (or JSON).",
        factory=dict,
        parse=_zone_map_text,
        check=_zones_exist,
    )
    session_short_run_min: float = setting(
        5.0,
        "Futures session checks: a run of missing bars up to this many minutes is a quiet market"
        " (no_trade), a longer one a suspected outage.",
        gt=0,
    )
    # Limits: one hostile file must not exhaust a worker. A refusal names the setting to raise.
    max_decompressed_mb: int = setting(
        32768, "Largest content of one file once decompressed (plain files: size).", ge=1
    )
    max_rows: int = setting(1_000_000_000, "Most rows one file may hold.", ge=1)
    max_columns: int = setting(1000, "Most columns one file may hold.", ge=1)
    max_line_kb: int = setting(64, "Longest line of a text file, in KiB.", ge=1)
    max_zip_members: int = setting(10_000, "Most members one zip archive may hold.", ge=1)
    # Watcher
    quiet_period_s: float = setting(1.0, "A file must keep size and mtime this long.", ge=0)
    reconcile_interval_s: float = setting(30.0, "Full rescan of the watched folders.", gt=0)
    force_polling: bool = setting(False, "Use PollingObserver even on local disks.")
    poll_interval_s: float = setting(1.0, "How often the polling observer looks.", gt=0)
    # Queue
    job_timeout_s: int = setting(3600, "Longest a single ingest job may run.", ge=1)
    result_ttl_s: int = setting(7 * 24 * 3600, "How long RQ keeps finished jobs.")
    failure_ttl_s: int = setting(7 * 24 * 3600, "How long RQ keeps failed jobs.")
    ingest_retries: int = setting(3, "Retries of an ingest job that failed for a passing reason.", ge=0)
    # Workers
    horse_max_jobs: int = setting(
        200, "Jobs a work horse serves before a fresh fork; 1 = RQ's fork per job.", ge=1
    )
    horse_max_rss_mb: int = setting(1024, "A work horse larger than this after a job retires.", ge=64)
    # Research runs
    run_threads: int = setting(0, "Symbols an --inline run works on at once; 0 = one per CPU core.", ge=0)
    run_batch_rows: int = setting(
        1 << 20, "Rows `load` and `clean` hold at a time when a run resamples (--timeframe).", ge=1
    )
    # Each None: the run config's own default; a run's TOML file and flags override these.
    run_min_split_rows: int | None = setting(
        None, "Default min_split_rows of a run: rows each split should hold.", ge=1
    )
    run_min_class_rows: int | None = setting(
        None, "Default min_class_rows of a run: rows per label class and split.", ge=0
    )
    run_min_rows_severity: Literal["warn", "fail"] | None = setting(
        None, "Default min_rows_severity of a research run: warn or fail."
    )
    # Upload sessions
    session_max_age_h: float = setting(24.0, "Cleanup age for finished upload sessions.")
    temp_max_age_h: float = setting(
        6.0, "A temp file untouched this long is a killed writer's (on any host) and is removed.", gt=0
    )
    # UI
    ui_host: str = setting("127.0.0.1", "Address the UI binds; loopback unless exposed.")
    ui_port: int = setting(8501, "Port of the UI (`pipeline ui`, `up`).", ge=1, le=65535)
    ui_max_upload_mb: int = setting(
        1024, "Largest file the UI accepts, in MB (held in the UI's memory).", ge=1
    )

    def run_defaults(self) -> dict[str, Any]:
        """Run config values set here (unset ones are left to the run config's defaults)."""
        return {
            "min_split_rows": self.run_min_split_rows,
            "min_class_rows": self.run_min_class_rows,
            "min_rows_severity": self.run_min_rows_severity,
        }

    # Layout of the data folder. Every process derives paths from here, never by hand.
    @cached_property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @cached_property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads" / "sessions"

    @cached_property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @cached_property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @cached_property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.sqlite3"

    @cached_property
    def registry_path(self) -> Path:
        return self.state_dir / "sources.sqlite3"

    def database_for(self, sqlite_file: Path) -> Path | str:
        """Where a store's tables live: the PostgreSQL URL when one is set, else its SQLite file."""
        return self.database_url or sqlite_file

    def stored_path(self, path: str | Path) -> str:
        """``path`` as stored in ledger rows and job arguments: relative to the data folder when inside
        it, so hosts that mount the shared folder at different places name the same file the same way;
        absolute when outside (a folder source elsewhere must be mounted at one path on every host)."""
        text = str(path)
        prefix = f"{self.data_dir}{os.sep}"
        return text[len(prefix) :] if text.startswith(prefix) else text

    def local_path(self, stored: str) -> str:
        """A stored path as this host sees it: relative ones are under this host's data folder."""
        return stored if not stored or Path(stored).is_absolute() else str(self.data_dir / stored)

    @cached_property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @cached_property
    def redis_dir(self) -> Path:
        return self.state_dir / "redis"

    def ensure_dirs(self) -> None:
        for path in (self.raw_dir, self.uploads_dir, self.processed_dir, self.state_dir, self.runs_dir):
            path.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    """Settings from the process environment."""
    return Settings()
