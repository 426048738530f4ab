"""DataSourceRepository: persisted, validated, multi-process safe registration; the daemon's lookups."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from testkit import make_bars
from trading_pipeline.errors import SourceError, SourceExistsError, SourceNotFoundError, UsageError
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.sources import DataSourceRepository, FileDataSource, SessionManager


@pytest.fixture
def settings(db_settings: Settings) -> Settings:
    """Every test here runs on SQLite and on PostgreSQL."""
    return db_settings


@pytest.fixture
def repo(settings: Settings) -> DataSourceRepository:
    return DataSourceRepository(settings)


def folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir(parents=True, exist_ok=True)
    return path


class TestRegistration:
    def test_default_source_always_exists(self, repo: DataSourceRepository, settings: Settings) -> None:
        """A fresh data folder has the default source over data/raw, and it is active."""
        assert repo.source_ids() == ["default"]
        source = repo.get_active_source()
        assert isinstance(source, FileDataSource) and source.raw_data_dir == settings.raw_dir

    def test_registration_persists_across_instances(
        self, repo: DataSourceRepository, settings: Settings, tmp_path: Path
    ) -> None:
        """Another repository object (another process) sees a registered source with its options."""
        repo.register_source("vx", FileDataSource("vx", folder(tmp_path, "vx"), tz="America/Chicago"))
        again = DataSourceRepository(settings).get_source("vx")
        assert isinstance(again, FileDataSource)
        assert again.ingest_options().tz == "America/Chicago" and again.created_at is not None

    def test_duplicate_id_is_refused(self, repo: DataSourceRepository, tmp_path: Path) -> None:
        """Registering an id twice raises SourceExistsError."""
        repo.register_source("vx", FileDataSource("vx", folder(tmp_path, "a")))
        with pytest.raises(SourceExistsError):
            repo.register_source("vx", FileDataSource("vx", folder(tmp_path, "b")))

    def test_invalid_source_is_refused(self, repo: DataSourceRepository, tmp_path: Path) -> None:
        """Registration validates first: a missing folder is not registered."""
        with pytest.raises(SourceError, match="not found"):
            repo.register_source("vx", FileDataSource("vx", tmp_path / "missing"))
        assert not repo.has_source("vx")

    def test_bad_id_is_a_usage_error(self, repo: DataSourceRepository, tmp_path: Path) -> None:
        """Ids outside [A-Za-z0-9_-] are refused."""
        with pytest.raises(UsageError):
            repo.register_source("v.x", FileDataSource("v.x", folder(tmp_path, "a")))

    def test_mismatched_id_is_refused(self, repo: DataSourceRepository, tmp_path: Path) -> None:
        """The id given must be the source's own id."""
        with pytest.raises(UsageError):
            repo.register_source("a", FileDataSource("b", folder(tmp_path, "a")))

    @pytest.mark.parametrize("rel", ["vx", "vx/sub", "."])
    def test_overlapping_folders_are_refused(
        self, repo: DataSourceRepository, tmp_path: Path, rel: str
    ) -> None:
        """Two sources never watch the same folder or nested folders."""
        repo.register_source("vx", FileDataSource("vx", folder(tmp_path / "ext", "vx")))
        with pytest.raises(SourceError, match=r"overlaps|contains"):
            repo.register_source("vy", FileDataSource("vy", folder(tmp_path / "ext", rel)))

    def test_data_folder_internals_are_refused(self, repo: DataSourceRepository, settings: Settings) -> None:
        """The processed store cannot become a source (it would ingest its own output)."""
        with pytest.raises(SourceError, match="own storage"):
            repo.register_source("p", FileDataSource("p", folder(settings.processed_dir, "x")))

    def test_unknown_source_raises(self, repo: DataSourceRepository) -> None:
        """get_source of an unknown id raises SourceNotFoundError."""
        with pytest.raises(SourceNotFoundError):
            repo.get_source("nope")


class TestActiveSource:
    def test_active_source_is_persisted(
        self, repo: DataSourceRepository, settings: Settings, tmp_path: Path
    ) -> None:
        """set_active_source survives into a new repository object."""
        repo.register_source("vx", FileDataSource("vx", folder(tmp_path, "vx")))
        repo.set_active_source("vx")
        assert DataSourceRepository(settings).active_source_id() == "vx"

    def test_activating_unknown_source_fails(self, repo: DataSourceRepository) -> None:
        """Only registered sources can be active."""
        with pytest.raises(SourceNotFoundError):
            repo.set_active_source("nope")

    def test_removing_active_source_falls_back_to_default(
        self, repo: DataSourceRepository, tmp_path: Path
    ) -> None:
        """After removing the active source, default is active again."""
        repo.register_source("vx", FileDataSource("vx", folder(tmp_path, "vx")))
        repo.set_active_source("vx")
        repo.remove_source("vx")
        assert repo.active_source_id() == "default"


