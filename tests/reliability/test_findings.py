"""Issue 11's findings, each reproduced as found (a failing test first), then held by these tests.

In-process where the finding is about the ingest core, through the real `pipeline` command where it
is about what a person sees. The daemon-side findings (FIFO, links, unreadable and vanished files in a
watched folder) are covered here at the daemon's boundary and again end to end in test_faults.py.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fakeredis
import pytest
from rq import Queue, Retry

from daemon.hashing import HashCache
from daemon.sources import SourceMap
from daemon.submit import Submitter
from testkit import drop_csv
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

HEADER = "datetime,open,high,low,close,volume\n"
ROW = "2024-01-02 10:{m:02d}:00,1,2,0.5,1.5,{v}\n"


def rows(n: int, start: int = 0) -> str:
    return "".join(ROW.format(m=(start + i) % 60, v=i + 1) for i in range(n))


def pipeline(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pipeline", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --- 1. bars stored shifted with no visible sign ---------------------------------------------------


def test_firstrate_is_read_as_eastern_time_and_stated(real_data: Path, settings: Settings) -> None:
    """FirstRate's naive times are US Eastern by the vendor's convention: 18:00 EST is 23:00 UTC."""
    path = settings.raw_dir / "NQ_1min_sample.csv"
    path.write_bytes((real_data / "firstratedata" / "NQ_1min_sample.csv").read_bytes())
    report = DataIngestor(settings).ingest(path)
    assert report.status == "ingested"
    assert report.symbols["NQ"].start is not None
    assert report.symbols["NQ"].start.isoformat() == "2023-11-19T23:00:00+00:00"
    assert "America/New_York" in report.notes["tz"] and "--tz overrides" in report.notes["tz"]
    assert not [w for w in report.warnings if w.check == "timezone"]


def test_warnings_show_in_files_json_table_and_sources(settings: Settings, cli_env: dict[str, str]) -> None:
    """A naive generic file is read as UTC with a warning: every view says so, not only `validate`."""
    (settings.raw_dir / "MES_1m.csv").write_text(HEADER + rows(30))
    report = DataIngestor(settings).ingest(settings.raw_dir / "MES_1m.csv")
    assert report.status == "ingested" and report.warnings
    listed = json.loads(pipeline(cli_env, "files", "--json").stdout)["files"][0]
    assert listed["warning_count"] == len(report.warnings) >= 1
    assert "no time zone" in listed["first_warning"]
    table = pipeline(cli_env, "files").stdout
    assert "⚠" in table and "warning:" in table
    shown = pipeline(cli_env, "sources", "show", "default")
    assert shown.returncode == 0 and "warning:" in shown.stdout and "time zone" in shown.stdout
    as_json = json.loads(pipeline(cli_env, "sources", "show", "default", "--json").stdout)
    assert as_json["warnings"] and "MES_1m.csv" in as_json["warnings"][0]


def test_a_per_source_zone_setting_applies_to_dropped_files(settings: Settings) -> None:
    configured = settings.replace(source_tz={"default": "America/Chicago"})
    (settings.raw_dir / "MES_1m.csv").write_text(HEADER + rows(5))
    report = DataIngestor(configured).ingest(settings.raw_dir / "MES_1m.csv")
    assert report.status == "ingested" and not report.warnings
    assert report.symbols["MES"].start is not None
    assert report.symbols["MES"].start.isoformat() == "2024-01-02T16:00:00+00:00"


def test_ledger_without_warning_columns_is_migrated(settings: Settings) -> None:
    """A ledger written before the warning columns gets them, filled from the stored reports."""
    import sqlite3

    (settings.raw_dir / "MES_1m.csv").write_text(HEADER + rows(5))
    DataIngestor(settings).ingest(settings.raw_dir / "MES_1m.csv")
    conn = sqlite3.connect(settings.ledger_path)
    conn.execute("ALTER TABLE files DROP COLUMN warning_count")
    conn.execute("ALTER TABLE files DROP COLUMN first_warning")
    conn.execute("DROP TABLE schema_version")  # a ledger from before versioned migrations
    conn.commit()
    conn.close()
    record = Ledger(settings).files()[0]
    assert record.warning_count >= 1 and "time zone" in record.first_warning


# --- 2. mixed epoch units --------------------------------------------------------------------------


def test_mixed_epoch_units_are_refused_naming_the_rows(settings: Settings) -> None:
    lines = ["timestamp,open,high,low,close,volume"]
    for i in range(20):
        t = 1704205800 + 60 * i
        lines.append(f"{t if i % 2 == 0 else t * 1000},1,2,0.5,1.5,10")
    path = settings.raw_dir / "MIX_1m.csv"
    path.write_text("\n".join(lines) + "\n")
    report = DataIngestor(settings).validate(path)
    assert report.status == "rejected"
    error = report.errors[0]
    assert error.check == "timestamps" and "mixes epoch units" in error.message
    assert error.rows[:3] in ((2, 4, 6), (1, 3, 5))


# --- 3./4./7. FIFOs, links out of the folder, unreadable and vanished files --------------------------


def test_validate_a_folder_with_a_fifo_finishes_and_lists_it_ignored(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    folder = settings.data_dir / "drop"
    folder.mkdir()
    (folder / "MES_1m.csv").write_text(HEADER + rows(5))
    os.mkfifo(folder / "F_1m.csv")
    result = pipeline(cli_env, "validate", str(folder), "--tz", "UTC", "--json", timeout=60)
    by_name = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert by_name["F_1m.csv"]["status"] == "ignored"
    assert "FIFO" in by_name["F_1m.csv"]["errors"][0]["message"]
    assert by_name["MES_1m.csv"]["status"] == "validated"
    assert result.returncode == 0


def test_a_link_out_of_the_folder_is_refused_unopened(settings: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET-HASH:20228:0:99999:7:::\n")
    link = settings.raw_dir / "s.csv"
    link.symlink_to(secret)
    report = DataIngestor(settings).ingest(link, IngestOptions(root=str(settings.raw_dir)))
    assert report.status == "ignored"
    assert "SECRET" not in json.dumps(report.to_json())
    record = Ledger(settings).files()[0]
    assert record.status == "ignored" and "symbolic link" in record.reason and "SECRET" not in record.reason
    inside = settings.raw_dir / "MES_1m.csv"
    inside.write_text(HEADER + rows(5))
    (settings.raw_dir / "link_1m.csv").symlink_to(inside)
    linked = DataIngestor(settings).validate(
        settings.raw_dir / "link_1m.csv", IngestOptions(root=str(settings.raw_dir))
    )
    assert linked.status == "validated"  # a link inside the folder is followed


def _submitter(settings: Settings) -> Submitter:
    return Submitter(settings, fakeredis.FakeRedis(), SourceMap(settings), HashCache())


def test_the_daemon_records_fifo_link_unreadable_and_vanished_files(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file the daemon sees ends with a final status, and nothing blocks it."""
    raw = settings.raw_dir
    os.mkfifo(raw / "F_1m.csv")
    (raw / "out.csv").symlink_to(tmp_path / "nowhere.csv")
    (tmp_path / "elsewhere.csv").write_text(HEADER + rows(3))
    (raw / "away.csv").symlink_to(tmp_path / "elsewhere.csv")
    locked = raw / "LOCK_1m.csv"
    locked.write_text(HEADER + rows(3))
    real_open = os.open

    def deny(path: Any, flags: int, *args: Any) -> int:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr("trading_pipeline.safeio.os.open", deny)  # root reads anything: inject EACCES
    submitter = _submitter(settings)
    for name in ("F_1m.csv", "out.csv", "away.csv", "LOCK_1m.csv", "GONE_1m.csv"):
        assert submitter.prepare(raw / name, "test") is None
    by_name = {Path(r.path).name: r for r in Ledger(settings).files()}
    assert by_name["F_1m.csv"].status == "ignored" and "FIFO" in by_name["F_1m.csv"].reason
    assert by_name["out.csv"].status == "ignored" and "link" in by_name["out.csv"].reason
    assert by_name["away.csv"].status == "ignored" and "out of its folder" in by_name["away.csv"].reason
    assert by_name["LOCK_1m.csv"].status == "unreadable" and "read access" in by_name["LOCK_1m.csv"].reason
    assert by_name["GONE_1m.csv"].status == "vanished"
    # Seen again by the next reconcile: nothing is rewritten, and a readable file gets its own version.
    assert submitter.prepare(raw / "F_1m.csv", "reconcile") is None
    again = {Path(r.path).name: r for r in Ledger(settings).files()}
    assert again["F_1m.csv"].updated_at == by_name["F_1m.csv"].updated_at
    monkeypatch.setattr("trading_pipeline.safeio.os.open", real_open)
    assert submitter.prepare(locked, "test") is not None


