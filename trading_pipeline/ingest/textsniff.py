"""The layout of a text table from its head: encoding, delimiter, junk lines, header, sample rows.

Everything here looks at the first 64 KiB only, so it costs the same for a 1 KB and a 1 GB file, and
what it decides (``TextSniff``) is the plan the reader then applies to the whole stream. Junk above
the table (a credit line, a URL, a title, yfinance's extra header rows) is recognised as lines that
are not data and are not the header: the header is the line of known column names nearest above the
first data row.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.aliases import is_known_name, normalise_name
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.numbers import PLACEHOLDERS, looks_like_number

__all__ = [
    "Located",
    "TextSniff",
    "decode_head",
    "is_data_row",
    "locate_table",
    "looks_like_data",
    "sniff_text",
]

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_LINES = 500
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_CLOCK = r"\d{1,2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?(?:\s?[ap]\.?m\.?)?"
_ZONE = r"(?:\s*(?:z|[+-]\d{2}:?\d{2}|(?:gmt|utc)[+-]?\d{0,4}:?\d{0,2}|[a-z][a-z_]+(?:/[a-z_+\-0-9]+)*))?"
_DATA_FIELD = re.compile(
    rf"^\d{{1,4}}[-/.]\d{{1,2}}[-/.]\d{{1,4}}(?:[ t]{_CLOCK})?{_ZONE}$"  # 2024-01-02, 02.01.2024 09:30
    rf"|^\d{{8}}(?:[ t]?{_CLOCK})?{_ZONE}$"  # 20240308 15:30:00 US/Eastern
    rf"|^{_CLOCK}$"  # a time of day
    rf"|^\d{{1,2}}[- ]?{_MONTH}[- ,]*\d{{2,4}}(?:[ t]{_CLOCK})?$"  # 02-Jan-2024
    rf"|^{_MONTH} \d{{1,2}},? \d{{4}}(?:[ t]{_CLOCK})?$",  # Jan 02, 2024
    re.IGNORECASE,
)


def looks_like_data(value: str) -> bool:
    """Numbers (also ``4.744,50``, ``1.2K``), dates and times are data; anything else is a name."""
    text = value.strip().strip('"')
    return looks_like_number(text) or bool(_DATA_FIELD.match(text))


def _filled(row: list[str]) -> list[str]:
    return [f for f in row if f.strip() and f.strip() not in PLACEHOLDERS]


def is_data_row(row: list[str]) -> bool:
    """At least two values and most of them numbers or times (a symbol column is allowed)."""
    filled = _filled(row)
    data = sum(looks_like_data(f) for f in filled)
    return data >= 2 and data * 2 >= len(filled)


@dataclass(frozen=True)
class Located:
    """Where the table starts in a list of rows: header row (None: no header), first data row, width."""

    header: int | None
    data: int
    width: int
    junk: tuple[int, ...] = ()


def locate_table(
    rows: list[list[str]], *, header: bool | None = None, recognise: Callable[[str], bool] = is_known_name
) -> Located:
    """The header and the first data row among ``rows``; rows above them that are neither are junk."""
    widths = [len(r) for r in rows[:200] if is_data_row(r)]
    width = max(set(widths), key=widths.count) if widths else (len(rows[0]) if rows else 0)
    if header is not None:
        first = 1 if header else 0
        return Located(0 if header else None, first, width)
    data = next((i for i in range(len(rows)) if _starts_table(rows, i, width)), None)
    if data is None:
        named = bool(rows) and not is_data_row(rows[0])
        return Located(0 if named else None, 1 if named else 0, width)
    candidates = [
        j
        for j in range(data)
        if not is_data_row(rows[j])
        and len(_filled(rows[j])) >= 2
        and (len(rows[j]) == width or (j == data - 1 and len(rows[j]) == width - 1))
    ]
    scores = {j: sum(recognise(f) for f in rows[j]) for j in candidates}
    best = max(candidates, key=lambda j: (scores[j], j), default=None)
    if best is not None and scores[best] == 0 and best != data - 1:
        best = None
    junk = tuple(j for j in range(data) if j != best)
    return Located(best, data, width, junk)


def _starts_table(rows: list[list[str]], i: int, width: int) -> bool:
    """A data row of the table's width, and most of the next few rows are too (a ragged row may follow)."""
    if len(rows[i]) != width or not is_data_row(rows[i]):
        return False
    following = rows[i + 1 : i + 4]
    return sum(len(r) == width and is_data_row(r) for r in following) * 2 >= len(following)


@dataclass(frozen=True)
class TextSniff:
    """What the head of a text table looks like, and how to read the rest of it."""

    file_name: str
    delimiter: str
    header: list[str] | None
    rows: list[list[str]]
    field_count: int
    skip_initial_space: bool = False
    notes: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf8"
    skip_rows: int = 0
    junk: tuple[str, ...] = ()
    symbol: str | None = None

    @property
    def names(self) -> list[str]:
        """Normalised header names ('Adj Close' -> 'adjclose'); empty for headerless files."""
        return [normalise_name(n) for n in self.header] if self.header else []

    def column(self, index: int, limit: int = 200) -> list[str]:
        """Sample values of one field from the first data rows."""
        return [r[index] for r in self.rows[:limit] if len(r) > index and r[index] != ""]


