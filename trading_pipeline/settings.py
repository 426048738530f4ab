"""One typed settings object for every process (CLI, daemon, workers, UI).

Every field reads an environment variable with the ``PIPELINE_`` prefix (``PIPELINE_DATA_DIR``...), so a
systemd unit, a Procfile line and a test all configure the system the same way. ``REDIS_URL`` is also
accepted because that is the name RQ users and hosting platforms already export.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Where things live on disk and how the services behave."""

    model_config = SettingsConfigDict(env_prefix="PIPELINE_", extra="ignore", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="Root of everything on disk.")
    database_url: str | None = Field(
        default=None,
        description="postgresql://user:password@host/db for the ledger and the source registry (several"
        " hosts); unset means SQLite files in data/state (one host).",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PIPELINE_REDIS_URL", "REDIS_URL"),
        description="Redis to use; unset means `pipeline up` starts an embedded one.",
    )
    log_format: str = Field(
        default="auto", description="auto (pretty on a tty, JSON otherwise), json, console"
    )
    log_level: str = "info"

    # Ingest
    default_tz: str | None = Field(
        default=None, description="Zone for naive timestamps when no --tz and no vendor rule applies."
    )
    ingest_memory_mb: int = Field(
        default=1024,
        ge=128,
        description="Peak memory one ingest may use: larger files are read, checked and sorted in chunks.",
    )
    source_tz: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Zone of naive timestamps per source, like --tz for every file of it:"
        " 'default=America/Chicago,vendor_x=Europe/London' (or JSON).",
    )
    session_short_run_min: float = Field(
        default=5.0,
        gt=0,
        description="Futures session checks: a run of missing bars up to this many minutes is a quiet "
        "market (no_trade), a longer one a suspected outage.",
    )
    # Limits: one hostile file must not exhaust a worker. A refusal names the setting to raise.
    max_decompressed_mb: int = Field(
        default=32768, ge=1, description="Largest content of one file once decompressed (plain files: size)."
    )
    max_rows: int = Field(default=1_000_000_000, ge=1, description="Most rows one file may hold.")
    max_columns: int = Field(default=1000, ge=1, description="Most columns one file may hold.")
    max_line_kb: int = Field(default=64, ge=1, description="Longest line of a text file, in KiB.")
    max_zip_members: int = Field(default=10_000, ge=1, description="Most members one zip archive may hold.")
    # Watcher
    quiet_period_s: float = Field(default=1.0, description="A file must keep size and mtime this long.")
    reconcile_interval_s: float = Field(default=30.0, description="Full rescan of the watched folders.")
    force_polling: bool = Field(default=False, description="Use PollingObserver even on local disks.")
    poll_interval_s: float = 1.0
    # Queue
    job_timeout_s: int = Field(default=3600, description="Longest a single ingest job may run.")
    result_ttl_s: int = Field(default=7 * 24 * 3600, description="How long RQ keeps finished jobs.")
    failure_ttl_s: int = Field(default=7 * 24 * 3600)
    ingest_retries: int = 3
    # Workers
    horse_max_jobs: int = Field(
        default=200, ge=1, description="Jobs a work horse serves before a fresh fork; 1 = RQ's fork per job."
    )
    horse_max_rss_mb: int = Field(
        default=1024, ge=64, description="A work horse larger than this after a job retires."
    )
    # Research runs
    run_threads: int = Field(
        default=0, ge=0, description="Symbols an --inline run works on at once; 0 = one per CPU core."
    )
    run_batch_rows: int = Field(
        default=1 << 20,
        ge=1,
        description="Rows `load` and `clean` hold at a time when a run resamples (--timeframe).",
    )
    # Each None: the run config's own default; a run's TOML file and flags override these.
    run_min_split_rows: int | None = Field(
        default=None,
        ge=1,
        description="Default min_split_rows of a run: rows each split should hold.",
    )
    run_min_class_rows: int | None = Field(
        default=None,
        ge=0,
        description="Default min_class_rows of a run: rows per label class and split.",
    )
    run_min_rows_severity: Literal["warn", "fail"] | None = Field(
        default=None, description="Default min_rows_severity of a research run: warn or fail."
    )
    # Upload sessions
    session_max_age_h: float = Field(default=24.0, description="Cleanup age for finished upload sessions.")
    temp_max_age_h: float = Field(
        default=6.0,
        gt=0,
        description="A temp file untouched this long is a killed writer's (on any host) and is removed.",
    )
    # UI
    ui_host: str = Field(default="127.0.0.1", description="Address the UI binds; loopback unless exposed.")
    ui_port: int = Field(default=8501, ge=1, le=65535, description="Port of the UI (`pipeline ui`, `up`).")
    ui_max_upload_mb: int = Field(
        default=1024, ge=1, description="Largest file the UI accepts, in MB (held in the UI's memory)."
    )

    @field_validator("default_tz")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"unknown time zone {value!r}: use an IANA name such as America/Chicago"
                ) from exc
        return value or None

    @field_validator("source_tz", mode="before")
    @classmethod
    def _zone_map(cls, value: object) -> object:
        """``default=America/Chicago,vendor_x=UTC`` as well as JSON; every zone must exist."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return json.loads(text)
            pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("use source=Zone pairs separated by commas, e.g. default=America/Chicago")
            value = {k.strip(): v.strip() for k, v in pairs}
        if isinstance(value, dict):
            for zone_name in value.values():
                cls._known_zone(str(zone_name))
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "use a postgresql://user:password@host:port/dbname URL (or leave it unset for SQLite)"
            )
        return value or None

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from a given environment (tests pass a dict instead of patching os.environ)."""
        if environ is None:
            return cls(**overrides)
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            keys = [f"PIPELINE_{name.upper()}"]
            if isinstance(field.validation_alias, AliasChoices):
                keys = [str(k) for k in field.validation_alias.choices]
            for key in keys:
                if key in environ:
                    values[name] = environ[key]
                    break
        values.update(overrides)
        return cls.model_validate(values)

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
