"""Looking at the first 64 KiB of a file: container (compression, Parquet, DBN, zip) and text layout.

Detection is by content; the extension is only a tie-breaker. Everything here works on a small head
sample, so it costs the same for a 1 KB and a 1 GB file.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from trading_pipeline.errors import IngestError

__all__ = [
    "SNIFF_BYTES",
    "TextSniff",
    "detect_container",
    "looks_like_data",
    "normalise_name",
    "read_head",
    "sniff_text",
]

SNIFF_BYTES = 64 * 1024
COMPRESSION_MAGIC: dict[bytes, str] = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
DELIMITERS = ("\t", ";", "|", ",")
_DATA_FIELD = re.compile(
    r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"  # a number
    r"|^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"  # a date ...
    r"([ T]\d{1,2}:?\d{2}(:?\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"  # ... with an optional time
    r"|^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"  # a time of day
    r"|^\d{8}[ T]?\d{4,6}$"  # YYYYMMDD HHMMSS
)


@dataclass(frozen=True)
class TextSniff:
    """What the head of a text table looks like."""

    file_name: str
    delimiter: str
    header: list[str] | None
    rows: list[list[str]]
    field_count: int
    skip_initial_space: bool = False
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Normalised header names ('Adj Close' -> 'adjclose'); empty for headerless files."""
        return [normalise_name(n) for n in self.header] if self.header else []

    def column(self, index: int, limit: int = 200) -> list[str]:
        """Sample values of one field from the first data rows."""
        return [r[index] for r in self.rows[:limit] if len(r) > index and r[index] != ""]


def normalise_name(name: str) -> str:
    """Case, spaces, quotes and punctuation do not matter in column names."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def looks_like_data(value: str) -> bool:
    """Numbers, dates and times are data; anything else in row 1 makes it a header."""
    return bool(_DATA_FIELD.match(value.strip()))


def detect_container(path: Path) -> tuple[str, str | None]:
    """('text'|'parquet'|'dbn'|'zip', compression) from magic bytes, not the extension."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise IngestError(
            path=str(path), reason=f"cannot open the file: {exc.strerror}", check="readable"
        ) from exc
    if not magic:
        raise IngestError(path=str(path), reason="the file is empty (0 bytes)", check="non_empty")
    if magic.startswith(b"PAR1"):
        return "parquet", None
    if magic.startswith(b"PK\x03\x04"):
        return "zip", None
    if magic.startswith(b"DBN"):
        return "dbn", None
    for prefix, compression in COMPRESSION_MAGIC.items():
        if magic.startswith(prefix):
            inner = read_head(path, compression, 8)
            return ("dbn" if inner.startswith(b"DBN") else "text"), compression
    return "text", None


def read_head(path: Path, compression: str | None, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of the (decompressed) content."""
    try:
        if compression == "gzip":
            with gzip.open(path, "rb") as fh:
                return fh.read(size)
        if compression == "zstd":
            with path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as fh:
                head: bytes = fh.read(size)
            if len(head) < size:  # the whole content: make sure it was not cut off
                _check_zstd_complete(path)
            return head
        with path.open("rb") as fh:
            return fh.read(size)
    except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
        raise IngestError(
            path=str(path),
            reason=f"the {compression} data is corrupt or truncated ({exc}); copy or download it again",
            check="compression",
        ) from exc


def _check_zstd_complete(path: Path) -> None:
    """A cut-off zstd frame reads as fewer (often zero) bytes instead of failing: check the frame ends.

    Only called when the whole content fit in the head sample, so the file is small.
    """
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    decompressor.decompress(path.read_bytes())
    if not decompressor.eof:
        raise zstandard.ZstdError("the last frame ends early")


def _decode(head: bytes, name: str) -> str:
    if b"\x00" in head:
        raise IngestError(
            path=name, reason="binary content, not a text table, Parquet or DBN file", check="format"
        )
    text = head.decode("utf-8", errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def _lines(text: str, complete: bool) -> list[str]:
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    return [ln for ln in lines if ln.strip()]


def _delimiter(lines: list[str]) -> tuple[str, bool]:
    """The delimiter that splits the sample lines into the same number of fields; ', ' is Sierra's."""
    sample = lines[:50]
    best, best_score = ",", (-1.0, 0)
    for cand in DELIMITERS:
        counts = [ln.count(cand) for ln in sample]
        if not counts or min(counts) == 0:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = cand, score
    spaced = best == "," and all(ln.count(", ") == ln.count(",") for ln in sample[:20])
    return best, spaced


def sniff_text(head: bytes, name: str, *, complete: bool) -> TextSniff:
    """Delimiter, header and sample rows of a text table from its head bytes."""
    text = _decode(head, name)
    lines = _lines(text, complete)
    if not lines:
        raise IngestError(path=name, reason="the file holds no rows (only blank lines)", check="non_empty")
    delimiter, spaced = _delimiter(lines)
    rows = [[f.strip() for f in row] for row in csv.reader(lines[:500], delimiter=delimiter)]
    header = None
    if not all(looks_like_data(f) for f in rows[0] if f):
        header, rows = [h.strip().strip('"') for h in rows[0]], rows[1:]
    field_count = max(set(len(r) for r in rows[:200]), key=[len(r) for r in rows[:200]].count) if rows else 0
    return TextSniff(
        file_name=name,
        delimiter=delimiter,
        header=header,
        rows=rows,
        field_count=field_count or (len(header) if header else 0),
        skip_initial_space=spaced,
        notes={"delimiter": ", " if spaced else delimiter},
    )
