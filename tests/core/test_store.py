"""The store writes atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trading_pipeline.durable import atomic_write_bytes, atomic_writer
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
