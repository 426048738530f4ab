"""Reading one delimited text stream (a file, a decompressed stream or an archive member) into bars.

It sits below the reader and the container readers: ``reader`` dispatches a plain or compressed text
file here, ``vendors.archive`` each zip member. The plan is decided from the head (``sniff_text``) and
then applied to the whole stream (``read_delimited``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pyarrow as pa

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.assemble import assemble, choose_profile, number_format, time_format
from trading_pipeline.ingest.columns import plan_columns
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.limits import check_columns, check_line_length, check_rows
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.textread import NOT_UTF8, ReadPlan, junk_finding, read_delimited
from trading_pipeline.ingest.textsniff import sniff_text
from trading_pipeline.report import Finding

__all__ = ["read_text_source", "session_date_of"]

GUESSED_ENCODINGS = ("cp1252", "latin-1")
"""Encodings chosen because the bytes are not UTF-8 (no BOM says so): a guess the report states."""


def read_text_source(
    opener: Callable[[], pa.NativeFile | pa.Buffer],
    head: bytes,
    complete: bool,
    name: str,
    path: str,
    options: IngestOptions,
    layout: Layout | None = None,
) -> ParsedFile:
    """Read one delimited text stream named ``name``; ``opener()`` gives a fresh stream each call."""
    layout = layout or Layout()
    check_line_length(head, complete, path)
    sniff = sniff_text(head, name, complete=complete, layout=layout)
    check_columns(max(sniff.field_count, len(sniff.header or ())), path)
    if sniff.field_count == 0 or not sniff.rows:
        raise IngestError(path=path, reason="the file has a header but no data rows", check="non_empty")
    profile = choose_profile(sniff, options, layout, path)
    plan = plan_columns(sniff, profile, path, layout)
    plan_read = ReadPlan(
        time_format(sniff, plan, layout), number_format(sniff, plan, layout), layout.skip_bottom
    )
    raw = read_delimited(opener, sniff, plan, plan_read, path)
    if raw.num_rows == 0:
        raise IngestError(path=path, reason="the file has no data rows", check="non_empty")
    check_rows(raw.num_rows, path)
    if sniff.junk:
        raw.findings.insert(0, junk_finding(sniff.junk, "lines above the table", "skipped"))
    if sniff.encoding in GUESSED_ENCODINGS and not layout.encoding:
        raw.findings.insert(0, Finding("encoding", NOT_UTF8, "warning"))
    return assemble(
        raw,
        sniff=sniff,
        plan=plan,
        profile=profile,
        options=options,
        layout=layout,
        path=path,
        session_date=session_date_of(name),
    )


def session_date_of(name: str) -> date | None:
    """LEAN members carry their trading date in the name: ``20131007_spy_minute_trade.csv``."""
    match = re.match(r"^(\d{4})(\d{2})(\d{2})_", name)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
