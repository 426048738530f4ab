"""Spreadsheets: Excel ``.xlsx``/``.xls`` and OpenDocument ``.ods``, read with python-calamine (Rust).

The sheet that holds bars is chosen by content (a header of known names over rows of data), unless a
layout names it (``sheet = "Prices"`` or ``sheet = 2``). Title rows above the table, notes below it and
blank rows are skipped with a warning, like junk lines in a text file. Cells keep their types: a
date-formatted cell arrives as a date, a number as a number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.aliases import ALIASES, DATETIME_NAMES, is_known_name, normalise_name
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.tabular import Cells, read_cells, text_of
from trading_pipeline.ingest.textread import junk_finding
from trading_pipeline.ingest.textsniff import Located, is_data_row, locate_table
from trading_pipeline.report import Finding

__all__ = ["read_spreadsheet"]

HEAD_ROWS = 60
EXCEL_EPOCH = datetime(1899, 12, 30)
SERIAL_DAYS = (20_000, 80_000)
"""Spreadsheet day numbers of the years 1954-2119: a time column of plain numbers in this range is a
date cell that lost its format."""


def _open(path: Path, kind: str) -> Any:
    from python_calamine import CalamineWorkbook  # a Rust extension: loaded only for spreadsheets

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise IngestError(
            path=str(path), reason=f"cannot open the {kind} workbook: {exc}", check="format"
        ) from exc


def _text_rows(rows: list[list[Any]]) -> list[list[str]]:
    out = []
    for row in rows:
        cells = [text_of(v) for v in row]
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    return out


def _score(rows: list[list[str]]) -> tuple[int, int]:
    filled = [r for r in rows if any(r)]
    if not filled:
        return (-1, 0)
    where = locate_table(filled)
    data = sum(is_data_row(r) for r in filled[where.data :])
    named = sum(is_known_name(f) for f in filled[where.header]) if where.header is not None else 0
    return (named if data else -1, data)


def _choose_sheet(book: Any, layout: Layout, path: Path) -> tuple[str, list[list[Any]]]:
    names: list[str] = list(book.sheet_names)
    if layout.sheet is not None:
        wanted = layout.sheet
        if isinstance(wanted, int):
            if not 1 <= wanted <= len(names):
                raise IngestError(
                    path=str(path),
                    reason=f"layout sheet = {wanted}, but the workbook has {len(names)} sheets",
                    check="layout",
                )
            wanted = names[wanted - 1]
        if wanted not in names:
            raise IngestError(
                path=str(path), reason=f"no sheet {wanted!r}; sheets: {', '.join(names)}", check="layout"
            )
        return wanted, book.get_sheet_by_name(wanted).to_python()
    scores = {
        name: _score(_text_rows(book.get_sheet_by_name(name).to_python(nrows=HEAD_ROWS))) for name in names
    }
    best = max(names, key=lambda n: scores[n])
    if scores[best][0] < 0:
        raise IngestError(
            path=str(path),
            reason=f"no sheet holds a table of bars (sheets: {', '.join(names)})",
            check="format",
            suggest=True,
        )
    return best, book.get_sheet_by_name(best).to_python()


def read_spreadsheet(path: Path, kind: str, options: IngestOptions, layout: Layout) -> ParsedFile:
    """Bars from the sheet that holds them."""
    book = _open(path, kind)
    try:
        sheets = list(book.sheet_names)
        sheet, values = _choose_sheet(book, layout, path)
    finally:
        book.close()
    values = [r for r in values[layout.skip_top :]]
    text = _text_rows(values)
    keep = [i for i, r in enumerate(text) if any(r)]
    where = locate_table([text[i] for i in keep[:HEAD_ROWS]], header=layout.header)
    if where.data >= len(keep):
        raise IngestError(
            path=str(path), reason=f"sheet {sheet!r} has a header but no data rows", check="non_empty"
        )
    cells = _cells(values, text, keep, where, layout)
    cells.notes["sheet"] = sheet
    if len(sheets) > 1:
        cells.notes["sheets"] = ", ".join(sheets)
    return read_cells(cells, path.name, str(path), options, layout, "spreadsheet")


def _cells(
    values: list[list[Any]], text: list[list[str]], keep: list[int], where: Located, layout: Layout
) -> Cells:
    """The table below the header: blank rows, repeated headers and notes below the table left out."""
    header = text[keep[where.header]] if where.header is not None else None
    body = keep[where.data :]  # data row n of the sheet is body[n - 1], as in a text file
    findings: list[Finding] = []
    junk_top = [" ".join(text[keep[j]]) for j in where.junk]
    if junk_top:
        findings.append(junk_finding(junk_top, "rows above the table", "skipped"))
    end = len(body)
    while end and not is_data_row(text[body[end - 1]]):
        end -= 1
    if end < len(body):
        findings.append(
            junk_finding([" ".join(text[i]) for i in body[end:]], "rows below the table", "skipped")
        )
    end = max(end - layout.skip_bottom, 0)
    labels = [normalise_name(h) for h in header] if header is not None else None
    repeats = [
        n for n in range(end) if labels is not None and [normalise_name(c) for c in text[body[n]]] == labels
    ]
    if repeats:
        what = "the header row repeats here; dropped"
        findings.append(
            Finding.at_rows("repeated_header", what, [n + 1 for n in repeats], severity="warning")
        )
    kept = [n for n in range(end) if n not in set(repeats)]
    width = max(where.width, len(header) if header else 0)
    rows = [(values[body[n]] + [None] * width)[:width] for n in kept]
    columns = [[row[c] for row in rows] for c in range(width)]
    names = [*header, *[""] * (width - len(header))] if header is not None else None
    _serial_dates(names, columns)
    numbers = np.array(kept, dtype=np.int64) + 1 if repeats else None
    return Cells(names, columns, findings=findings, row_numbers=numbers)


def _serial_dates(names: list[str] | None, columns: list[list[Any]]) -> None:
    """A time column of plain numbers (a date cell that lost its format) as dates."""
    for c, values in enumerate(columns):
        key = normalise_name(names[c]) if names and c < len(names) else ("" if c else "datetime")
        if key not in DATETIME_NAMES and ALIASES.get(key) not in ("date", "datetime") and (names or c):
            continue
        numbers = [v for v in values if v not in (None, "")]
        if numbers and all(
            isinstance(v, int | float) and SERIAL_DAYS[0] < v < SERIAL_DAYS[1] for v in numbers
        ):
            columns[c] = [
                None if v in (None, "") else EXCEL_EPOCH + timedelta(seconds=round(float(v) * 86_400))
                for v in values
            ]
