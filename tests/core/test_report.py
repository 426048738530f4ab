"""Findings and file reports: the words a person reads about a file, and their JSON contract."""

from __future__ import annotations

from datetime import UTC, datetime

from trading_pipeline.report import MAX_REPORTED_ROWS, FileReport, Finding, SymbolResult, describe_rows


def test_consecutive_rows_are_shown_as_ranges() -> None:
    """rows 11, 12, 13 read as 'rows 11-13'."""
    assert describe_rows([11, 12, 13], 3) == "rows 11-13"
    assert describe_rows([4, 9, 10], 3) == "rows 4, 9-10"
    assert describe_rows([7], 1) == "row 7"


def test_a_finding_lists_the_first_rows_and_counts_the_rest() -> None:
    """A check failing on 1,000 rows shows the first few and says how many more."""
    finding = Finding.at_rows("ohlc", "high below low", range(1, 1001))
    assert finding.rows == tuple(range(1, MAX_REPORTED_ROWS + 1))
    assert finding.count == 1000
    assert (
        finding.message == f"rows 1-{MAX_REPORTED_ROWS} and {1000 - MAX_REPORTED_ROWS} more: high below low"
    )


def test_report_json_round_trips() -> None:
    """What the ledger stores reads back as the same report."""
    report = FileReport(
        path="/d/MES.csv",
        status="ingested",
        profile="generic_header",
        interval="1min",
        symbols={
            "MES": SymbolResult(3, datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 2, 0, 2, tzinfo=UTC))
        },
        sha256="ab" * 32,
        source_id="default",
    )
    report.add(Finding.at_rows("gaps", "2 gaps", [2], severity="warning"))
    data = report.to_json()
    assert data["symbols"]["MES"]["start"] == "2024-01-02T00:00:00+00:00"
    assert data["warnings"][0]["check"] == "gaps"
    assert FileReport.from_json(data).to_json() == data
