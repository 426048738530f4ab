"""The store writes atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trading_pipeline.durable import atomic_write_bytes, atomic_writer, sweep_temps, temp_path
from trading_pipeline.store import BarStore


def test_atomic_writer_leaves_only_the_target(tmp_path: Path) -> None:
    """After a successful write no temp file remains beside the target."""
    target = tmp_path / "a" / "out.bin"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert [p.name for p in target.parent.iterdir()] == ["out.bin"]


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    """An exception mid-write leaves the old content and no temp file."""
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk died")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_store_paths_are_deterministic_per_source_symbol_and_content(tmp_path: Path) -> None:
    """A retried job writes the same path again instead of a second copy."""
    store = BarStore(tmp_path)
    first = store.path_for("default", "MES", "f" * 64)
    assert first == store.path_for("default", "MES", "f" * 64)
    assert first.parent == tmp_path / "default" / "MES"
    table = pa.table({"x": [1, 2]})
    store.write(table, first)
    assert pq.read_table(first).equals(table)
    assert store.symbols("default") == ["MES"]
    store.remove(first)
    assert store.symbols("default") == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _writer_temp(target: Path, pid: int, host: str | None = None) -> Path:
    """A temp file as ``durable.temp_path`` names it, but for process ``pid`` (on ``host``)."""
    ours = temp_path(target).name  # .abc.parquet.<host>-<pid>-<random>.tmp
    here = ours.removeprefix(f".{target.name}.").rsplit("-", 2)[0]
    path = target.with_name(f".{target.name}.{host or here}-{pid}-0123abcd.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half")
    return path


def test_sweep_removes_only_temp_files_whose_writer_is_gone(tmp_path: Path) -> None:
    """A killed writer's temp file goes at once; a live writer's stays, and so does everything else."""
    target = tmp_path / "default" / "MES" / "abc.parquet"
    dead = _writer_temp(target, _dead_pid())
    live = _writer_temp(target, os.getpid())
    other_host = _writer_temp(target, _dead_pid(), host="elsewhere")
    target.write_bytes(b"stored")
    upload = target.with_name(".upload.csv.part")
    upload.write_bytes(b"x")
    assert sweep_temps(tmp_path, max_age_s=3600) == [dead]
    assert live.exists() and other_host.exists() and target.exists() and upload.exists()


def test_sweep_removes_any_temp_file_untouched_for_the_maximum_age(tmp_path: Path) -> None:
    """Another host's processes cannot be asked: its temp files go once they stop changing."""
    target = tmp_path / "MES" / "abc.parquet"
    other_host = _writer_temp(target, 1, host="elsewhere")
    unknown = target.with_name(".abc.parquet.0123abcd.tmp")  # written before temp names said who
    unknown.write_bytes(b"half")
    fresh = _writer_temp(target, 2, host="elsewhere")
    old = time.time() - 7200
    for path in (other_host, unknown):
        os.utime(path, (old, old))
    assert sorted(sweep_temps(tmp_path, max_age_s=3600)) == sorted([other_host, unknown])
    assert fresh.exists()


def test_sweep_never_follows_or_removes_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    root = tmp_path / "store"
    root.mkdir()
    link = root / f".x.parquet.host-{_dead_pid()}-0123abcd.tmp"
    link.symlink_to(outside)
    assert sweep_temps(root, max_age_s=0) == []
    assert link.is_symlink() and outside.read_text() == "keep"
    assert sweep_temps(tmp_path / "missing", max_age_s=0) == []
