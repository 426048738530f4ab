"""The ledger: every file's state on disk, safe for several processes at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport, Finding, SymbolResult


def _report(path: str, sha: str, status: str = "ingested", output: str = "/o.parquet") -> FileReport:
    start = datetime(2024, 1, 2, tzinfo=UTC)
    report = FileReport(path=path, status=status, sha256=sha, source_id="default")  # type: ignore[arg-type]
    if status == "ingested":
        report.symbols = {"MES": SymbolResult(10, start, start, output)}
    else:
        report.add(Finding.at_rows("ohlc", "high below low", [3]))
    return report


@pytest.fixture
def target(tmp_path: Path, database_url: str | None) -> Path | str:
    """Where the ledger under test lives: a SQLite file, or a fresh PostgreSQL database."""
    return database_url or tmp_path / "l.db"


def test_seen_files_start_pending_and_are_recorded_once(target: Path | str) -> None:
    """Seeing the same bytes at the same path twice keeps one row."""
    ledger = Ledger(target)
    first = ledger.record_seen("default", "/raw/a.csv", "s1", 10, 1.0)
    again = ledger.record_seen("default", "/raw/a.csv", "s1", 10, 1.0)
    assert first.status == "pending" and again.id == first.id
    assert len(ledger.files()) == 1


def test_an_ingested_report_stores_its_outputs(target: Path | str) -> None:
    """Outputs per symbol are queryable without reading any data file."""
    ledger = Ledger(target)
    record = ledger.record_report(_report("/raw/a.csv", "s1"))
    assert record.status == "ingested" and record.symbols == ["MES"] and record.rows == 10
    assert [o.output for o in ledger.outputs("default", "MES")] == ["/o.parquet"]
    assert ledger.find_ingested("default", "s1") is not None


def test_a_rejected_report_keeps_its_reason_and_no_outputs(target: Path | str) -> None:
    """A rejection is visible with its first error; nothing counts as stored."""
    ledger = Ledger(target)
    record = ledger.record_report(_report("/raw/bad.csv", "s2", status="rejected"))
    assert record.reason == "row 3: high below low"
    assert ledger.outputs("default") == []
    assert ledger.files(status="rejected")[0].report is not None


def test_a_new_version_of_a_path_supersedes_the_old_one(target: Path | str) -> None:
    """Same name, new content: the old version's outputs are handed back for deletion."""
    ledger = Ledger(target)
    ledger.record_report(_report("/raw/a.csv", "old", output="/old.parquet"))
    ledger.record_report(_report("/raw/a.csv", "new", output="/new.parquet"))
    gone = ledger.supersede("default", "/raw/a.csv", keep_sha256="new")
    assert [o.output for o in gone] == ["/old.parquet"]
    assert [o.output for o in ledger.outputs("default")] == ["/new.parquet"]
    statuses = {r.sha256: r.status for r in ledger.files()}
    assert statuses == {"old": "superseded", "new": "ingested"}


def _record_many(db: Path | str, worker: int) -> None:
    ledger = Ledger(db)
    for i in range(50):
        ledger.record_report(_report(f"/raw/{worker}-{i}.csv", f"{worker}-{i}"))


def test_concurrent_writers_in_separate_processes_lose_nothing(target: Path | str) -> None:
    """Four processes writing 50 reports each leave 200 rows."""
    db = target
    Ledger(db)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_record_many, args=(db, w)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert len(Ledger(db).files(status="ingested")) == 200


def _many(ledger: Ledger, n: int) -> None:
    for i in range(n):
        status = "rejected" if i % 3 == 0 else "ingested"
        ledger.record_report(_report(f"/raw/f{i:03d}.csv", f"s{i}", status, output=f"/o{i}.parquet"))


def test_a_page_is_the_newest_rows_with_their_symbols_and_the_total(target: Path | str) -> None:
    """`files` and the UI page through thousands of rows; each row still says its symbols."""
    ledger = Ledger(target)
    _many(ledger, 30)
    page = ledger.page(limit=10, offset=5)
    assert page.total == 30 and page.offset == 5
    assert [r.path for r in page.records] == [f"/raw/f{i:03d}.csv" for i in range(24, 14, -1)]
    assert all(r.symbols == (["MES"] if r.status == "ingested" else []) for r in page.records)
    rejected = ledger.page(status="rejected", limit=None)
    assert rejected.total == len(rejected.records) == 10


def test_listing_reads_symbols_in_the_same_query_as_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One statement per listing, whatever the number of rows (not one more per row)."""
    ledger = Ledger(tmp_path / "l.db")
    _many(ledger, 12)
    statements: list[str] = []
    real_connect = sqlite3.connect

    def tracing(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", tracing)
    records = ledger.files()
    assert len(records) == 12 and records[1].symbols == ["MES"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_counts_by_status_need_no_listing(target: Path | str) -> None:
    """The summary line under `files` and the UI's health page."""
    ledger = Ledger(target)
    _many(ledger, 9)
    ledger.record_seen("default", "/raw/new.csv", "new", 1, 1.0)
    assert ledger.count_by_status() == {"ingested": 6, "rejected": 3, "pending": 1}
    assert ledger.count_by_status("elsewhere") == {}