class TestRemoval:
    def test_default_cannot_be_removed(self, repo: DataSourceRepository) -> None:
        """The default source is permanent."""
        with pytest.raises(UsageError):
            repo.remove_source("default")

    def test_removal_deletes_outputs_and_ledger_rows_but_not_user_files(
        self, repo: DataSourceRepository, settings: Settings, stored: Any, tmp_path: Path
    ) -> None:
        """A folder source's stored bars and ledger rows go; the user's folder stays."""
        vx = folder(tmp_path, "vx")
        (vx / "MES.csv").write_text("data")
        repo.register_source("vx", FileDataSource("vx", vx))
        report = stored("vx", vx / "MES.csv", {"MES": make_bars(5)})
        removed = repo.remove_source("vx")
        assert (removed.outputs, removed.ledger_files) == (1, 1)
        assert not Path(report.symbols["MES"].output).exists()
        assert Ledger(settings).files("vx") == []
        assert (vx / "MES.csv").exists() and not repo.has_source("vx")

    def test_removing_upload_source_deletes_session_folder(
        self, repo: DataSourceRepository, settings: Settings
    ) -> None:
        """Removing an upload source deletes its session folder."""
        session_id = SessionManager(settings, repo).create_session()
        removed = repo.remove_source(session_id)
        assert str(settings.uploads_dir / session_id) in removed.folders
        assert not (settings.uploads_dir / session_id).exists()


class TestDaemonLookups:
    def test_watched_directories_cover_every_file_source(
        self, repo: DataSourceRepository, settings: Settings, tmp_path: Path
    ) -> None:
        """default, each session's files folder and each add-dir folder are watched with their options."""
        repo.register_source("vx", FileDataSource("vx", folder(tmp_path, "vx"), tz="Asia/Tokyo"))
        session_id = SessionManager(settings, repo).create_session(tz="America/Chicago")
        watched = {sid: (path, opts) for sid, path, opts in repo.watched_directories()}
        assert watched["default"][0] == settings.raw_dir
        assert watched["vx"] == (
            (tmp_path / "vx").resolve(),
            FileDataSource("vx", tmp_path / "vx", tz="Asia/Tokyo").ingest_options(),
        )
        assert watched[session_id][0] == settings.uploads_dir / session_id / "files"
        assert watched[session_id][1].tz == "America/Chicago"

    def test_source_for_path_maps_files_to_sources(
        self, repo: DataSourceRepository, settings: Settings, tmp_path: Path
    ) -> None:
        """A dropped file maps to the source whose folder holds it, with that source's options."""
        repo.register_source("vx", FileDataSource("vx", folder(tmp_path, "vx"), bar_label="close"))
        assert repo.source_for_path(settings.raw_dir / "MES.csv") == (
            "default",
            FileDataSource().ingest_options(),
        )
        found = repo.source_for_path(tmp_path / "vx" / "deep" / "MGC.csv")
        assert found is not None and found[0] == "vx" and found[1].bar_label == "close"
        assert repo.source_for_path(tmp_path / "elsewhere.csv") is None

    @pytest.mark.parametrize(
        "name", [".MES.csv.ab12.part", "MES.csv.tmp", ".hidden/MES.csv", "metadata.json"]
    )
    def test_source_for_path_ignores_temp_and_hidden_files(
        self, repo: DataSourceRepository, settings: Settings, name: str
    ) -> None:
        """Partial, hidden and metadata files belong to no source."""
        assert repo.source_for_path(settings.raw_dir / name) is None

    def test_session_file_gets_per_file_symbol(self, repo: DataSourceRepository, settings: Settings) -> None:
        """A symbol given at upload applies to that file only."""
        sessions = SessionManager(settings, repo)
        sid = sessions.create_session(tz="UTC")
        path = sessions.add_file(sid, "export.csv", b"x", symbol="MGC")
        other = sessions.add_file(sid, "other.csv", b"y")
        assert repo.source_for_path(path) == (sid, IngestOptions(source_id=sid, tz="UTC", symbol="MGC"))
        found = repo.source_for_path(other)
        assert found is not None and found[1].symbol is None

    def test_list_sources_survives_a_broken_source(self, repo: DataSourceRepository, tmp_path: Path) -> None:
        """A source whose folder vanished is listed as not validated, not a crash."""
        vx = folder(tmp_path, "vx")
        repo.register_source("vx", FileDataSource("vx", vx))
        vx.rmdir()
        listing = repo.list_sources()
        assert set(listing) == {"default", "vx"}
        assert not listing["vx"].validated and "not found" in listing["vx"].validation_errors[0]


REGISTER_MANY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from trading_pipeline.settings import Settings
    from trading_pipeline.sources import DataSourceRepository, FileDataSource

    data_dir, prefix, count, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    database_url = sys.argv[5] or None
    for i in range(count):
        repo = DataSourceRepository(Settings.from_env({}, data_dir=data_dir, database_url=database_url))
        source_id = f"{prefix}{i}"
        repo.register_source(source_id, FileDataSource(source_id, base / source_id))
    """
)


@pytest.mark.integration
def test_concurrent_registration_from_two_processes_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    """Two processes registering 40 sources each at the same time leave all 80 registered."""
    count = 40
    for prefix in ("a", "b"):
        for i in range(count):
            folder(tmp_path / "ext", f"{prefix}{i}")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                REGISTER_MANY,
                str(settings.data_dir),
                prefix,
                str(count),
                str(tmp_path / "ext"),
                settings.database_url or "",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    ids = set(DataSourceRepository(settings).source_ids())
    assert ids == {"default"} | {f"{p}{i}" for p in "ab" for i in range(count)}