def test_a_file_unreadable_or_deleted_at_ingest_gets_a_final_status(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, sha, _ = drop_csv(settings.raw_dir, "MES_1m.csv", rows=20)
    real_open = os.open

    def deny(target: Any, flags: int, *args: Any) -> int:
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied", str(target))
        return real_open(target, flags, *args)

    monkeypatch.setattr("trading_pipeline.safeio.os.open", deny)
    report = DataIngestor(settings).ingest(path, sha256=sha)
    assert report.status == "unreadable"
    assert Ledger(settings).get("default", str(path), sha).status == "unreadable"  # type: ignore[union-attr]
    monkeypatch.undo()
    path.unlink()
    gone = DataIngestor(settings).ingest(path)
    assert gone.status == "vanished" and gone.failed


# --- 5. markup from file contents ------------------------------------------------------------------


def test_markup_in_headers_and_values_never_breaks_a_screen(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    (settings.raw_dir / "MK_1m.csv").write_text("date[/],open,high,low,volume\n2024-01-02 10:00,1,2,0.5,1\n")
    (settings.raw_dir / "MK2_1m.csv").write_text(HEADER + "[bold]x[/],1,2,0.5,1.5,1\n" + rows(2))
    for name in ("MK_1m.csv", "MK2_1m.csv"):
        assert DataIngestor(settings).ingest(settings.raw_dir / name).status == "rejected"
    for args in (("files",), ("files", "--history"), ("sources", "show", "default"), ("sources", "list")):
        result = pipeline(cli_env, *args)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    shown = pipeline(cli_env, "sources", "show", "default").stdout
    assert "date[/]" in shown


# --- 6. decompression bombs and limits ---------------------------------------------------------------


def test_a_gzip_bomb_is_refused_at_the_limit_naming_the_setting(settings: Settings) -> None:
    limited = settings.replace(max_decompressed_mb=1)
    path = settings.raw_dir / "BOMB_1m.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(HEADER.encode())
        for _ in range(40):
            out.write(rows(60).encode() * 100)
    assert path.stat().st_size < 200_000
    report = DataIngestor(limited).ingest(path)
    assert report.status == "rejected"
    assert report.errors[0].check == "limits" and "PIPELINE_MAX_DECOMPRESSED_MB" in report.errors[0].message


@pytest.mark.parametrize(
    ("setting", "content", "name"),
    [
        (
            "PIPELINE_MAX_COLUMNS",
            ",".join(f"c{i}" for i in range(2000)) + "\n" + ",".join("1" * 2000) + "\n",
            "WIDE_1m.csv",
        ),
        ("PIPELINE_MAX_LINE_KB", "x" * 1_000_000, "LONG_1m.csv"),
        ("PIPELINE_MAX_ROWS", HEADER + rows(50), "ROWS_1m.csv"),
    ],
)
def test_limits_refuse_with_a_short_message(
    settings: Settings, setting: str, content: str, name: str
) -> None:
    limited = settings.replace(max_rows=10)
    path = settings.raw_dir / name
    path.write_text(content)
    report = DataIngestor(limited).validate(path)
    assert report.status == "rejected"
    message = report.errors[0].message
    assert setting in message and len(message) < 600


def test_a_zip_of_many_members_gives_one_warning_with_a_count(settings: Settings) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(300):
            archive.writestr(f"part{i:04d}.csv", HEADER + rows(2, start=2 * i))
    path = settings.raw_dir / "MES_parts.zip"
    path.write_bytes(buffer.getvalue())
    report = DataIngestor(settings).validate(path, IngestOptions(symbol="MES"))
    zone = [w for w in report.warnings if w.check == "timezone"]
    assert len(zone) == 1 and "300 members" in zone[0].message
    too_many = settings.replace(max_zip_members=100)
    refused = DataIngestor(too_many).validate(path, IngestOptions(symbol="MES"))
    assert refused.status == "rejected" and "PIPELINE_MAX_ZIP_MEMBERS" in refused.errors[0].message


def test_a_horse_killed_for_memory_is_not_retried(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL while larger than PIPELINE_HORSE_MAX_RSS_MB is the OOM killer: rejected, no retry."""
    from workers import jobs, worker

    monkeypatch.setenv("PIPELINE_DATA_DIR", str(settings.data_dir))
    jobs._settings.cache_clear()
    path, sha, _ = drop_csv(settings.raw_dir, "BIG_1m.csv", rows=10)
    Ledger(settings).record_seen("default", str(path), sha, 1, 1.0)
    queue = Queue("ingest", connection=fakeredis.FakeRedis())
    job = queue.enqueue(
        "workers.jobs.ingest_job",
        path=str(path),
        sha256=sha,
        options=IngestOptions().to_json(),
        retry=Retry(3),
    )
    status = signal.SIGKILL  # a wait status for "killed by SIGKILL"
    worker._horse_killed(job, 1234, status, SimpleNamespace(ru_maxrss=4 * 1024 * 1024))
    assert job.retries_left == 0
    record = Ledger(settings).get("default", str(path), sha)
    assert record is not None and record.status == "rejected" and "out of memory" in record.reason
    jobs._settings.cache_clear()


# --- 8. smaller, same class ----------------------------------------------------------------------------


def test_a_year_10000_value_is_quoted_not_a_valid_one(settings: Settings) -> None:
    path = settings.raw_dir / "Y_1m.csv"
    path.write_text(HEADER + rows(1) + "10000-01-02 10:01,1,2,0.5,1.5,1\n" * 3)
    report = DataIngestor(settings).validate(path, IngestOptions(tz="UTC"))
    assert report.status == "rejected" and "10000-01-02" in report.errors[0].message


def test_a_refused_upload_name_leaves_no_session(
    settings: Settings, cli_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / ".hidden.csv"
    bad.write_text(HEADER + rows(3))
    result = pipeline(cli_env, "sources", "upload", str(bad))
    assert result.returncode == 2 and "refused file name" in result.stderr
    assert not list(settings.uploads_dir.iterdir())
    assert (
        json.loads(pipeline(cli_env, "sources", "list", "--json").stdout)["sources"][0]["source_id"]
        == "default"
    )


def test_a_file_rewritten_ten_times_is_one_current_row(settings: Settings, cli_env: dict[str, str]) -> None:
    path = settings.raw_dir / "MES_1m.csv"
    for i in range(10):
        path.write_text(HEADER + f"2024-01-02 10:00:00,{i},1,2,3,4\n")  # high below open: rejected
        assert DataIngestor(settings).ingest(path).status == "rejected"
    current = json.loads(pipeline(cli_env, "files", "--json").stdout)["files"]
    assert len(current) == 1
    history = json.loads(pipeline(cli_env, "files", "--json", "--history").stdout)["files"]
    assert len(history) == 10
    assert "1 rejected" in pipeline(cli_env, "files").stdout
