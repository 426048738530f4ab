"""Files read in chunks give the report and the stored bars of the whole-file read, boundaries included.

A tiny ``chunk_bytes`` puts chunk boundaries where a test wants them: every data line of these files has
the same length, so a chunk of ``k`` lines ends exactly after data row ``k``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.ingest.conftest import ingest_once, same_as_whole
from trading_pipeline.ingest.bounded import should_chunk
from trading_pipeline.ingest.chunked import text_blocks
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings

HEADER = "datetime,open,high,low,close,volume\n"


def _line(stamp: str, price: float = 100.0, volume: int = 10) -> str:
    return f"{stamp},{price:08.2f},{price + 1:08.2f},{price - 1:08.2f},{price:08.2f},{volume:05d}\n"


def _minutes(start_hour: int, count: int, day: str = "2024-01-08") -> list[str]:
    return [f"{day} {start_hour + (m // 60):02d}:{m % 60:02d}:00" for m in range(count)]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(lines))
    return path


def _chunk_after(lines: list[str], rows: int) -> int:
    """A chunk size that ends chunks after every ``rows`` data rows (lines are of one length)."""
    assert len({len(line) for line in lines}) == 1
    return len(lines[0]) * rows


def test_dst_fall_back_resolved_across_a_chunk_boundary(tmp_path: Path) -> None:
    # 2023-11-05 in Chicago: 01:00-01:59 happens twice (CDT, then CST); cut inside the repeated hour
    first = [f"2023-11-05 00:{m:02d}:00" for m in range(0, 60, 10)]
    hour = [f"2023-11-05 01:{m:02d}:00" for m in range(0, 60, 10)]
    lines = [_line(s) for s in [*first, *hour, *hour, "2023-11-05 02:00:00"]]
    path = _write(tmp_path / "ES.csv", lines)
    report = same_as_whole(tmp_path, path, _chunk_after(lines, 9), tz="America/Chicago")
    assert report["status"] == "ingested"
    assert report["symbols"]["ES"]["rows"] == 19  # both passes through the hour kept, none a duplicate
    _, tables = ingest_once(tmp_path / "again", path, _chunk_after(lines, 9), tz="America/Chicago")
    times = tables["ES"].column("datetime").cast("int64").to_pylist()
    assert times == sorted(times) and len(set(times)) == 19


def test_duplicate_and_step_back_at_chunk_boundaries_name_the_file_rows(tmp_path: Path) -> None:
    stamps = _minutes(10, 30)
    lines = [_line(s, 100 + i) for i, s in enumerate(stamps)]
    lines.insert(10, lines[9])  # data row 11 repeats row 10 exactly: the first row of chunk 2
    lines.insert(20, _line(stamps[3], 103))  # data row 21 steps back in time: the first row of chunk 3
    path = _write(tmp_path / "ES.csv", lines)
    report = same_as_whole(tmp_path, path, _chunk_after(lines, 10))
    by_check = {f["check"]: f for f in report["warnings"]}
    assert by_check["duplicate_rows"]["rows"] == [11, 21]  # row 21 repeats row 4 once sorted
    assert by_check["unsorted"]["rows"] == [21]
    assert report["symbols"]["ES"]["rows"] == 30


def test_conflicting_duplicate_across_a_boundary_rejects_with_both_rows(tmp_path: Path) -> None:
    lines = [_line(s) for s in _minutes(10, 12)]
    lines.insert(6, _line(_minutes(10, 12)[5], 150))  # same time as row 6, other prices: row 7
    path = _write(tmp_path / "ES.csv", lines)
    report = same_as_whole(tmp_path, path, _chunk_after(lines, 6))
    assert report["status"] == "rejected"
    conflict = next(f for f in report["errors"] if f["check"] == "conflicting_duplicates")
    assert conflict["rows"] == [6, 7]
    assert not list((tmp_path / f"data-{_chunk_after(lines, 6)}").rglob("*.parquet"))


def test_gaps_and_bad_values_counted_over_every_chunk(tmp_path: Path) -> None:
    stamps = _minutes(10, 40)
    del stamps[25:28]  # a 4-minute step: three missing bars in chunk 3
    del stamps[5]  # and one in chunk 1
    lines = [_line(s) for s in stamps]
    lines[30] = lines[30].replace(",00101.00,", ",00098.00,", 1)  # high below open: row 31
    path = _write(tmp_path / "ES.csv", lines)
    report = same_as_whole(tmp_path, path, _chunk_after(lines, 7))
    gaps = next(f for f in report["warnings"] if f["check"] == "gaps")
    assert gaps["count"] == 2 and "4 missing bars" in gaps["message"]
    assert report["status"] == "rejected"
    assert next(f for f in report["errors"] if f["check"] == "ohlc")["rows"] == [31]


def test_newest_first_and_multi_symbol_files_go_through_the_sort(tmp_path: Path) -> None:
    stamps = _minutes(10, 50)
    newest = [_line(s, 100 + i) for i, s in reversed(list(enumerate(stamps)))]
    path = _write(tmp_path / "ES.csv", newest)
    report = same_as_whole(tmp_path, path, _chunk_after(newest, 8))
    assert any("newest first" in f["message"] for f in report["warnings"])
    both = tmp_path / "both.csv"
    rows = [f"{s},{sym},1.0,2.0,0.5,1.5,7\n" for s in stamps for sym in ("AAA", "BBB")]
    both.write_text("datetime,symbol,open,high,low,close,volume\n" + "".join(rows))
    report = same_as_whole(tmp_path, both, len(rows[0]) * 9)
    assert {s: v["rows"] for s, v in report["symbols"].items()} == {"AAA": 50, "BBB": 50}
    picked = same_as_whole(tmp_path / "picked", both, len(rows[0]) * 9, symbol="BBB")
    assert list(picked["symbols"]) == ["BBB"]


def test_close_labels_ragged_rows_and_gzip(tmp_path: Path) -> None:
    lines = [_line(s) for s in _minutes(10, 30)]
    path = _write(tmp_path / "ES.csv", lines)
    report = same_as_whole(tmp_path, path, _chunk_after(lines, 7), bar_label="close")
    assert report["symbols"]["ES"]["start"].startswith("2024-01-08T09:59")
    ragged = [*lines[:12], "2024-01-08 10:12:00,1,2\n", *lines[12:]]
    path = _write(tmp_path / "ES.csv", ragged)
    report = same_as_whole(tmp_path, path, _chunk_after(lines, 5))
    assert next(f for f in report["errors"] if f["check"] == "ragged_rows")["rows"] == [13]
    packed = tmp_path / "ES.csv.gz"
    packed.write_bytes(gzip.compress((HEADER + "".join(lines)).encode()))
    assert same_as_whole(tmp_path, packed, _chunk_after(lines, 4))["status"] == "ingested"


def test_every_real_file_ingests_the_same_in_tiny_chunks(tmp_path: Path, real_data: Path) -> None:
    cases = json.loads((real_data.parent.parent / "checks" / "real_files_expected.json").read_text())
    for number, case in enumerate(cases):
        args = case["args"]
        options = {args[i].lstrip("-").replace("-", "_"): args[i + 1] for i in range(0, len(args), 2)}
        same_as_whole(tmp_path / str(number), real_data / case["file"], 300, **options)


def test_text_blocks_end_at_line_ends() -> None:
    import pyarrow as pa

    text = b"".join(b"line %d\n" % i for i in range(1000)) + b"last line without end"
    blocks = list(text_blocks(pa.BufferReader(text), 100))
    assert b"".join(bytes(b) for b, _ in blocks) == text
    assert all(bytes(b).endswith(b"\n") for b, last in blocks if not last)
    assert [last for _, last in blocks].count(True) == 1


@pytest.mark.parametrize(
    ("size_mb", "compressed", "chunked"),
    [(1, False, False), (100, False, False), (300, False, True), (60, True, True)],
)
def test_large_files_are_chunked_under_the_default_limit(
    size_mb: int, compressed: bool, chunked: bool
) -> None:
    assert should_chunk(size_mb << 20, compressed, 1024) is chunked


def test_compressed_text_that_outgrows_memory_once_decompressed_is_read_in_chunks(tmp_path: Path) -> None:
    """A small gzip of very repetitive bars (a bomb of valid rows) is not read whole: once its content
    passes what fits in PIPELINE_INGEST_MEMORY_MB it is read in chunks, and every row is stored."""
    rows = 1_000_000
    path = tmp_path / "FLAT_1m.csv.gz"
    with gzip.open(path, "wt", compresslevel=9) as out:
        out.write(HEADER)
        base = 1_262_304_000  # 2010-01-01 in epoch seconds: one bar a minute from there
        for m in range(rows):
            out.write(f"{base + 60 * m},100,101,99,100,10\n")
    settings = Settings.from_env({}, data_dir=tmp_path / "data", ingest_memory_mb=128)
    content = rows * len("1262304000,100,101,99,100,10\n")
    assert not should_chunk(path.stat().st_size, True, 128)  # its file size alone says "read whole"
    assert content > 128 * (1 << 20) * 0.6 / 3.5  # ... but its content does not fit
    report = DataIngestor(settings).ingest(path, IngestOptions(symbol="FLAT"))
    assert report.status == "ingested", report.to_json()
    assert report.symbols["FLAT"].rows == rows
