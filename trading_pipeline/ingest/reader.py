"""``read_file``: any supported bar file in, canonical bars in file order out (``ParsedFile``).

Dispatch is by content (magic bytes), then by the profile table. Reading never validates OHLC
consistency, sorts or de-duplicates: that is the validator's job, which receives the ``ParsedFile``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.columns import plan_columns
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.profiles import Profile, get_profile, match_text_profile
from trading_pipeline.ingest.sniff import SNIFF_BYTES, TextSniff, detect_container, read_head, sniff_text
from trading_pipeline.ingest.standardise import standardise
from trading_pipeline.ingest.symbols import normalise_symbol, normalise_symbol_column, symbol_from_name
from trading_pipeline.ingest.textread import read_delimited
from trading_pipeline.report import Finding

__all__ = ["read_file", "read_text_source"]


def read_file(path: Path, options: IngestOptions) -> ParsedFile:
    """Read one bar file; raises ``IngestError`` when it cannot be read at all."""
    path = Path(path)
    if path.is_dir():
        raise IngestError(path=str(path), reason="is a folder, not a file", check="readable")
    kind, compression = detect_container(path)
    if kind == "parquet":
        from trading_pipeline.ingest.vendors.parquet import read_parquet

        parsed = read_parquet(path, options)
    elif kind == "dbn":
        from trading_pipeline.ingest.vendors.dbn import read_dbn

        parsed = read_dbn(path, compression, options)
    elif kind == "zip":
        from trading_pipeline.ingest.vendors.archive import read_zip

        parsed = read_zip(path, options)
    else:
        parsed = _read_text_file(path, compression, options)
    return finish(parsed, path, options)


def _read_text_file(path: Path, compression: str | None, options: IngestOptions) -> ParsedFile:
    head = read_head(path, compression)
    complete = len(head) < SNIFF_BYTES

    def opener() -> pa.NativeFile:
        return pa.input_stream(str(path), compression=compression)

    return read_text_source(opener, head, complete, path.name, str(path), options)


def _choose_profile(sniff: TextSniff, options: IngestOptions, path: str) -> Profile:
    if options.profile:
        return get_profile(options.profile)
    profile = match_text_profile(sniff)
    if profile is None:
        shape = f"{sniff.field_count} fields, {'a header' if sniff.header else 'no header'}"
        raise IngestError(
            path=path, reason=f"unrecognised layout ({shape}); see docs/formats.md", check="format"
        )
    return profile


def read_text_source(
    opener: Callable[[], pa.NativeFile | pa.Buffer],
    head: bytes,
    complete: bool,
    name: str,
    path: str,
    options: IngestOptions,
) -> ParsedFile:
    """Read one delimited text stream (a file or an archive member) named ``name``."""
    sniff = sniff_text(head, name, complete=complete)
    if sniff.field_count == 0:
        raise IngestError(path=path, reason="the file has a header but no data rows", check="non_empty")
    profile = _choose_profile(sniff, options, path)
    plan = plan_columns(sniff, profile, path)
    raw = read_delimited(opener, sniff, plan, path)
    if raw.columns and len(next(iter(raw.columns.values()))) == 0:
        raise IngestError(path=path, reason="the file has no data rows", check="non_empty")
    result = standardise(raw, profile, options, path, _session_date(name))
    bar_label = options.bar_label or profile.bar_label
    notes = {**sniff.notes, **result.notes}
    if raw.time_format is not None:
        notes["time_format"] = raw.time_format.describe()
    return ParsedFile(
        table=result.table,
        profile=profile.name,
        findings=[*raw.findings, *result.findings],
        row_numbers=raw.row_numbers,
        bar_label=bar_label,
        notes=notes,
    )


def _session_date(name: str) -> date | None:
    match = re.match(r"^(\d{4})(\d{2})(\d{2})_", name)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def finish(parsed: ParsedFile, path: Path, options: IngestOptions) -> ParsedFile:
    """Settle the symbol: explicit option, else the data's symbol column, else the file name."""
    table = parsed.table
    if "symbol" in table.column_names:
        return _with_symbol_column(parsed, options)
    if options.symbol:
        symbol = normalise_symbol(options.symbol)
        if symbol is None:
            raise IngestError(
                path=str(path), reason=f"--symbol {options.symbol!r} is not a valid symbol", check="symbol"
            )
        return replace(parsed, symbol=symbol)
    symbol = parsed.symbol or symbol_from_name(path.name, options.symbol_pattern)
    if symbol is None:
        what = f"cannot tell the symbol from the file name {path.name!r}; pass --symbol SYMBOL"
        finding = Finding("symbol", what, hint="pass --symbol SYMBOL")
        return replace(parsed, findings=[*parsed.findings, finding])
    return replace(parsed, symbol=symbol)


def _with_symbol_column(parsed: ParsedFile, options: IngestOptions) -> ParsedFile:
    table = parsed.table
    idx = table.column_names.index("symbol")
    symbols = normalise_symbol_column(table.column("symbol"))
    table = table.set_column(idx, "symbol", symbols)
    if not options.symbol:
        return replace(parsed, table=table, symbol=None)
    wanted = normalise_symbol(options.symbol) or options.symbol
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
