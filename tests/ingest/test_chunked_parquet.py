"""Parquet files read in batches give the report and the stored bars of the whole-file read.

``batch_rows`` turns a chunk size into rows from the file's footer, so a test picks the chunk size that
cuts the file after exactly ``k`` rows (each file here is one row group).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.ingest.conftest import same_as_whole
from trading_pipeline.ingest.chunkedparquet import batch_rows, parquet_bytes
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.settings import Settings


def _write(path: Path, frame: pd.DataFrame) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def _bars(times: list[str] | pd.DatetimeIndex, price: float = 100.0) -> pd.DataFrame:
    n = len(times)
    close = [price + i for i in range(n)]
    return pd.DataFrame(
        {
            "datetime": pd.to_datetime(list(times)),
            "open": close,
            "high": [c + 1 for c in close],
            "low": [c - 1 for c in close],
            "close": close,
            "volume": [10] * n,
        }
    )


def _chunk_after(path: Path, rows: int) -> int:
    meta = pq.ParquetFile(path).metadata
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    chunk = rows * (size // meta.num_rows)
    assert batch_rows(meta, chunk) == rows
    return chunk


def test_dst_fall_back_resolved_across_a_batch_boundary(tmp_path: Path) -> None:
    """Naive Chicago times through the repeated 01:00 hour, cut inside it: both passes kept in order."""
    first = [f"2023-11-05 00:{m:02d}:00" for m in range(0, 60, 10)]
    hour = [f"2023-11-05 01:{m:02d}:00" for m in range(0, 60, 10)]
    path = _write(tmp_path / "ES.parquet", _bars([*first, *hour, *hour, "2023-11-05 02:00:00"]))
    report = same_as_whole(tmp_path, path, _chunk_after(path, 9), tz="America/Chicago")
    assert report["status"] == "ingested" and report["symbols"]["ES"]["rows"] == 19


def test_duplicate_and_step_back_at_batch_boundaries_name_the_file_rows(tmp_path: Path) -> None:
    """Row 11 repeats row 10 (first row of batch 2); row 21 steps back (first row of batch 3)."""
    frame = _bars(pd.date_range("2024-01-08 10:00", periods=30, freq="1min"))
    rows = [frame.iloc[:10], frame.iloc[9:10], frame.iloc[10:19], frame.iloc[3:4], frame.iloc[19:]]
    path = _write(tmp_path / "ES.parquet", pd.concat(rows, ignore_index=True))
    report = same_as_whole(tmp_path, path, _chunk_after(path, 10))
    by_check = {f["check"]: f for f in report["warnings"]}
    assert by_check["duplicate_rows"]["rows"] == [11, 21]
    assert by_check["unsorted"]["rows"] == [21]
    assert report["symbols"]["ES"]["rows"] == 30


def test_epoch_seconds_and_a_gap_over_several_batches(tmp_path: Path) -> None:
    """Integer epoch milliseconds (the unit decided by the first batch), a 4-minute gap in batch 3."""
    times = pd.date_range("2024-01-08 10:00", periods=40, freq="1min").delete([25, 26, 27])
    frame = _bars(times).assign(datetime=times.asi8 // 10**6)
    path = _write(tmp_path / "ES.parquet", frame)
    report = same_as_whole(tmp_path, path, _chunk_after(path, 7))
    gaps = next(f for f in report["warnings"] if f["check"] == "gaps")
    assert gaps["count"] == 1 and report["symbols"]["ES"]["rows"] == 37


def test_only_parquet_that_would_not_fit_is_read_in_batches(tmp_path: Path) -> None:
    """The decompressed size comes from the footer; text and junk are not Parquet."""
    path = _write(tmp_path / "ES.parquet", _bars(pd.date_range("2024-01-08", periods=100, freq="1min")))
    size = parquet_bytes(path)
    assert size is not None and 0 < size < path.stat().st_size * 10
    (tmp_path / "ES.csv").write_text("datetime,open\n")
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    assert parquet_bytes(tmp_path / "ES.csv") is None and parquet_bytes(tmp_path / "junk.parquet") is None
    ingestor = DataIngestor(Settings.from_env({}, data_dir=tmp_path / "data"))
    assert ingestor._chunked(path) is None  # 100 rows fit in memory: read whole
