"""Fixtures for the reader tests (write a small sample file, read it, look at one row) and the check
that a file ingested in chunks gives what a whole read gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.reader import read_file
from trading_pipeline.settings import Settings


class Samples:
    """Writes samples into one test's tmp_path and reads them back."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def read(self, name: str, content: str | bytes, **options: Any) -> ParsedFile:
        return read_file(self.path(name, content), IngestOptions(**options))

    @staticmethod
    def row(parsed: ParsedFile, index: int = 0) -> dict[str, Any]:
        """One table row as a dict, ``datetime`` as a pandas Timestamp."""
        n = parsed.table.num_rows
        values: dict[str, Any] = parsed.table.slice(index % n, 1).to_pylist()[0]
        values["datetime"] = pd.Timestamp(values["datetime"])
        return values

    @staticmethod
    def errors(parsed: ParsedFile) -> list[str]:
        return [f.check for f in parsed.findings if f.severity == "error"]

    @staticmethod
    def warnings(parsed: ParsedFile) -> list[str]:
        return [f.check for f in parsed.findings if f.severity == "warning"]


@pytest.fixture
def samples(tmp_path: Path) -> Samples:
    return Samples(tmp_path)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def at() -> Any:
    """``at('2024-01-02 15:30')`` -> the UTC Timestamp, for comparing with read rows."""
    return utc


def ingest_once(
    tmp: Path, path: Path, chunk_bytes: int | None, **options: Any
) -> tuple[dict[str, Any], dict]:
    """One ingest (``chunk_bytes=None``: whole) into its own data folder: its report, minus output paths
    and in a stable order, and its stored tables."""
    data = tmp / f"data-{chunk_bytes}"
    report = DataIngestor(Settings.from_env({}, data_dir=data), chunk_bytes=chunk_bytes).ingest(
        path, IngestOptions(**options)
    )
    tables = {s: pq.read_table(r.output) for s, r in report.symbols.items() if r.output}
    found = report.to_json()
    for symbol in found["symbols"].values():
        symbol.pop("output")
    for key in ("errors", "warnings"):
        found[key] = sorted(found[key], key=json.dumps)
    leftovers = [
        p for p in data.rglob("*") if p.is_file() and p.suffix != ".parquet" and "state" not in p.parts
    ]
    assert leftovers == []  # no temp or spill file survives
    return found, tables


def same_as_whole(tmp: Path, path: Path, chunk_bytes: int, **options: Any) -> dict[str, Any]:
    """Ingest ``path`` whole and in chunks of ``chunk_bytes``: the reports and stored tables must be equal."""
    whole, whole_tables = ingest_once(tmp, path, None, **options)
    chunked, chunked_tables = ingest_once(tmp, path, chunk_bytes, **options)
    assert chunked == whole
    assert chunked_tables.keys() == whole_tables.keys()
    for symbol, table in whole_tables.items():
        assert chunked_tables[symbol].equals(table)
    return chunked
