"""`pipeline sources ...` run as a user runs it: a real subprocess against a temp data folder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testkit import make_bars, write_bars_csv

pytestmark = pytest.mark.integration


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pipeline", "sources", *args], env=env, capture_output=True, text=True, timeout=120
    )


def ok_json(env: dict[str, str], *args: str) -> Any:
    result = run(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def vendor(tmp_path: Path) -> Path:
    """A folder with two good files in naive Chicago time."""
    folder = tmp_path / "vendor_x"
    write_bars_csv(folder / "MES_1m.csv", make_bars(120, tz=None))
    write_bars_csv(folder / "sub" / "MGC_1m.csv", make_bars(60, tz=None, seed=3, price=2000))
    return folder


def test_list_shows_default_active(cli_env: dict[str, str]) -> None:
    """A fresh data folder lists the default source as active."""
    data = ok_json(cli_env, "list")
    assert data["active"] == "default"
    assert [s["source_id"] for s in data["sources"]] == ["default"]


def test_add_dir_ingests_and_lists(cli_env: dict[str, str], vendor: Path) -> None:
    """add-dir registers the folder, ingests its files in-process, and list shows the symbols."""
    result = run(cli_env, "add-dir", str(vendor), "--id", "vendor_x", "--tz", "America/Chicago")
    assert result.returncode == 0, result.stderr
    assert "ingested" in result.stdout
    source = next(s for s in ok_json(cli_env, "list")["sources"] if s["source_id"] == "vendor_x")
    assert source["symbols"] == ["MES", "MGC"] and source["row_count"] == 180
    assert source["symbol_info"]["MES"]["start"] == "2024-01-02T06:00:00+00:00"


def test_add_dir_no_ingest_leaves_files_to_the_daemon(cli_env: dict[str, str], vendor: Path) -> None:
    """--no-ingest registers only; nothing is stored yet."""
    result = run(cli_env, "add-dir", str(vendor), "--id", "vx", "--no-ingest")
    assert result.returncode == 0, result.stderr
    assert "2 file(s) left for the daemon" in result.stdout
    assert ok_json(cli_env, "show", "vx")["symbols"] == []


def test_add_dir_with_a_bad_file_exits_1(cli_env: dict[str, str], vendor: Path) -> None:
    """A rejected file is reported and makes the exit code 1; the good files are stored."""
    (vendor / "bad.csv").write_text("datetime,open,high,low,close\n2024-01-01 00:00:00,1,0.5,2,1\n")
    result = run(cli_env, "add-dir", str(vendor), "--id", "vx")
    assert result.returncode == 1
    assert "rejected" in result.stdout
    shown = ok_json(cli_env, "show", "vx")
    assert shown["symbols"] == ["MES", "MGC"] and not shown["validated"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "bad id"], "invalid source id"),
        (["--id", "vx", "--tz", "Mars/Base"], "unknown time zone"),
        (["--id", "vx", "--bar-label", "middle"], "bar label"),
        (["--id", "vx", "--symbol-pattern", "[A-Z]+"], "named group"),
    ],
)
def test_add_dir_usage_errors_exit_2(
    cli_env: dict[str, str], vendor: Path, args: list[str], message: str
) -> None:
    """Bad ids and options exit 2 with one line and no traceback."""
    result = run(cli_env, "add-dir", str(vendor), *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_add_dir_missing_folder_exits_2(cli_env: dict[str, str], tmp_path: Path) -> None:
    """A folder that does not exist is a usage error."""
    result = run(cli_env, "add-dir", str(tmp_path / "nope"), "--id", "vx")
    assert result.returncode == 2 and "not a directory" in result.stderr


def test_show_unknown_source_exits_1(cli_env: dict[str, str]) -> None:
    """An unknown id says how to list sources."""
    result = run(cli_env, "show", "nope")
    assert result.returncode == 1
    assert "pipeline sources list" in result.stderr and "Traceback" not in result.stderr


def test_preview_prints_rows(cli_env: dict[str, str], vendor: Path) -> None:
    """preview --rows N gives the first N canonical bars."""
    assert run(cli_env, "add-dir", str(vendor), "--id", "vx", "--tz", "UTC").returncode == 0
    rows = ok_json(cli_env, "preview", "vx", "MES", "--rows", "3")["rows"]
    assert [r["datetime"] for r in rows] == [f"2024-01-02T00:0{i}:00+00:00" for i in range(3)]
    table = run(cli_env, "preview", "vx", "MES", "--rows", "2")
    assert table.returncode == 0 and "5000.0" in table.stdout


def test_activate_then_list(cli_env: dict[str, str], vendor: Path) -> None:
    """activate makes a source the active one for every later process."""
    run(cli_env, "add-dir", str(vendor), "--id", "vx", "--no-ingest")
    assert run(cli_env, "activate", "vx").returncode == 0
    assert ok_json(cli_env, "list")["active"] == "vx"


def test_remove_default_is_refused(cli_env: dict[str, str]) -> None:
    """The default source cannot be removed (exit 2)."""
    result = run(cli_env, "remove", "default")
    assert result.returncode == 2 and "cannot be removed" in result.stderr


def test_upload_then_remove_deletes_session(cli_env: dict[str, str], vendor: Path, data_dir: Path) -> None:
    """upload creates and ingests a session; remove deletes its folder and says so."""
    created = ok_json(cli_env, "upload", str(vendor / "MES_1m.csv"), "--tz", "America/Chicago")
    session_id = created["source"]["source_id"]
    assert created["source"]["symbols"] == ["MES"] and created["files"][0]["status"] == "ingested"
    folder = data_dir / "uploads" / "sessions" / session_id
    assert (folder / "files" / "MES_1m.csv").is_file()
    result = run(cli_env, "remove", session_id)
    assert result.returncode == 0, result.stderr
    assert str(folder) in result.stdout.replace("\n", "") and not folder.exists()
    assert session_id not in {s["source_id"] for s in ok_json(cli_env, "list")["sources"]}


def test_cleanup_removes_finished_old_sessions_only(
    cli_env: dict[str, str], vendor: Path, data_dir: Path
) -> None:
    """`sources cleanup` drops an old session whose file is ingested and keeps one still waiting."""
    done = ok_json(cli_env, "upload", str(vendor / "MES_1m.csv"), "--tz", "UTC")["source"]["source_id"]
    waiting = ok_json(cli_env, "upload", str(vendor / "MES_1m.csv"), "--no-ingest")["source"]["source_id"]
    assert ok_json(cli_env, "cleanup") == {"removed": []}  # both younger than 24 h
    assert ok_json(cli_env, "cleanup", "--max-age-hours", "0") == {"removed": [done]}
    sessions = data_dir / "uploads" / "sessions"
    assert not (sessions / done).exists() and (sessions / waiting).is_dir()
    assert run(cli_env, "cleanup", "--max-age-hours", "-1").returncode == 2
