"""A corpus of malformed inputs, built here: each is rejected with the right check and a readable message.

Never a traceback, never a stored Parquet file, never an exception escaping the DataIngestor.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.names import DATA_SUFFIXES
from trading_pipeline.settings import Settings

HEADER = "datetime,open,high,low,close,volume\n"
ROWS = "".join(f"2024-01-02 09:{m:02d}:00,100,101,99,100.5,10\n" for m in range(30))
GOOD = (HEADER + ROWS).encode()


def _truncated_parquet() -> bytes:
    table = pa.table(
        {"datetime": pa.array([1, 2, 3], pa.timestamp("ns", tz="UTC")), "close": [1.0, 2.0, 3.0]}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    return data[: len(data) - 30]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# name -> (bytes, expected check, a phrase the message must contain)
CORPUS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "empty.csv": (lambda: b"", "non_empty", "empty"),
    "header_only.csv": (lambda: HEADER.encode(), "non_empty", "no data rows"),
    "blank_lines.csv": (lambda: b"\n\n\n", "non_empty", "no rows"),
    "garbage.csv": (lambda: random.Random(1).randbytes(4096), "format", "binary"),
    "nul_bytes.csv": (lambda: GOOD[:200] + b"\x00" * 50 + GOOD[200:], "format", "binary"),
    "truncated.csv.gz": (lambda: _half(gzip.compress(GOOD * 20)), "compression", "truncated"),
    "truncated.parquet": (_truncated_parquet, "parquet", "truncated or corrupt"),
    "magic_only.parquet": (lambda: b"PAR1", "parquet", "truncated or corrupt"),
    "truncated.zip": (lambda: _half(_zip({"MES.csv": GOOD * 20})), "compression", "corrupt or truncated"),
    "workbook.xlsx": (lambda: _zip({"xl/workbook.xml": b"<workbook/>"}), "format", "cannot open the xlsx"),
    "text_prices.csv": (lambda: (HEADER + ROWS.replace("100.5", "abc", 3)).encode(), "numbers", "rows 1-3"),
    "ragged.csv": (lambda: GOOD + b"2024-01-02 10:00:00,100,101\n" + ROWS.encode(), "ragged_rows", "row 31"),
    "one_column.csv": (
        lambda: b"price\n" + b"".join(b"%d\n" % (100 + i) for i in range(20)),
        "columns",
        "price",
    ),
    "notes.csv": (lambda: b"just some notes\nnot a table at all\n", "columns", "missing"),
    "bad_dates.csv": (lambda: GOOD.replace(b"2024-01-02 09:05:00", b"not a date"), "timestamps", "row 6"),
    "no_close.csv": (lambda: GOOD.replace(b",close,", b",last_px_x,"), "columns", "close"),
    "high_below_low.csv": (
        lambda: GOOD.replace(b"09:10:00,100,101,99", b"09:10:00,100,98,99"),
        "ohlc",
        "row 11",
    ),
    "conflict.csv": (
        lambda: GOOD + b"2024-01-02 09:05:00,100,102,99,101,10\n",
        "conflicting_duplicates",
        "rows 6, 31",
    ),
    "truncated.csv.zst": (
        lambda: _half(zstandard.ZstdCompressor().compress(GOOD * 20)),
        "compression",
        "truncated",
    ),
    "latin1.csv": (
        lambda: GOOD + "2024-01-02 10:00:00,100,101,99,100.5,10 café\n".encode("latin-1"),
        "numbers",
        "row 31",
    ),
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, (build, _check, _phrase) in CORPUS.items():
        (folder / name).write_bytes(build())
    return folder


def _assert_readable(message: str) -> None:
    assert message and len(message) < 500
    for leak in ("Traceback", "ArrowInvalid", "Exception", 'File "'):
        assert leak not in message, message


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_file_is_rejected_with_its_check(name: str, corpus: Path, settings: Settings) -> None:
    """Each malformed input is rejected with the expected check and a message a person can act on."""
    _build, check, phrase = CORPUS[name]
    report = DataIngestor(settings).ingest(corpus / name, IngestOptions(symbol="MES", tz="UTC"))
    assert report.status == "rejected"
    assert report.errors[0].check == check, report.errors
    assert phrase in report.errors[0].message
    _assert_readable(report.errors[0].message)
    assert not list(settings.processed_dir.rglob("*.parquet"))


@pytest.mark.integration
def test_cli_rejects_the_whole_corpus_without_a_traceback(corpus: Path, cli_env: dict[str, str]) -> None:
    """`pipeline ingest FOLDER --json` over the corpus: exit 1, one JSON report per file, all rejected."""
    result = subprocess.run(
        ["pipeline", "ingest", str(corpus), "--symbol", "MES", "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    reports = json.loads(result.stdout)["files"]
    expected = {n for n in CORPUS if Path(n).suffix in DATA_SUFFIXES}
    assert {Path(r["path"]).name for r in reports} == expected
    assert all(r["status"] == "rejected" and r["errors"][0]["message"] for r in reports)