def decode_head(
    head: bytes, name: str, encoding: str | None = None, *, complete: bool = True
) -> tuple[str, str]:
    """(text, encoding for the reader) of a head sample: BOMs, UTF-16 without BOM, Windows-1252."""
    if encoding is None:
        encoding = _guess_encoding(head, complete)
        if encoding is None:
            raise IngestError(
                path=name,
                reason="binary content, not a text table, JSON, Parquet or DBN file",
                check="format",
            )
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=complete)
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise IngestError(
            path=name,
            reason=f"NUL bytes in the text read as {encoding}: binary content, or another encoding",
            check="format",
        )
    return text, "utf8" if encoding in ("utf-8", "utf-8-sig", "utf8") else encoding


def _guess_encoding(head: bytes, complete: bool) -> str | None:
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if b"\x00" in head:
        sample = head[:4000]
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        if odd > len(sample) // 4 and even == 0:
            return "utf-16-le"
        if even > len(sample) // 4 and odd == 0:
            return "utf-16-be"
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(head) - 4:  # not a character cut in half at the end of the sample
            return _windows(head)
    return "utf-8"


def _windows(head: bytes) -> str:
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _head_lines(text: str, complete: bool, skip_top: int) -> list[str]:
    """The lines after ``skip_top`` that sniffing looks at: it uses the first ``SAMPLE_LINES`` lines
    that are not blank, so a head of 10,000 lines is cut after twice that many (then split) instead of
    being split whole, which took as long as reading a small file's every row. Cut at a line break,
    the piece holds whole lines only; a piece with too few filled lines means many blank lines: the
    whole head is split then."""
    cut = -1
    for _ in range(skip_top + 2 * SAMPLE_LINES + 2):
        cut = text.find("\n", cut + 1)
        if cut < 0:
            break
    if cut >= 0:
        lines = _split_lines(text[: cut + 1], complete=True)[skip_top:]
        if sum(1 for ln in lines if ln.strip()) > SAMPLE_LINES:
            return lines
    return _split_lines(text, complete)[skip_top:]


def _split_lines(text: str, complete: bool) -> list[str]:
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    elif not complete and len(lines) > 1:
        lines.pop()  # the sample may end mid-line
    return lines


def _parse(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _score(lines: list[str], delimiter: str) -> tuple[float, int]:
    rows = [_parse(ln, delimiter) for ln in lines]
    counts = [len(r) for r in rows if len(r) > 1]
    if not counts:
        return (0.0, 0)
    width = max(set(counts), key=counts.count)
    fitting = [r for r in rows if len(r) == width]
    data = sum(is_data_row(r) for r in fitting)
    return (round(len(fitting) / len(rows) * (1 + data) / (1 + len(fitting)), 2), width)


def _delimiter(lines: list[str]) -> tuple[str, bool]:
    """The delimiter that splits the lines into the same number of data fields; ', ' is Sierra's."""
    sample = lines[:100]
    best = max(DELIMITERS, key=lambda d: _score(sample, d))
    spaced = best == "," and all(ln.count(", ") == ln.count(",") for ln in sample[:20])
    return best, spaced


def sniff_text(head: bytes, name: str, *, complete: bool, layout: Layout | None = None) -> TextSniff:
    """Encoding, delimiter, junk lines, header and sample rows of a text table from its head bytes."""
    layout = layout or Layout()
    text, encoding = decode_head(head, name, layout.encoding, complete=complete)
    lines = _head_lines(text, complete, layout.skip_top)
    filled = [(i, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not filled:
        raise IngestError(path=name, reason="the file holds no rows (only blank lines)", check="non_empty")
    if layout.delimiter is not None:
        delimiter, spaced = layout.delimiter, layout.delimiter == ", "
    else:
        delimiter, spaced = _delimiter([ln for _, ln in filled[:SAMPLE_LINES]])
    split = "," if delimiter == ", " else delimiter
    rows = [[f.strip() for f in _parse(ln, split)] for _, ln in filled[:SAMPLE_LINES]]
    where = locate_table(rows, header=layout.header)
    header = [h.strip().strip('"') for h in rows[where.header]] if where.header is not None else None
    sample = [
        r
        for r in rows[where.data :]
        if not _is_repeat(r, header) and (len(r) == where.width or is_data_row(r))
    ]
    counts = [len(r) for r in sample[:200]]
    width = max(set(counts), key=counts.count) if counts else (len(header) if header else 0)
    junk = tuple(lines[filled[j][0]].strip() for j in where.junk)
    notes = {"delimiter": ", " if spaced else delimiter}
    if encoding != "utf8":
        notes["encoding"] = encoding
    skip = layout.skip_top + (filled[where.data][0] if where.data < len(filled) else len(lines))
    return TextSniff(
        file_name=name,
        delimiter=split,
        header=header,
        rows=sample,
        field_count=width,
        skip_initial_space=spaced,
        notes=notes,
        encoding=encoding,
        skip_rows=skip,
        junk=junk,
        symbol=_ticker_line([rows[j] for j in where.junk]),
    )


def _is_repeat(row: list[str], header: list[str] | None) -> bool:
    if header is None or not row or not header or row[0].strip().lower() != header[0].strip().lower():
        return False  # the cheap test first: this runs on every sample row
    return [normalise_name(f) for f in row] == [normalise_name(h) for h in header]


def _ticker_line(rows: list[list[str]]) -> str | None:
    """yfinance writes 'Ticker,AAPL,AAPL,...' under its header: the symbol, said by the file."""
    for row in rows:
        values = {f.strip() for f in row[1:] if f.strip()}
        if row and normalise_name(row[0]) in ("ticker", "symbol") and len(values) == 1:
            return values.pop()
    return None
