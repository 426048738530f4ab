"""`pipeline ingest` / `pipeline validate` as a user runs them: real subprocess, JSON contract, exit codes."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from testkit import make_bars, write_bars_csv

pytestmark = pytest.mark.integration


def run(env: dict[str, str], *args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pipeline", *args], capture_output=True, text=True, env={**env, "COLUMNS": str(columns)}, timeout=120
    )


def reports(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    data = json.loads(result.stdout)
    assert list(data) == ["files"]
    files: list[dict[str, Any]] = data["files"]
    return files


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_bars_csv(tmp_path / "in" / "MES_1m.csv", make_bars(20, tz=None))


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = write_bars_csv(tmp_path / "in" / "MNQ_1m.csv", make_bars(20, tz=None))
    path.write_text(path.read_text().replace("\n2024-01-02 00:04:00,", "\n2024-01-02 00:04:00,-"))
    return path


class TestJsonContract:
    def test_ingest_json_is_one_object_with_the_report(
        self, good: Path, cli_env: dict[str, str], data_dir: Path
    ) -> None:
        """--json prints exactly one object: files[] with status, profile, interval, symbols and outputs."""
        result = run(cli_env, "ingest", str(good), "--tz", "America/Chicago", "--json")
        assert result.returncode == 0, result.stderr
        (report,) = reports(result)
        assert report["path"] == str(good)
        assert (report["status"], report["interval"], report["errors"]) == ("ingested", "1min", [])
        symbol = report["symbols"]["MES"]
        assert symbol["rows"] == 20
        assert datetime.fromisoformat(symbol["start"]).utcoffset() is not None
        assert symbol["start"] == "2024-01-02T06:00:00+00:00"
        assert Path(symbol["output"]).is_relative_to(data_dir)
        assert len(pd.read_parquet(symbol["output"])) == 20

    def test_rejected_file_exits_1_with_its_errors(self, bad: Path, cli_env: dict[str, str]) -> None:
        """A rejected file gives exit code 1 and error findings with check, message and rows."""
        result = run(cli_env, "ingest", str(bad), "--tz", "UTC", "--json")
        assert result.returncode == 1
        (report,) = reports(result)
        assert report["status"] == "rejected"
        assert {e["check"] for e in report["errors"]} >= {"positive_prices"}
        assert report["errors"][0]["rows"]

    def test_one_rejected_file_among_several_exits_1(
        self, good: Path, bad: Path, cli_env: dict[str, str]
    ) -> None:
        """With several files, any rejection makes the exit code 1; every file still gets a report."""
        result = run(cli_env, "ingest", str(good), str(bad), "--tz", "UTC", "--json")
        assert result.returncode == 1
        assert [r["status"] for r in reports(result)] == ["ingested", "rejected"]

    def test_duplicate_is_not_a_failure(self, good: Path, cli_env: dict[str, str]) -> None:
        """Ingesting the same bytes again reports duplicate with exit code 0."""
        run(cli_env, "ingest", str(good), "--tz", "UTC")
        result = run(cli_env, "ingest", str(good), "--tz", "UTC", "--json")
        assert result.returncode == 0
        assert reports(result)[0]["status"] == "duplicate"

    def test_validate_reports_and_writes_nothing(
        self, good: Path, cli_env: dict[str, str], data_dir: Path
    ) -> None:
        """`pipeline validate` says 'validated' and leaves the data folder untouched."""
        result = run(cli_env, "validate", str(good), "--tz", "UTC", "--json")
        assert result.returncode == 0, result.stderr
        assert reports(result)[0]["status"] == "validated"
        assert list(data_dir.rglob("*")) == []

    def test_a_folder_ingests_its_supported_files(self, tmp_path: Path, cli_env: dict[str, str]) -> None:
        """A folder PATH takes its data files recursively, skipping hidden, temporary and other files."""
        folder = tmp_path / "drop"
        write_bars_csv(folder / "MES_1m.csv", make_bars(5, tz=None))
        write_bars_csv(folder / "sub" / "MNQ_1m.csv", make_bars(5, tz=None, seed=2))
        write_bars_csv(folder / ".hidden_1m.csv", make_bars(5, tz=None, seed=3))
        (folder / "MGC_1m.csv.part").write_text("partial")
        (folder / "README.md").write_text("notes")
        result = run(cli_env, "ingest", str(folder), "--tz", "UTC", "--json")
        assert result.returncode == 0, result.stderr
        assert sorted(Path(r["path"]).name for r in reports(result)) == ["MES_1m.csv", "MNQ_1m.csv"]


class TestUsageErrors:
    @pytest.mark.parametrize(
        ("args", "phrase"),
        [
            (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
            (["--bar-label", "middle"], "--bar-label"),
            (["--source", "../etc"], "invalid source id"),
        ],
    )
    def test_bad_option_exits_2_without_a_traceback(
        self, good: Path, cli_env: dict[str, str], args: list[str], phrase: str
    ) -> None:
        """A bad option value is a usage error: exit 2, a clear message, nothing on stdout."""
        result = run(cli_env, "ingest", str(good), *args, "--json")
        assert result.returncode == 2
        assert phrase in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""

    def test_missing_path_exits_2(self, tmp_path: Path, cli_env: dict[str, str]) -> None:
        """A path that does not exist is a usage error naming it."""
        result = run(cli_env, "ingest", str(tmp_path / "nope.csv"))
        assert result.returncode == 2
        assert "no such file or folder" in result.stderr and "nope.csv" in result.stderr


class TestHumanOutput:
    def test_summary_table_then_findings(self, good: Path, bad: Path, cli_env: dict[str, str]) -> None:
        """Without --json: a table (file, status, profile, interval, symbols, rows, range), then findings."""
        result = run(cli_env, "ingest", str(good), str(bad), "--tz", "UTC")
        assert result.returncode == 1
        out = result.stdout
        for header in ("file", "status", "profile", "interval", "symbols", "rows", "range (UTC)"):
            assert header in out
        assert "MES_1m.csv" in out and "ingested" in out and "rejected" in out
        assert "2024-01-02 00:00–00:19" in out
        assert "error   positive_prices: row 5: price zero or negative" in out
        assert out.rstrip().endswith("1 ingested, 1 rejected")
