"""StabilityTracker: when a file counts as finished. Real temp files, an injected clock, no threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.tracker import Kind, StabilityTracker

QUIET = 1.0
EPOCH = 1_700_000_000.0


class Clock:
    """Monotonic and wall time that only move when a test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return EPOCH + self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(clock: Clock) -> StabilityTracker:
    return StabilityTracker(QUIET, clock=clock, wall_clock=clock.wall, probe_s=0.1, open_hold_s=5.0)


def write(path: Path, data: bytes, clock: Clock, *, append: bool = False) -> Path:
    """Write and stamp the file with the fake wall time, as the kernel would stamp real time."""
    with path.open("ab" if append else "wb") as fh:
        fh.write(data)
    os.utime(path, (clock.wall(), clock.wall()))
    return path


def names(ready: list) -> list[str]:
    return [r.path.name for r in ready]


class TestFastSignals:
    def test_close_write_is_ready_at_once(self, tmp_path, clock, tracker):
        """A closed file needs no quiet period: latency is the product."""
        path = write(tmp_path / "a.csv", b"x,y\n", clock)
        tracker.event(path, Kind.CREATED)
        tracker.event(path, Kind.OPENED)
        tracker.event(path, Kind.MODIFIED)
        tracker.event(path, Kind.CLOSED)
        ready = tracker.take_due()
        assert names(ready) == ["a.csv"] and ready[0].reason == "closed"
        assert len(tracker) == 0

    def test_moved_in_is_ready_at_once(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.MOVED_IN)
        assert names(tracker.take_due()) == ["a.csv"]

    def test_lone_created_is_a_move_in_after_the_probe(self, tmp_path, clock, tracker):
        """mv on one file system gives only 'created'; silent and unchanged for the probe = whole."""
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.CREATED)
        assert tracker.take_due() == []
        clock.advance(0.1)
        assert names(tracker.take_due()) == ["a.csv"]

    def test_created_with_an_old_mtime_was_moved_in_and_is_ready_at_once(self, tmp_path, clock, tracker):
        """open(O_CREAT) stamps the current time; a file that arrives already old was moved in."""
        path = write(tmp_path / "a.csv", b"x\n", clock)
        os.utime(path, (EPOCH - 60, EPOCH - 60))
        tracker.event(path, Kind.CREATED)
        ready = tracker.take_due()
        assert names(ready) == ["a.csv"] and ready[0].reason == "moved"

    def test_created_then_opened_is_a_writer_not_a_move(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"", clock)
        tracker.event(path, Kind.CREATED)
        tracker.event(path, Kind.OPENED)
        clock.advance(0.2)
        assert tracker.take_due() == []
        tracker.event(path, Kind.CLOSED)
        write(path, b"x\n", clock)
        assert names(tracker.take_due()) == ["a.csv"]

    def test_empty_closed_file_waits_for_quiet(self, tmp_path, clock, tracker):
        """`touch x.csv` closes an empty file; a writer may fill it next, so it is not ready yet."""
        path = write(tmp_path / "a.csv", b"", clock)
        tracker.event(path, Kind.CLOSED)
        assert tracker.take_due() == []
        clock.advance(QUIET)
        assert names(tracker.take_due()) == ["a.csv"]


class TestQuietPeriod:
    def test_modified_only_needs_a_quiet_period(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.MODIFIED)
        clock.advance(QUIET / 2)
        assert tracker.take_due() == []
        clock.advance(QUIET / 2)
        assert names(tracker.take_due()) == ["a.csv"]

    def test_growing_file_is_never_ready(self, tmp_path, clock, tracker):
        """A file whose size keeps changing stays pending however long it takes."""
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.MODIFIED)
        for _ in range(20):
            clock.advance(QUIET * 0.9)
            write(path, b"more\n", clock, append=True)
            assert tracker.take_due() == []
        clock.advance(QUIET)
        assert names(tracker.take_due()) == ["a.csv"]

    def test_open_writer_is_held_past_the_quiet_period(self, tmp_path, clock, tracker):
        """inotify saw an open with no close: a pause longer than the quiet period is not the end."""
        path = write(tmp_path / "a.csv", b"", clock)
        tracker.event(path, Kind.CREATED)
        tracker.event(path, Kind.OPENED)
        write(path, b"half\n", clock)
        tracker.event(path, Kind.MODIFIED)
        clock.advance(QUIET * 3)
        assert tracker.take_due() == []
        clock.advance(5.0)  # the open-file hold (a writer that died without closing)
        assert names(tracker.take_due()) == ["a.csv"]

    def test_a_reader_closing_does_not_hold_the_file(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.MODIFIED)
        tracker.event(path, Kind.OPENED)
        tracker.event(path, Kind.CLOSED_NO_WRITE)
        clock.advance(QUIET)
        assert names(tracker.take_due()) == ["a.csv"]

    def test_polling_needs_two_equal_stats_not_an_old_mtime(self, tmp_path, clock, tracker):
        """On a share the mtime comes from another clock, so only our own two stats count."""
        path = write(tmp_path / "a.csv", b"x\n", clock)
        os.utime(path, (EPOCH - 3600, EPOCH - 3600))  # looks an hour old
        tracker.event(path, Kind.CREATED, polling=True)
        clock.advance(QUIET)
        assert tracker.take_due() == []
        clock.advance(QUIET)
        assert names(tracker.take_due()) == ["a.csv"]


class TestBookkeeping:
    def test_deleted_file_is_forgotten(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.MODIFIED)
        tracker.event(path, Kind.DELETED)
        assert len(tracker) == 0 and tracker.next_due() is None

    def test_vanished_file_is_dropped_when_due(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.CLOSED)
        path.unlink()
        assert tracker.take_due() == [] and len(tracker) == 0

    def test_reads_of_untracked_files_are_ignored(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.OPENED)
        tracker.event(path, Kind.CLOSED_NO_WRITE)
        assert len(tracker) == 0

    def test_next_due_is_the_earliest(self, tmp_path, clock, tracker):
        a = write(tmp_path / "a.csv", b"x\n", clock)
        b = write(tmp_path / "b.csv", b"x\n", clock)
        tracker.event(a, Kind.MODIFIED)
        tracker.event(b, Kind.CREATED)
        assert tracker.next_due() == pytest.approx(0.1)

    def test_watch_does_not_reset_a_tracked_file(self, tmp_path, clock, tracker):
        path = write(tmp_path / "a.csv", b"x\n", clock)
        tracker.event(path, Kind.CLOSED)
        tracker.watch(path)
        assert names(tracker.take_due()) == ["a.csv"]
