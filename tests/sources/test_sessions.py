"""SessionManager: unique ids, safe file writes, metadata, and cleanup that never loses live data."""

from __future__ import annotations

import io
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from testkit import make_bars
from trading_pipeline.errors import SourceNotFoundError, UnsafeNameError, UsageError
from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport
from trading_pipeline.settings import Settings
from trading_pipeline.sources import DataSourceRepository, SessionManager, UploadDataSource
from trading_pipeline.sources.sessions import new_session_id


@pytest.fixture
def sessions(settings: Settings) -> SessionManager:
    return SessionManager(settings)


def age(sessions: SessionManager, session_id: str, hours: float) -> None:
    """Pretend the session was created ``hours`` ago."""
    path = sessions.get_session_dir(session_id) / "metadata.json"
    meta = json.loads(path.read_text())
    meta["created_at"] = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    path.write_text(json.dumps(meta))


class TestSessionIds:
    def test_id_shape(self) -> None:
        """Ids read upload_YYYYMMDDTHHMMSS_<hex>."""
        assert re.fullmatch(r"upload_\d{8}T\d{6}_[0-9a-f]{8}", new_session_id())

    def test_same_second_ids_do_not_collide(self) -> None:
        """10,000 ids generated for one and the same second are all distinct."""
        now = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
        assert len({new_session_id(now) for _ in range(10_000)}) == 10_000

    def test_many_sessions_in_one_second_get_distinct_folders(
        self, sessions: SessionManager, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Sessions created within the same second each get their own folder and source."""
        instant = datetime(2026, 12, 1, 14, 36, 26, tzinfo=UTC)
        monkeypatch.setattr("trading_pipeline.sources.sessions.utc_now", lambda: instant)
        ids = [sessions.create_session() for _ in range(30)]
        assert len(set(ids)) == 30
        assert {i.split("_")[1] for i in ids} == {"20261201T143626"}
        assert set(ids) <= set(sessions.repository.source_ids())


class TestCreate:
    def test_session_has_metadata_and_files_folder(self, sessions: SessionManager) -> None:
        """A new session has metadata.json with its options and an empty files folder."""
        sid = sessions.create_session(tz="America/Chicago", bar_label="close", symbol="MES")
        meta = sessions.get_metadata(sid)
        assert meta["session_id"] == sid
        assert meta["options"] == {
            "tz": "America/Chicago",
            "bar_label": "close",
            "symbol": "MES",
            "symbol_pattern": None,
        }
        assert meta["files"] == {} and sessions.files_dir(sid).is_dir()

    def test_session_is_registered_with_its_options(
        self, sessions: SessionManager, settings: Settings
    ) -> None:
        """Creating a session registers an UploadDataSource visible to other processes."""
        sid = sessions.create_session(tz="Europe/London")
        source = DataSourceRepository(settings).get_source(sid)
        assert isinstance(source, UploadDataSource) and source.ingest_options().tz == "Europe/London"

    def test_bad_options_leave_nothing_behind(self, sessions: SessionManager) -> None:
        """A bad zone fails before any folder or source exists."""
        with pytest.raises(UsageError):
            sessions.create_session(tz="Nowhere/City")
        assert sessions.list_sessions() == []
        assert sessions.repository.source_ids() == ["default"]


class TestAddFile:
    def test_file_lands_in_files_folder_with_metadata(self, sessions: SessionManager) -> None:
        """add_file writes the bytes under files/ and records size, hash and symbol."""
        sid = sessions.create_session()
        path = sessions.add_file(sid, "MES_1m.csv", b"datetime,open\n", symbol="MES")
        assert path == sessions.files_dir(sid) / "MES_1m.csv" and path.read_bytes() == b"datetime,open\n"
        entry = sessions.get_metadata(sid)["files"]["MES_1m.csv"]
        assert entry["size"] == 14 and entry["symbol"] == "MES" and len(entry["sha256"]) == 64

    def test_streams_are_copied(self, sessions: SessionManager) -> None:
        """A file-like upload (Streamlit's UploadedFile) is streamed to disk."""
        sid = sessions.create_session()
        data = os.urandom(3 << 20)
        assert sessions.add_file(sid, "big.parquet", io.BytesIO(data)).read_bytes() == data

    @pytest.mark.parametrize("name", ["../../x.csv", "/tmp/x.csv", "a\x00.csv", ".hidden.csv", "", "x.part"])
    def test_unsafe_names_never_write(self, sessions: SessionManager, name: str, tmp_path: Path) -> None:
        """Unsafe names raise and write nothing anywhere."""
        sid = sessions.create_session()
        with pytest.raises(UnsafeNameError):
            sessions.add_file(sid, name, b"x")
        assert list(sessions.files_dir(sid).iterdir()) == []
        assert not (sessions.sessions_dir.parent / "x.csv").exists()

    def test_no_temp_file_remains(self, sessions: SessionManager) -> None:
        """The .part temp file is renamed away; only the final name is left."""
        sid = sessions.create_session()
        sessions.add_file(sid, "MES.csv", b"abc")
        assert [p.name for p in sessions.files_dir(sid).iterdir()] == ["MES.csv"]

    def test_unknown_session_is_refused(self, sessions: SessionManager) -> None:
        """Writing into a session that does not exist fails cleanly."""
        with pytest.raises(SourceNotFoundError):
            sessions.add_file("upload_20260101T000000_deadbeef", "MES.csv", b"x")

    def test_bad_symbol_is_refused(self, sessions: SessionManager) -> None:
        """The per-file symbol is checked like any other symbol."""
        sid = sessions.create_session()
        with pytest.raises(UnsafeNameError):
            sessions.add_file(sid, "MES.csv", b"x", symbol="../MES")


class TestCleanup:
    def finish(self, settings: Settings, sid: str, path: Path, status: str = "ingested") -> None:
        import hashlib

        report = FileReport(
            path=str(path),
            status=status,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            source_id=sid,  # type: ignore[arg-type]
        )
        Ledger(settings).record_report(report)

    def test_old_finished_session_is_removed(
        self, sessions: SessionManager, settings: Settings, stored: Any
    ) -> None:
        """A 25 h old session whose files are all ingested is removed with its source and bars."""
        sid = sessions.create_session()
        path = sessions.add_file(sid, "MES.csv", b"abc")
        report = stored(sid, path, {"MES": make_bars(5)})
        age(sessions, sid, 25)
        assert sessions.cleanup_old_sessions() == [sid]
        assert not sessions.get_session_dir(sid).exists()
        assert not sessions.repository.has_source(sid)
        assert not Path(report.symbols["MES"].output).exists()

    @pytest.mark.parametrize("status", ["rejected", "duplicate"])
    def test_rejected_and_duplicate_count_as_finished(
        self, sessions: SessionManager, settings: Settings, status: str
    ) -> None:
        """Rejected or duplicate files do not keep a session alive."""
        sid = sessions.create_session()
        self.finish(settings, sid, sessions.add_file(sid, "MES.csv", b"abc"), status)
        age(sessions, sid, 25)
        assert sessions.cleanup_old_sessions() == [sid]

    def test_young_session_is_kept(self, sessions: SessionManager, settings: Settings) -> None:
        """A finished session younger than the age limit stays."""
        sid = sessions.create_session()
        self.finish(settings, sid, sessions.add_file(sid, "MES.csv", b"abc"))
        age(sessions, sid, 23)
        assert sessions.cleanup_old_sessions() == []

    def test_unfinished_file_keeps_session(self, sessions: SessionManager) -> None:
        """A file the ledger has not finished (not even seen) keeps its session."""
        sid = sessions.create_session()
        sessions.add_file(sid, "MES.csv", b"abc")
        age(sessions, sid, 48)
        assert sessions.cleanup_old_sessions() == []

    def test_pending_file_keeps_session(self, sessions: SessionManager, settings: Settings) -> None:
        """A file still pending in the ledger keeps its session."""
        sid = sessions.create_session()
        path = sessions.add_file(sid, "MES.csv", b"abc")
        self.finish(settings, sid, path, "ingested")
        sessions.add_file(sid, "MGC.csv", b"def")
        Ledger(settings).record_seen(sid, str(sessions.files_dir(sid) / "MGC.csv"), "0" * 64, 3, 0.0)
        age(sessions, sid, 48)
        assert sessions.cleanup_old_sessions() == []

    def test_upload_in_progress_keeps_session(self, sessions: SessionManager) -> None:
        """A .part file means an upload is still being written."""
        sid = sessions.create_session()
        (sessions.files_dir(sid) / ".MES.csv.1234.part").write_bytes(b"half")
        age(sessions, sid, 48)
        assert sessions.cleanup_old_sessions() == []

    def test_active_source_is_never_removed(self, sessions: SessionManager, settings: Settings) -> None:
        """The active source's session stays, however old."""
        sid = sessions.create_session()
        self.finish(settings, sid, sessions.add_file(sid, "MES.csv", b"abc"))
        sessions.repository.set_active_source(sid)
        age(sessions, sid, 1000)
        assert sessions.cleanup_old_sessions() == []

    def test_age_limit_comes_from_settings(self, data_dir: Path) -> None:
        """session_max_age_h sets the default age limit."""
        settings = Settings.from_env({}, data_dir=data_dir, session_max_age_h=1.0)
        sessions = SessionManager(settings)
        sid = sessions.create_session()
        age(sessions, sid, 2)
        assert sessions.cleanup_old_sessions() == [sid]

    def test_unrelated_folders_are_left_alone(self, sessions: SessionManager) -> None:
        """Folders that are not sessions are never deleted by cleanup."""
        other = sessions.sessions_dir / "notes"
        other.mkdir()
        os.utime(other, (time.time() - 10**6, time.time() - 10**6))
        sessions.cleanup_old_sessions(0)
        assert other.exists()


ADD_MANY = """
import sys
from trading_pipeline.settings import Settings
from trading_pipeline.sources import SessionManager

data_dir, session_id, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
sessions = SessionManager(Settings.from_env({}, data_dir=data_dir))
for i in range(20):
    sessions.add_file(session_id, f"{prefix}{i}.csv", f"{prefix}{i}".encode())
"""


@pytest.mark.integration
def test_concurrent_uploads_into_one_session_keep_every_entry(
    sessions: SessionManager, settings: Settings
) -> None:
    """Two processes adding 20 files each to one session leave 40 metadata entries and 40 files."""
    import subprocess
    import sys

    sid = sessions.create_session()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_MANY, str(settings.data_dir), sid, p], stderr=subprocess.PIPE
        )
        for p in ("a", "b")
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    assert len(sessions.get_metadata(sid)["files"]) == 40
    assert len(list(sessions.files_dir(sid).iterdir())) == 40


def test_symlink_planted_in_files_folder_is_not_followed(sessions: SessionManager, tmp_path: Path) -> None:
    """A symlink named like the upload never redirects the write outside the session."""
    sid = sessions.create_session()
    outside = tmp_path / "outside.csv"
    outside.write_text("keep")
    (sessions.files_dir(sid) / "MES.csv").symlink_to(outside)
    with pytest.raises(UnsafeNameError):
        sessions.add_file(sid, "MES.csv", b"new")
    assert outside.read_text() == "keep"
