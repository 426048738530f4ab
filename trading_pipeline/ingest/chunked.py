"""Reading a large delimited text file (plain, gzip or zstd) chunk by chunk, in bounded memory.

The plan is decided once from the head, as for a whole-file read (``textsource``): profile, columns,
time and number formats. The text is then cut into blocks of about ``chunk_bytes`` that end at a line
end, and each block is read and standardised like a small file of its own, with three things carried
from block to block so the result is the whole-file result:

* row numbers count from the top of the file (each block knows how many data rows came before it);
* what the first blocks decided from the values is kept: day-first or month-first dates, the epoch
  unit, a fixed-point price scale;
* the DST fall-back hour is resolved in file order across block boundaries (``timeparse.Carry``).

Findings of the blocks are merged by the caller (``validation.tally``); junk lines are collected here
and reported once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.assemble import assemble, choose_profile, number_format, time_format
from trading_pipeline.ingest.columns import plan_columns
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.limits import LimitedReader, check_rows
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.reader import finish, resolve_layout
from trading_pipeline.ingest.sniff import SNIFF_BYTES, detect_container, read_head
from trading_pipeline.ingest.textread import NOT_UTF8, ReadPlan, junk_finding, read_delimited
from trading_pipeline.ingest.textsniff import TextSniff, sniff_text
from trading_pipeline.ingest.textsource import GUESSED_ENCODINGS, session_date_of
from trading_pipeline.ingest.timeparse import Carry
from trading_pipeline.report import Finding
from trading_pipeline.validation.bars import SYMBOL

__all__ = ["ChunkedText", "NotChunkable", "chunkable", "text_blocks"]

BYTE_ENCODINGS = frozenset({"utf8", "latin1", "latin-1", "cp1252", "ascii"})
"""Encodings in which a newline byte always ends a line (UTF-16 and UTF-32 are read whole)."""


class NotChunkable(Exception):
    """The text cannot be cut at newline bytes (UTF-16/32): read the file whole."""


def chunkable(path: Path) -> tuple[str | None, bool]:
    """(compression, whether the file is delimited text that can be read in chunks)."""
    kind, compression = detect_container(path)
    return compression, kind == "text"


def text_blocks(stream: pa.NativeFile, size: int) -> Iterator[tuple[memoryview, bool]]:
    """Blocks of about ``size`` bytes, each ending at a line end; ``(block, is_last)``.

    One block is read ahead so the last one is known (the layout's bottom lines belong to it).
    """
    pending = b""
    block = _read(stream, size)
    while True:
        data = pending + block if pending else block
        following = _read(stream, size) if block else b""
        if not following:
            if data:
                yield memoryview(data), True
            return
        cut = data.rfind(b"\n") + 1 or data.rfind(b"\r") + 1
        if cut == 0:  # one line longer than a block: keep reading it
            pending, block = data, following
            continue
        yield memoryview(data)[:cut], False
        pending, block = data[cut:], following


def _read(stream: pa.NativeFile, size: int) -> bytes:
    try:
        return bytes(stream.read(size))
    except (OSError, pa.ArrowInvalid) as exc:
        reason = f"the compressed data is truncated or corrupt ({exc}); copy or download it again"
        raise IngestError(path=str(stream), reason=reason, check="compression") from exc


@dataclass
class ChunkedText:
    """The chunks of one text file as ``ParsedFile`` s in file order; ``findings`` holds what is said
    about the whole file once the last chunk has been read (junk lines, a guessed encoding)."""

    path: Path
    options: IngestOptions
    chunk_bytes: int
    whole_allowed: bool = False
    """Whether a file whose first chunk cannot settle day-first vs month-first dates may be read whole
    instead (a small file chunked on purpose); otherwise it is refused with the way out."""
    compression: str | None = field(default=None, init=False)
    findings: list[Finding] = field(default_factory=list)
    rows_read: int = 0

    def __iter__(self) -> Iterator[ParsedFile]:
        path, options = self.path, self.options
        self.compression, _text = chunkable(path)
        layout = resolve_layout(options)
        head = read_head(path, self.compression)
        sniff = sniff_text(head, path.name, complete=len(head) < SNIFF_BYTES, layout=layout)
        if sniff.encoding not in BYTE_ENCODINGS:
            raise NotChunkable(sniff.encoding)
        if sniff.field_count == 0 or not sniff.rows:
            raise IngestError(
                path=str(path), reason="the file has a header but no data rows", check="non_empty"
            )
        profile = choose_profile(sniff, options, layout, str(path))
        plan = plan_columns(sniff, profile, str(path), layout)
        read = ReadPlan(
            time_format(sniff, plan, layout), number_format(sniff, plan, layout), layout.skip_bottom
        )
        carry, junk, offset = Carry(), list(sniff.junk), 0
        # The symbol column is kept whatever --symbol says: which symbols the file holds is known only
        # at its end, and the caller applies --symbol then.
        symbol_free = replace(options, symbol=None)
        with _open(path, self.compression) as stream:
            for index, (block, last) in enumerate(text_blocks(stream, self.chunk_bytes)):
                chunk_sniff = sniff if index == 0 else replace(sniff, skip_rows=0)
                chunk_read = read if last else replace(read, skip_bottom=0)
                raw = read_delimited(
                    lambda block=block: pa.BufferReader(pa.py_buffer(block)),  # type: ignore[misc]
                    chunk_sniff,
                    plan,
                    chunk_read,
                    str(path),
                    offset,
                )
                offset += raw.total_rows
                junk += raw.junk
                raw.findings = [f for f in raw.findings if f.check != "junk_lines"]
                if raw.num_rows == 0:
                    continue
                raw.carry = carry
                try:
                    parsed = assemble(
                        raw,
                        sniff=sniff,
                        plan=plan,
                        profile=profile,
                        options=options,
                        layout=layout,
                        path=str(path),
                        session_date=session_date_of(path.name),
                    )
                except IngestError as exc:
                    if self.whole_allowed and index == 0 and "day-first" in str(exc.fields.get("reason")):
                        raise NotChunkable("the first chunk does not tell the date order") from exc
                    raise
                read, layout = _decided(read, layout, parsed.notes)
                self.rows_read += parsed.table.num_rows
                check_rows(self.rows_read, str(path))
                if SYMBOL in parsed.table.column_names:
                    yield finish(parsed, path, symbol_free, replace_symbol(layout))
                else:
                    yield finish(parsed, path, options, layout)
        self.findings = _file_findings(sniff, layout, junk, self.rows_read, str(path))


def _open(path: Path, compression: str | None) -> pa.NativeFile:
    """The content stream; decompressed content is counted against ``PIPELINE_MAX_DECOMPRESSED_MB``."""
    if compression is None:
        return pa.input_stream(str(path))
    return LimitedReader(pa.input_stream(str(path), compression=compression), str(path)).native()


def replace_symbol(layout: Layout) -> Layout:
    """The layout without its symbol: like --symbol, it is applied once the whole file is read."""
    return layout.model_copy(update={"symbol": None}) if layout.symbol else layout


def _decided(read: ReadPlan, layout: Layout, notes: dict[str, str]) -> tuple[ReadPlan, Layout]:
    """The plan for the next chunks, with what this chunk's values decided fixed."""
    fmt = read.time_format
    if fmt is not None and fmt.swapped and "date_format" in notes:
        read = replace(read, time_format=replace(fmt, fmt=notes["date_format"], swapped=None))
    elif fmt is not None and fmt.kind == "epoch" and fmt.unit is None and "epoch_unit" in notes:
        read = replace(read, time_format=replace(fmt, unit=notes["epoch_unit"]))
    if "price_scale" in notes and not layout.price_multiplier:
        layout = layout.model_copy(update={"price_multiplier": float(notes["price_scale"].lstrip("x"))})
    return read, layout


def _file_findings(sniff: TextSniff, layout: Layout, junk: list[str], rows: int, path: str) -> list[Finding]:
    if rows == 0:
        raise IngestError(path=path, reason="the file has no data rows", check="non_empty")
    findings = []
    if sniff.encoding in GUESSED_ENCODINGS and not layout.encoding:
        findings.append(Finding("encoding", NOT_UTF8, "warning"))
    above = len(sniff.junk)
    if above:
        findings.append(junk_finding(sniff.junk, "lines above the table", "skipped"))
    if len(junk) > above:
        findings.append(junk_finding(junk[above:], "lines without data", "skipped"))
    return findings
