"""``read_file``: any supported bar file in, canonical bars in file order out (``ParsedFile``).

Dispatch is by content (magic bytes) to one reader per container: delimited text (``textsource``),
JSON, spreadsheets, zip archives, Parquet, DBN. A declared layout (``--layout``, a source's layout or
a ``layout.toml`` beside the file) is resolved once here and handed to every reader. Reading never
validates OHLC consistency, sorts or de-duplicates: that is the validator's job.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.layout import Layout, LayoutError, layout_from_json, load_layout
from trading_pipeline.ingest.limits import LimitedReader, current_limits, head_bytes
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.sniff import detect_container, read_head
from trading_pipeline.ingest.symbols import normalise_symbol, normalise_symbol_column, symbol_from_name
from trading_pipeline.ingest.textsource import read_text_source
from trading_pipeline.ingest.vendors.archive import read_zip
from trading_pipeline.ingest.vendors.dbn import read_dbn
from trading_pipeline.ingest.vendors.jsonfile import read_json
from trading_pipeline.ingest.vendors.parquet import read_parquet
from trading_pipeline.ingest.vendors.spreadsheet import read_spreadsheet
from trading_pipeline.report import Finding

__all__ = ["read_file", "resolve_layout", "suggest_command"]


def suggest_command(path: Path | str) -> str:
    """The command that prints a starting layout for ``path``."""
    return f"pipeline validate {shlex.quote(str(path))} --suggest-layout"


def resolve_layout(options: IngestOptions) -> Layout:
    """The layout the options carry (inline, else a layout file); an invalid one rejects the file."""
    try:
        if options.layout:
            return layout_from_json(options.layout, options.layout_path or "(stored with the source)")
        if options.layout_path:
            return load_layout(options.layout_path)
    except LayoutError as exc:
        raise IngestError(path=options.layout_path or "layout", reason=exc.message, check="layout") from exc
    return Layout()


def read_file(path: Path, options: IngestOptions) -> ParsedFile:
    """Read one bar file; raises ``IngestError`` when it cannot be read at all."""
    path = Path(path)
    if path.is_dir():
        raise IngestError(path=str(path), reason="is a folder, not a file", check="readable")
    layout = resolve_layout(options)
    try:
        parsed = _dispatch(path, options, layout)
    except IngestError as exc:
        if not exc.fields.get("suggest"):
            raise
        reason = f"{exc.fields.get('reason')}. Describe the file in a layout: {suggest_command(path)}"
        raise IngestError(path=str(exc.fields.get("path", path)), reason=reason, check=exc.check) from exc
    return finish(parsed, path, options, layout)


def _dispatch(path: Path, options: IngestOptions, layout: Layout) -> ParsedFile:
    kind, compression = detect_container(path)
    if kind == "parquet":
        return read_parquet(path, options, layout)
    if kind == "dbn":
        return read_dbn(path, compression, options)
    if kind == "zip":
        return read_zip(path, options, layout)
    if kind in ("xlsx", "xls", "ods"):
        return read_spreadsheet(path, kind, options, layout)
    if kind == "json":
        return read_json(path, compression, options, layout)
    limits = current_limits()
    size = path.stat().st_size
    if compression is None and size > limits.max_bytes:
        raise limits.too_big(str(path), size)
    head_size = head_bytes()
    head = read_head(path, compression, head_size)

    def opener() -> pa.NativeFile:
        if compression is None:
            return pa.input_stream(str(path))
        # Counted as it is decompressed: a bomb stops at the limit, not when memory runs out.
        return LimitedReader(pa.input_stream(str(path), compression=compression), str(path)).native()

    return read_text_source(opener, head, len(head) < head_size, path.name, str(path), options, layout)


def finish(
    parsed: ParsedFile, path: Path, options: IngestOptions, layout: Layout | None = None
) -> ParsedFile:
    """Settle the symbol: explicit option or layout, else the data's symbol column, else the file name."""
    layout = layout or Layout()
    explicit = options.symbol or layout.symbol
    if "symbol" in parsed.table.column_names:
        return _with_symbol_column(parsed, explicit)
    if explicit:
        symbol = normalise_symbol(explicit)
        if symbol is None:
            raise IngestError(
                path=str(path), reason=f"--symbol {explicit!r} is not a valid symbol", check="symbol"
            )
        return replace(parsed, symbol=symbol)
    symbol = parsed.symbol or symbol_from_name(path.name, options.symbol_pattern)
    if symbol is None:
        what = f"cannot tell the symbol from the file name {path.name!r}; pass --symbol SYMBOL"
        finding = Finding("symbol", what, hint="pass --symbol SYMBOL")
        return replace(parsed, findings=[*parsed.findings, finding])
    return replace(parsed, symbol=normalise_symbol(symbol) or symbol)


def _with_symbol_column(parsed: ParsedFile, explicit: str | None) -> ParsedFile:
    table = parsed.table
    idx = table.column_names.index("symbol")
    symbols = normalise_symbol_column(table.column("symbol"))
    table = table.set_column(idx, "symbol", symbols)
    if not explicit:
        return replace(parsed, table=table, symbol=None)
    wanted = normalise_symbol(explicit) or explicit
    distinct = pc.unique(symbols).to_pylist()
    if len(distinct) == 1:  # one instrument: the explicit --symbol names it
        return replace(parsed, table=table.drop_columns(["symbol"]), symbol=wanted)
    keep = np.asarray(
        pc.fill_null(pc.equal(symbols, wanted), False).to_numpy(zero_copy_only=False), dtype=bool
    )
    if not keep.any():
        finding = Finding(
            "symbol", f"--symbol {wanted} is not in the file; it holds {', '.join(map(str, distinct))}"
        )
        return replace(parsed, table=table, findings=[*parsed.findings, finding])
    numbers = parsed.row_numbers if parsed.row_numbers is not None else np.arange(1, table.num_rows + 1)
    others = ", ".join(sorted(str(s) for s in distinct if s != wanted))
    note = Finding(
        "symbol", f"kept the {int(keep.sum())} rows of {wanted}; the file also holds {others}", "warning"
    )
    return replace(
        parsed,
        table=table.filter(pa.array(keep)).drop_columns(["symbol"]),
        symbol=wanted,
        row_numbers=numbers[keep],
        findings=[*parsed.findings, note],
    )
