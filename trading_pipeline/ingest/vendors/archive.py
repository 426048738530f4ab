"""Zip archives: QuantConnect LEAN (one or many contract CSVs), Binance and HistData downloads.

Each data member is read like a text file of its own (the member's name picks the profile, e.g.
LEAN's ``20131008_es_minute_trade_201312.csv``); members naming different symbols become a
multi-symbol table with a ``symbol`` column.
"""

from __future__ import annotations

import zipfile
import zlib
from collections import defaultdict
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pyarrow as pa

from trading_pipeline.errors import IngestError, LimitError
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.limits import current_limits, head_bytes
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.symbols import symbol_from_name
from trading_pipeline.ingest.textsource import read_text_source
from trading_pipeline.report import Finding
from trading_pipeline.safeio import open_regular

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


class _Budget:
    """Decompressed bytes left for the whole archive: the members' declared sizes are not trusted."""

    def __init__(self, limit: int, path: str) -> None:
        self.left = limit
        self.path = path

    def read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        with archive.open(info) as member:
            data = member.read(self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise current_limits().too_big(self.path)
        return data


def read_zip(path: Path, options: IngestOptions, layout: Layout | None = None) -> ParsedFile:
    """All data members, concatenated in archive order."""
    limits = current_limits()
    try:
        with open_regular(path) as raw, zipfile.ZipFile(raw) as archive:
            if len(archive.infolist()) > limits.max_zip_members:
                raise LimitError(
                    path=str(path),
                    what=f"{len(archive.infolist()):,} members in the zip archive",
                    limit=f"{limits.max_zip_members:,} members",
                    setting="PIPELINE_MAX_ZIP_MEMBERS",
                )
            members = _data_members(archive)
            if not members:
                raise IngestError(
                    path=str(path), reason="the zip archive holds no .csv or .txt file", check="format"
                )
            parts = []
            budget = _Budget(limits.max_bytes, str(path))
            size = head_bytes()
            for info in members:
                data = budget.read(archive, info)
                # Only the last part of a member's name is used (for its profile and symbol); nothing
                # is ever extracted to disk, so a member named ../../x.csv cannot write anywhere.
                name = PurePosixPath(info.filename.replace("\\", "/")).name
                if not data.strip():
                    continue
                part = read_text_source(
                    lambda data=data: pa.BufferReader(data),  # type: ignore[misc]
                    data[:size],
                    len(data) <= size,
                    name,
                    f"{path}:{name}",
                    options,
                    layout,
                )
                parts.append((name, part))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise IngestError(
            path=str(path), reason=f"the zip archive is corrupt or truncated ({exc})", check="compression"
        ) from exc
    if not parts:
        raise IngestError(path=str(path), reason="every file in the zip archive is empty", check="non_empty")
    return _combine(parts, options)


def _members_finding(finding: Finding, names: list[str]) -> Finding:
    """One finding for every member that says the same thing: 10,000 members, one warning with a count."""
    if len(names) == 1:
        return replace(finding, message=f"{names[0]}: {finding.message}")
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")
    return replace(finding, message=f"{len(names):,} members ({shown}): {finding.message}")


def _combine(parts: list[tuple[str, ParsedFile]], options: IngestOptions) -> ParsedFile:
    symbols = [symbol_from_name(name, options.symbol_pattern) for name, _ in parts]
    if len(parts) == 1:
        return replace(parts[0][1], symbol=symbols[0])
    multi = len(set(symbols)) > 1 and None not in symbols
    tables: list[pa.Table] = []
    said: dict[Finding, list[str]] = defaultdict(list)
    for (name, part), symbol in zip(parts, symbols, strict=True):
        table = part.table
        if multi:
            table = table.append_column("symbol", pa.array([symbol] * table.num_rows, pa.string()))
        tables.append(table)
        for finding in part.findings:
            said[finding].append(name)
    findings = [_members_finding(finding, names) for finding, names in said.items()]
    first = parts[0][1]
    notes = {**first.notes, "members": ", ".join(name for name, _ in parts)}
    if len({p.profile for _, p in parts}) > 1:
        findings.append(Finding("format", "the archive's members have different layouts", "warning"))
    table = pa.concat_tables(tables, promote_options="permissive")
    return replace(first, table=table, findings=findings, notes=notes, row_numbers=None)
