"""Fixtures for the reader tests: write a small sample file, read it, look at one row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.reader import read_file


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
