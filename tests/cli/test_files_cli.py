"""`pipeline files`: the ledger as a table a person can read, and as JSON for scripts."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport, Finding, SymbolResult
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FileStatus

pytestmark = pytest.mark.integration
Files = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def ledger(settings: Settings) -> Ledger:
    """60 files: every third rejected, with a reason full of terminal markup from a CSV header."""
    ledger = Ledger(settings)
    start = datetime(2024, 1, 2, tzinfo=UTC)
    for i in range(60):
        status = "rejected" if i % 3 == 0 else "ingested"
        report = FileReport(
            path=f"/raw/F{i:02d}.csv", status=FileStatus(status), sha256=f"s{i}", source_id="default"
        )
        if status == "ingested":
            report.symbols = {"MES": SymbolResult(10, start, start, f"/o{i}.parquet")}
        else:
            report.add(Finding("columns", "column `date[/]` [bold]x[/bold] is not a time"))
        ledger.record_report(report)
    return ledger


@pytest.fixture
def files(ledger: Ledger, cli_env: dict[str, str]) -> Files:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**cli_env, "COLUMNS": "200"}
        return subprocess.run(
            ["pipeline", "files", *args], capture_output=True, text=True, env=env, timeout=60
        )

    return run


def test_the_table_shows_the_newest_files_and_counts_them_all(
    files: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """A 20,000-file ledger does not scroll a terminal away: the newest 50, then the totals."""
    result = files()
    assert result.returncode == 0, result.stderr
    assert "F59.csv" in result.stdout and "F10.csv" in result.stdout and "F09.csv" not in result.stdout
    assert "40 ingested, 20 rejected" in result.stdout
    assert "the newest 50 of 60 shown" in result.stdout


def test_all_shows_every_file_and_json_always_does(
    files: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """--all for people, --json for scripts (oldest first, as before)."""
    assert "F00.csv" in files("--all").stdout
    listed = json.loads(files("--json").stdout)["files"]
    assert [f["path"] for f in listed][:2] == ["/raw/F00.csv", "/raw/F01.csv"] and len(listed) == 60


def test_text_from_files_is_shown_as_text_not_markup(
    files: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """A column named `date[/]` once broke `pipeline files` for good (rich MarkupError)."""
    result = files("--status", "rejected")
    assert result.returncode == 0, result.stderr
    assert "date[/]" in result.stdout and "[bold]x[/bold]" in result.stdout


def test_an_unknown_status_is_a_usage_error(files: Files) -> None:
    """Exit 2 and the statuses there are."""
    result = files("--status", "done")
    assert result.returncode == 2 and "ingested" in result.stderr
