"""Small pure pieces of the watcher: name filter, mount table, source fallback, hashing, sd_notify."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from watchdog.events import (
    DirCreatedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileMovedEvent,
)

from daemon.events import EventForwarder
from daemon.filters import is_candidate, is_candidate_name, iter_candidates
from daemon.hashing import FileChangedError, HashCache, file_sha256
from daemon.mounts import filesystem_type, is_network_fs, parse_mountinfo
from daemon.notify import notify, watchdog_interval_s
from daemon.sources import FallbackRepository, SourceMap
from daemon.tracker import Kind
from trading_pipeline.settings import Settings


class TestNames:
    @pytest.mark.parametrize(
        "name",
        [
            "MES.csv", "a.TXT", "b.tsv", "c.csv.gz", "d.csv.zst", "e.parquet", "f.pq", "g.zip", "h.dbn",
            "i.json", "j.ndjson", "k.jsonl", "l.xlsx", "m.xls", "n.ods", "o.json.gz",
        ],
    )  # fmt: skip
    def test_data_files_are_candidates(self, name):
        assert is_candidate_name(name)

    @pytest.mark.parametrize(
        "name",
        [
            "MES.csv.part",
            "x.tmp",
            "x.csv.tmp",
            "~MES.csv",
            ".MES.csv",
            "metadata.json",
            "layout.toml",
            "x.toml",
            "README",
            ".csv",
        ],
    )
    def test_temp_hidden_and_other_names_are_not(self, name):
        assert not is_candidate_name(name)

    def test_hidden_folders_below_the_root_hide_their_files(self, tmp_path):
        assert not is_candidate(tmp_path / ".staging" / "a.csv", tmp_path)
        assert is_candidate(tmp_path / "sub" / "a.csv", tmp_path)

    def test_scan_skips_hidden_folders_and_excluded_trees(self, tmp_path):
        for rel in ["a.csv", "sub/b.csv", ".hid/c.csv", "out/d.csv", "e.part", "sub/metadata.json"]:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text("x")
        found = sorted(
            p.relative_to(tmp_path).as_posix() for p in iter_candidates(tmp_path, [tmp_path / "out"])
        )
        assert found == ["a.csv", "sub/b.csv"]


MOUNTINFO = """\
22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
30 22 0:40 / /mnt/share rw - nfs4 server:/export rw,vers=4.2
31 22 0:41 / /mnt/smb\\040drive rw - cifs //srv/x rw
32 22 0:42 / /home/u/remote rw - fuse.sshfs u@h:/ rw
33 30 8:2 / /mnt/share/local rw - ext4 /dev/sdb1 rw
"""


class TestMounts:
    def test_longest_mount_point_wins(self):
        mounts = parse_mountinfo(MOUNTINFO)
        assert filesystem_type(Path("/mnt/share/x"), mounts) == "nfs4"
        assert filesystem_type(Path("/mnt/share/local/x"), mounts) == "ext4"
        assert filesystem_type(Path("/mnt/sharex"), mounts) == "ext4"
        assert filesystem_type(Path("/mnt/smb drive/in"), mounts) == "cifs"
        assert filesystem_type(Path("/home/u/remote/d"), mounts) == "fuse.sshfs"

    @pytest.mark.parametrize(("fstype", "network"), [
        ("nfs", True), ("nfs4", True), ("cifs", True), ("smb3", True), ("fuse.sshfs", True),
        ("fuse", True), ("9p", True), ("ext4", False), ("xfs", False), ("tmpfs", False),
        ("overlay", False), ("fuseblk", False),
    ])  # fmt: skip
    def test_network_types(self, fstype, network):
        assert is_network_fs(fstype) is network

    def test_this_machine_is_readable(self, tmp_path):
        assert filesystem_type(tmp_path) != "unknown"


class TestFallbackSources:
    def test_layout_rule(self, settings: Settings):
        repo = FallbackRepository(settings)
        assert repo.source_for_path(settings.raw_dir / "sub" / "a.csv") == ("default", repo.source_for_path(
            settings.raw_dir / "a.csv")[1])  # fmt: skip
        sid = "upload_20261128T101500_3f9a0b1c"
        found = repo.source_for_path(settings.uploads_dir / sid / "files" / "a.csv")
        assert found is not None and found[0] == sid and found[1].source_id == sid
        assert repo.source_for_path(settings.data_dir / "elsewhere" / "a.csv") is None

    def test_map_excludes_our_own_outputs_and_nests_roots(self, settings: Settings):
        class Repo(FallbackRepository):
            def watched_directories(self):
                return [
                    *super().watched_directories(),
                    ("everything", settings.data_dir, super().watched_directories()[0][2]),
                ]

        sources = SourceMap(settings, Repo(settings))
        assert sources.roots() == [settings.data_dir]
        assert sources.resolve(settings.processed_dir / "MES" / "x.parquet") is None
        assert sources.resolve(settings.raw_dir / "a.csv")[0] == "default"  # deepest folder wins
        assert sources.resolve(settings.data_dir / "loose.csv")[0] == "everything"


class TestHashing:
    def test_cache_hits_until_the_file_changes(self, tmp_path):
        path = tmp_path / "a.csv"
        path.write_bytes(b"one\n")
        cache = HashCache()
        version, sha = cache.sha256(path)
        assert sha == file_sha256(path) and cache.get(path, version) == sha
        path.write_bytes(b"two, longer\n")
        assert cache.sha256(path)[1] == file_sha256(path) != sha

    def test_change_during_hash_is_reported(self, tmp_path, monkeypatch):
        path = tmp_path / "a.csv"
        path.write_bytes(b"one\n")

        def grow(p: Path) -> str:
            with p.open("ab") as fh:
                fh.write(b"more\n")
            return "0" * 64

        monkeypatch.setattr("daemon.hashing.file_sha256", grow)
        with pytest.raises(FileChangedError):
            HashCache().sha256(path)


class TestNotify:
    def test_ready_reaches_the_socket(self, tmp_path):
        address = str(tmp_path / "notify.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
            server.bind(address)
            assert notify("READY=1", {"NOTIFY_SOCKET": address})
            assert server.recv(64) == b"READY=1"

    def test_without_systemd_it_is_a_no_op(self):
        assert notify("READY=1", {}) is False
        assert notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/sock"}) is False

    def test_watchdog_interval_is_half(self):
        assert watchdog_interval_s({"WATCHDOG_USEC": "4000000"}) == 2.0
        assert watchdog_interval_s({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
        assert watchdog_interval_s({}) is None


class FakeDebouncer:
    def __init__(self) -> None:
        self.events: list[tuple[str, Kind]] = []
        self.scans: list[str] = []

    def event(self, path: Path, kind: Kind, *, polling: bool = False) -> None:
        self.events.append((path.name, kind))

    def scan_folder(self, folder: Path, *, polling: bool = False) -> None:
        self.scans.append(folder.name)


class TestForwarder:
    def test_maps_events_and_drops_other_names(self):
        fake = FakeDebouncer()
        fwd = EventForwarder(fake, polling=False)  # type: ignore[arg-type]
        fwd.dispatch(FileCreatedEvent("/d/a.csv"))
        fwd.dispatch(FileClosedEvent("/d/a.csv"))
        fwd.dispatch(FileClosedNoWriteEvent("/d/a.csv"))
        fwd.dispatch(FileCreatedEvent("/d/a.csv.part"))
        fwd.dispatch(FileMovedEvent("/d/b.csv.part", "/d/b.csv"))
        fwd.dispatch(FileMovedEvent("/d/c.csv", "/d/.c.csv"))
        fwd.dispatch(DirCreatedEvent("/d/session"))
        assert fake.events == [
            ("a.csv", Kind.CREATED), ("a.csv", Kind.CLOSED), ("a.csv", Kind.CLOSED_NO_WRITE),
            ("b.csv", Kind.MOVED_IN), ("c.csv", Kind.DELETED),
        ]  # fmt: skip
        assert fake.scans == ["session"]
