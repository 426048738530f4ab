"""The daemon's housekeeping: finished upload sessions older than the age limit are removed, and so
are the temp files of writers that were killed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testkit import RunningDaemon, make_bars, wait_for
from trading_pipeline.durable import temp_path
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings
from trading_pipeline.sources import SessionManager


def _finished_session(settings: Settings, hours_old: float) -> Path:
    """An upload session whose one file is ingested, created ``hours_old`` hours ago."""
    sessions = SessionManager(settings)
    sid = sessions.create_session(tz="UTC")
    bars = make_bars(20).assign(datetime=lambda f: f["datetime"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    path = sessions.add_file(sid, "MES_1m.csv", bars.to_csv(index=False).encode())
    assert DataIngestor(settings).ingest(path, IngestOptions(source_id=sid, tz="UTC")).status == "ingested"
    folder = sessions.get_session_dir(sid)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["created_at"] = (datetime.now(UTC) - timedelta(hours=hours_old)).isoformat()
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def test_old_finished_sessions_are_removed_young_ones_kept(
    wsettings: Settings, start_daemon: Callable[[Settings], RunningDaemon]
) -> None:
    """After its first reconcile the daemon removes a 25-hour-old finished session, not a 1-hour-old one."""
    wsettings.ensure_dirs()
    old = _finished_session(wsettings, hours_old=25)
    young = _finished_session(wsettings, hours_old=1)
    start_daemon(wsettings)
    wait_for(lambda: not old.exists(), timeout_s=10)
    assert young.is_dir()


def test_cleanup_can_be_turned_off(
    wsettings: Settings, start_daemon: Callable[[Settings], RunningDaemon]
) -> None:
    """PIPELINE_SESSION_MAX_AGE_H=0 keeps every session."""
    settings = wsettings.replace(session_max_age_h=0.0)
    settings.ensure_dirs()
    old = _finished_session(settings, hours_old=1000)
    running = start_daemon(settings)
    assert running.daemon.reconciles >= 1
    assert old.is_dir()


def test_temp_files_of_killed_writers_are_removed_live_ones_kept(
    wsettings: Settings, start_daemon: Callable[[Settings], RunningDaemon]
) -> None:
    """A worker killed mid-write whose file is never retried (deleted meanwhile) leaves a temp file in
    the store; the daemon removes it at its first housekeeping, and one untouched for
    ``PIPELINE_TEMP_MAX_AGE_H`` (another host's), but not a temp file still being written."""
    wsettings.ensure_dirs()
    target = wsettings.processed_dir / "default" / "MES" / "abc.parquet"
    target.parent.mkdir(parents=True)
    live = temp_path(target)
    live.write_bytes(b"being written")
    dead = live.with_name(live.name.replace(f"-{os.getpid()}-", "-999999999-"))  # beyond pid_max
    dead.write_bytes(b"half")
    old_run = wsettings.runs_dir / "r1" / ".run.json.elsewhere-12-0123abcd.tmp"
    old_run.parent.mkdir(parents=True)
    old_run.write_bytes(b"{")
    os.utime(old_run, (0, 0))
    start_daemon(wsettings)
    wait_for(lambda: not dead.exists() and not old_run.exists(), timeout_s=10, what="the sweep")
    assert live.exists()
