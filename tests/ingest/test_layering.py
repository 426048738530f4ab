"""The reader sits above the container readers: vendors build on the text-stream reader, never on the
reader that dispatches to them (no import cycle, not even one hidden in a function)."""

from __future__ import annotations

import ast
from pathlib import Path

INGEST = Path(__file__).resolve().parents[2] / "trading_pipeline" / "ingest"
ABOVE_THE_VENDORS = {
    "trading_pipeline.ingest.reader",
    "trading_pipeline.ingest.suggest",
    "trading_pipeline.ingest.ingestor",
}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_vendor_reader_imports_the_reader() -> None:
    wrong = {p.name: sorted(_imported(p) & ABOVE_THE_VENDORS) for p in (INGEST / "vendors").glob("*.py")}
    assert {name: found for name, found in wrong.items() if found} == {}


def test_the_text_stream_reader_sits_below_the_reader_and_the_archive_reader() -> None:
    assert "trading_pipeline.ingest.textsource" in _imported(INGEST / "vendors" / "archive.py")
    assert "trading_pipeline.ingest.vendors.archive" in _imported(INGEST / "reader.py")
    assert not _imported(INGEST / "textsource.py") & (
        ABOVE_THE_VENDORS | {"trading_pipeline.ingest.vendors.archive"}
    )
