"""Zip archives: QuantConnect LEAN (one or many contract CSVs), Binance and HistData downloads.

Each data member is read like a text file of its own (the member's name picks the profile, e.g.
LEAN's ``20131008_es_minute_trade_201312.csv``); members naming different symbols become a
multi-symbol table with a ``symbol`` column.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pyarrow as pa

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.sniff import SNIFF_BYTES
from trading_pipeline.ingest.symbols import symbol_from_name
from trading_pipeline.ingest.textsource import read_text_source
from trading_pipeline.report import Finding

__all__ = ["read_zip"]

DATA_SUFFIXES = (".csv", ".txt", ".tsv")
SKIP_WORDS = ("readme", "license", "checksum", "documentation")


def _data_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = [
        m
        for m in archive.infolist()
        if not m.is_dir()
        and not m.filename.startswith(("__MACOSX/", "."))
        and PurePosixPath(m.filename).suffix.lower() in DATA_SUFFIXES
        and not any(w in m.filename.lower() for w in SKIP_WORDS)
    ]
    csvs = [m for m in members if m.filename.lower().endswith(".csv")]
    return csvs or members  # HistData zips hold the CSV plus a .txt status report


def read_zip(path: Path, options: IngestOptions, layout: Layout | None = None) -> ParsedFile:
    """All data members, concatenated in archive order."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = _data_members(archive)
            if not members:
                raise IngestError(
                    path=str(path), reason="the zip archive holds no .csv or .txt file", check="format"
                )
            parts = []
            for info in members:
                data = archive.read(info)
                name = PurePosixPath(info.filename).name
                if not data.strip():
                    continue
                part = read_text_source(
                    lambda data=data: pa.BufferReader(data),  # type: ignore[misc]
                    data[:SNIFF_BYTES],
                    len(data) <= SNIFF_BYTES,
                    name,
                    f"{path}:{name}",
                    options,
                    layout,
                )
                parts.append((name, part))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise IngestError(
            path=str(path), reason=f"the zip archive is corrupt or truncated ({exc})", check="compression"
        ) from exc
    if not parts:
        raise IngestError(path=str(path), reason="every file in the zip archive is empty", check="non_empty")
    return _combine(parts, options)


def _combine(parts: list[tuple[str, ParsedFile]], options: IngestOptions) -> ParsedFile:
    symbols = [symbol_from_name(name, options.symbol_pattern) for name, _ in parts]
    if len(parts) == 1:
        return replace(parts[0][1], symbol=symbols[0])
    multi = len(set(symbols)) > 1 and None not in symbols
    tables: list[pa.Table] = []
    findings: list[Finding] = []
    for (name, part), symbol in zip(parts, symbols, strict=True):
        table = part.table
        if multi:
            table = table.append_column("symbol", pa.array([symbol] * table.num_rows, pa.string()))
        tables.append(table)
        findings.extend(replace(f, message=f"{name}: {f.message}") for f in part.findings)
    first = parts[0][1]
    notes = {**first.notes, "members": ", ".join(name for name, _ in parts)}
    if len({p.profile for _, p in parts}) > 1:
        findings.append(Finding("format", "the archive's members have different layouts", "warning"))
    table = pa.concat_tables(tables, promote_options="permissive")
    return replace(first, table=table, findings=findings, notes=notes, row_numbers=None)
