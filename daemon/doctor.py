"""`pipeline doctor`: check this host's deployment and say, one line per finding, what to fix.

Every check runs even when an earlier one failed (a down Redis must not hide a full disk); a check
that cannot run says why. ``fail`` findings make the command exit 1; ``warn`` ones are worth a look
but do not stop the pipeline from working.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import redis

from daemon.leader import describe_holder
from daemon.mounts import filesystem_type, is_network_fs
from jobqueue.connect import connect, redacted, resolve_url
from jobqueue.names import DEFAULT_QUEUES
from trading_pipeline.db import db_errors
from trading_pipeline.settings import Settings

__all__ = ["Finding", "Level", "run_checks"]

MIN_FREE_GB = 2.0
MIN_FREE_FRACTION = 0.05
MAX_SKEW_S = 2.0
WATCH_HEADROOM = 0.8
"""Folders may use at most this share of the inotify watch limit (other programs use watches too)."""
INOTIFY_WATCHES = Path("/proc/sys/fs/inotify/max_user_watches")


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "level": self.level, "message": self.message, "fix": self.fix}


def run_checks(settings: Settings) -> list[Finding]:
    """Every check, in the order an operator would fix things."""
    client: redis.Redis | None = None
    findings: list[Finding] = []
    for check in (_redis, _data_folder, _database, _disk, _watched_folders, _workers, _daemon, _clock):
        try:
            found, client = check(settings, client)
        except Exception as exc:  # a check that breaks is itself a finding, never a traceback
            found = [
                Finding(
                    check.__name__.strip("_"), Level.FAIL, f"could not check: {type(exc).__name__}: {exc}"
                )
            ]
        findings.extend(found)
    return findings


def _redis(settings: Settings, _client: redis.Redis | None) -> tuple[list[Finding], redis.Redis | None]:
    url = resolve_url(settings)
    if url is None:
        fix = "set REDIS_URL (redis://:password@host:6379/0, rediss:// for TLS) or start `pipeline up`"
        return [Finding("redis", Level.FAIL, "no Redis configured", fix)], None
    try:
        client = connect(url, timeout_s=5)
    except Exception as exc:
        cause = exc.__cause__ or exc
        if (
            isinstance(cause, redis.AuthenticationError)
            or "NOAUTH" in str(cause)
            or "WRONGPASS" in str(cause)
        ):
            fix = "put the right password in REDIS_URL (redis://:PASSWORD@host:port/0)"
            return [Finding("redis", Level.FAIL, f"{redacted(url)} refused the password", fix)], None
        fix = "start Redis (systemctl start pipeline-redis) or correct REDIS_URL; check the firewall"
        return [Finding("redis", Level.FAIL, f"{redacted(url)} is unreachable: {cause}", fix)], None
    return [Finding("redis", Level.OK, f"{redacted(url)} answers (authenticated)")], client


def _database(settings: Settings, client: redis.Redis | None) -> tuple[list[Finding], redis.Redis | None]:
    from trading_pipeline.dbadmin import schema_state

    if not settings.database_url and not settings.ledger_path.is_file():
        fix = "mount the data folder, or create the schema with `pipeline db migrate`"
        return [Finding("database", Level.FAIL, f"no ledger at {settings.ledger_path}", fix)], client
    unreachable: tuple[type[Exception], ...] = (OSError, *db_errors())
    try:
        states = schema_state(settings)
    except unreachable as exc:
        where = redacted(settings.database_url) if settings.database_url else str(settings.state_dir)
        fix = "check PIPELINE_DATABASE_URL, that PostgreSQL runs and accepts this host (pg_hba.conf)"
        return [Finding("database", Level.FAIL, f"{where} is unreachable: {exc}".strip(), fix)], client
    stale = [s for s in states if not s.current]
    if stale:
        names = ", ".join(f"{s.component} at version {s.version} of {s.latest}" for s in stale)
        return [
            Finding("database", Level.FAIL, f"schema not migrated: {names}", "run `pipeline db migrate`")
        ], client
    engine = "PostgreSQL" if settings.database_url else "SQLite"
    where = states[0].where if settings.database_url else str(settings.state_dir)
    message = f"{engine} at {where}: reachable, schema current"
    if not settings.database_url:
        fix = "for workers on several hosts set PIPELINE_DATABASE_URL (SQLite locking fails over NFS/SMB)"
        if is_network_fs(filesystem_type(settings.state_dir)):
            return [Finding("database", Level.FAIL, f"{message}, but on a network file system", fix)], client
    return [Finding("database", Level.OK, message)], client


def _data_folder(settings: Settings, client: redis.Redis | None) -> tuple[list[Finding], redis.Redis | None]:
    folder = settings.data_dir
    if not (folder / "raw").is_dir():
        fix = (
            f"mount the shared data folder at {folder} (or set PIPELINE_DATA_DIR), then start the daemon once"
        )
        return [Finding("data folder", Level.FAIL, f"{folder} has no raw/ folder", fix)], client
    probe = settings.state_dir / f".doctor-{uuid.uuid4().hex}"
    try:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        with probe.open("wb") as out:
            out.write(b"ok")
            os.fsync(out.fileno())
        probe.unlink()
    except OSError as exc:
        fix = f"chown -R the pipeline user {folder} (or run doctor as the user the units run as)"
        return [Finding("data folder", Level.FAIL, f"{folder} is not writable: {exc.strerror}", fix)], client
    return [Finding("data folder", Level.OK, f"{folder} is writable by uid {os.getuid()}")], client


def _disk(settings: Settings, client: redis.Redis | None) -> tuple[list[Finding], redis.Redis | None]:
    usage = shutil.disk_usage(settings.data_dir)
    free_gb = usage.free / 1e9
    message = f"{free_gb:.1f} GB free of {usage.total / 1e9:.1f} GB on {settings.data_dir}"
    if free_gb < MIN_FREE_GB or usage.free < usage.total * MIN_FREE_FRACTION:
        fix = "free space or grow the volume: a full disk makes every ingest fail and retry"
        return [Finding("disk", Level.FAIL, message, fix)], client
    return [Finding("disk", Level.OK, message)], client


def _watched_folders(
    settings: Settings, client: redis.Redis | None
) -> tuple[list[Finding], redis.Redis | None]:
    from daemon.sources import SourceMap

    if not settings.raw_dir.is_dir():
        return [Finding("inotify", Level.FAIL, "not checked: the data folder has no raw/ folder")], client
    findings = []
    local_folders = 0
    for root in SourceMap(settings).roots():
        if not root.is_dir():
            continue
        fstype = filesystem_type(root)
        if settings.force_polling or is_network_fs(fstype):
            how = "PIPELINE_FORCE_POLLING" if settings.force_polling else f"a {fstype} mount"
            message = (
                f"{root}: {how}, polled every {settings.poll_interval_s:g} s (inotify sees no remote writes)"
            )
            findings.append(Finding("mounts", Level.OK, message))
        else:
            local_folders += sum(1 for _ in _folders(root))
    try:
        limit = int(INOTIFY_WATCHES.read_text())
    except (OSError, ValueError):
        return [*findings, Finding("inotify", Level.WARN, "cannot read the inotify watch limit")], client
    message = f"{local_folders} watched folder(s) need inotify watches; the limit is {limit}"
    if local_folders > limit * WATCH_HEADROOM:
        fix = (
            f"sysctl fs.inotify.max_user_watches={max(limit * 2, local_folders * 2)} (and in /etc/sysctl.d/)"
        )
        return [*findings, Finding("inotify", Level.FAIL, message, fix)], client
    return [*findings, Finding("inotify", Level.OK, message)], client


def _folders(root: Path) -> Iterator[str]:
    for dirpath, _dirs, _files in os.walk(root):
        yield dirpath


def _workers(settings: Settings, client: redis.Redis | None) -> tuple[list[Finding], redis.Redis | None]:
    if client is None:
        return [Finding("workers", Level.FAIL, "not checked: Redis is unreachable")], client
    from rq import Worker

    workers = Worker.all(connection=client)
    findings = []
    for queue in DEFAULT_QUEUES:
        serving = [w for w in workers if queue in w.queue_names()]
        hosts = sorted({w.hostname or "?" for w in serving})
        if serving:
            findings.append(
                Finding("workers", Level.OK, f"queue {queue}: {len(serving)} worker(s) on {', '.join(hosts)}")
            )
        else:
            fix = "start workers: systemctl enable --now pipeline-worker@1 pipeline-worker@2"
            findings.append(Finding("workers", Level.FAIL, f"queue {queue}: no worker alive", fix))
    return findings, client


def _daemon(settings: Settings, client: redis.Redis | None) -> tuple[list[Finding], redis.Redis | None]:
    if client is None and not settings.database_url:
        return [Finding("daemon", Level.FAIL, "not checked: Redis is unreachable")], client
    holder = describe_holder(settings, client)
    if holder is None:
        fix = "start the daemon on one host: systemctl enable --now pipeline-daemon"
        return [Finding("daemon", Level.FAIL, "no daemon holds this data folder's lock", fix)], client
    return [Finding("daemon", Level.OK, f"the daemon lock is held by {holder}")], client


def _clock(settings: Settings, client: redis.Redis | None) -> tuple[list[Finding], redis.Redis | None]:
    if client is None:
        return [Finding("clock", Level.FAIL, "not checked: Redis is unreachable")], client
    before = time.time()
    seconds, micros = client.time()
    after = time.time()
    skew = (seconds + micros / 1e6) - (before + after) / 2
    message = f"this host's clock is {skew:+.2f} s from Redis's"
    if abs(skew) > MAX_SKEW_S:
        fix = (
            "enable time sync on every host (timedatectl set-ntp true): RQ heartbeats and retries use clocks"
        )
        return [Finding("clock", Level.FAIL, message, fix)], client
    return [Finding("clock", Level.OK, message)], client
