"""Looking at the first bytes of a file: its container (compression, Parquet, DBN, zip, spreadsheet, JSON).

Detection is by content; the extension is only a tie-breaker. Everything here works on a small head
sample, so it costs the same for a 1 KB and a 1 GB file. The text layout is ``textsniff``'s job.
"""

from __future__ import annotations

import gzip
import re
import zipfile
import zlib
from pathlib import Path
from typing import Protocol

import zstandard

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.limits import current_limits
from trading_pipeline.safeio import open_regular

__all__ = ["SNIFF_BYTES", "detect_container", "read_head"]

SNIFF_BYTES = 64 * 1024
COMPRESSION_MAGIC: dict[bytes, str] = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
"""Legacy Excel (.xls) is an OLE2 compound file."""
TEXT_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_JSON_START = re.compile(rb"^\s*(\{\s*(\"|\})|\[\s*(\[|\{|\"|-?\d|\]))")


def detect_container(path: Path) -> tuple[str, str | None]:
    """(kind, compression) from magic bytes, not the extension.

    Kinds: 'text', 'json', 'parquet', 'dbn', 'zip', 'xlsx', 'ods', 'xls'.
    """
    with open_regular(path) as fh:  # OSError (vanished, unreadable, a FIFO) is the caller's to classify
        magic = fh.read(8)
    if not magic:
        raise IngestError(path=str(path), reason="the file is empty (0 bytes)", check="non_empty")
    if magic.startswith(b"PAR1"):
        return "parquet", None
    if magic.startswith(b"PK\x03\x04"):
        return _zip_kind(path), None
    if magic.startswith(OLE_MAGIC):
        return "xls", None
    if magic.startswith(b"DBN"):
        return "dbn", None
    for prefix, compression in COMPRESSION_MAGIC.items():
        if magic.startswith(prefix):
            inner = read_head(path, compression, 4096)
            return ("dbn" if inner.startswith(b"DBN") else _text_kind(inner)), compression
    return _text_kind(read_head(path, None, 4096)), None


def _zip_kind(path: Path) -> str:
    """Office Open XML and OpenDocument spreadsheets are zip archives with known members."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
                return "xlsx"
            if "mimetype" in names and b"opendocument.spreadsheet" in archive.read("mimetype"):
                return "ods"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        pass  # the archive reader reports the damage precisely
    return "zip"


def _text_kind(head: bytes) -> str:
    """'json' when the text starts like a JSON document or JSON lines, else 'text'."""
    for bom, codec in TEXT_BOMS:
        if head.startswith(bom):
            head = head[len(bom) :].decode(codec, errors="ignore").encode()
            break
    return "json" if _JSON_START.match(head) else "text"


def read_head(path: Path, compression: str | None, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of the (decompressed) content; ``size=-1`` reads all of it, refusing
    content larger than ``PIPELINE_MAX_DECOMPRESSED_MB`` (a decompression bomb stops there)."""
    limits = current_limits()
    whole = size < 0 or size > limits.max_bytes
    want = limits.max_bytes + 1 if whole else size
    try:
        head = _read_head(path, compression, want)
    except (EOFError, zlib.error, zstandard.ZstdError) as exc:
        raise _corrupt(path, compression, exc) from exc
    except OSError as exc:
        if compression is None or isinstance(exc, (FileNotFoundError, PermissionError)):
            raise  # the caller classifies a vanished or unreadable file
        raise _corrupt(path, compression, exc) from exc
    if whole and len(head) > limits.max_bytes:
        raise limits.too_big(str(path))
    return head


def _read_head(path: Path, compression: str | None, size: int) -> bytes:
    with open_regular(path) as raw:
        if compression == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as fh:
                return _read_upto(fh, size)
        if compression == "zstd":
            with zstandard.ZstdDecompressor().stream_reader(raw) as fh:
                head = _read_upto(fh, size)
            if len(head) < size:  # the whole content: make sure it was not cut off
                _check_zstd_complete(path)
            return head
        return _read_upto(raw, size)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _read_upto(stream: _Readable, size: int) -> bytes:
    """``size`` bytes or the whole stream if shorter (a decompressing reader may return less per call)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _corrupt(path: Path, compression: str | None, exc: BaseException) -> IngestError:
    return IngestError(
        path=str(path),
        reason=f"the {compression} data is corrupt or truncated ({exc}); copy or download it again",
        check="compression",
    )


def _check_zstd_complete(path: Path) -> None:
    """A cut-off zstd frame reads as fewer (often zero) bytes instead of failing: check the frame ends.

    Only called when the whole content fit in the head sample, so the file is small.
    """
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    decompressor.decompress(path.read_bytes())
    if not decompressor.eof:
        raise zstandard.ZstdError("the last frame ends early")
