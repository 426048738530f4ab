"""Limits that keep one hostile file from exhausting a worker: content size, rows, columns, line length,
zip members.

The values come from settings (``PIPELINE_MAX_*``); the ``DataIngestor`` applies them around each read
with ``use_limits`` so the readers, however deep, ask ``current_limits()`` instead of threading a
settings object through every signature. A refusal is a ``LimitError`` naming the limit and the
setting that raises it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from trading_pipeline.errors import LimitError

__all__ = [
    "LimitedReader",
    "Limits",
    "TooLargeToReadWhole",
    "check_columns",
    "check_line_length",
    "check_rows",
    "current_limits",
    "head_bytes",
    "use_limits",
]

MB = 1 << 20
SNIFF_SIZE = 64 * 1024
"""The head sample the sniffer reads (``sniff.SNIFF_BYTES``; repeated here, sniff imports this module)."""


class TooLargeToReadWhole(Exception):  # a signal between the reader and the ingestor, never shown
    """Decompressed text outgrew what may be read whole in memory: read it in chunks instead."""


@dataclass(frozen=True)
class Limits:
    max_decompressed_mb: int = 32768
    max_rows: int = 1_000_000_000
    max_columns: int = 1000
    max_line_kb: int = 64
    max_zip_members: int = 10_000
    whole_read_bytes: int | None = None
    """While a compressed text file is read whole: how much it may grow before it is read in chunks
    instead (its compressed size says little about its content: a bomb is small)."""

    @property
    def max_bytes(self) -> int:
        return self.max_decompressed_mb * MB

    def too_big(self, path: str, size: int | None = None) -> LimitError:
        what = "the content grows past the limit once decompressed"
        if size is not None:
            what = f"the content is {size / MB:,.0f} MB once decompressed"
        return LimitError(
            path=path,
            what=what,
            limit=f"{self.max_decompressed_mb:,} MB",
            setting="PIPELINE_MAX_DECOMPRESSED_MB",
        )


DEFAULT_LIMITS = Limits()
_CURRENT: ContextVar[Limits | None] = ContextVar("ingest_limits", default=None)


def current_limits() -> Limits:
    return _CURRENT.get() or DEFAULT_LIMITS


@contextlib.contextmanager
def use_limits(limits: Limits) -> Iterator[None]:
    token = _CURRENT.set(limits)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def head_bytes() -> int:
    """How much of a text stream is sampled: enough to hold one line of the longest allowed length."""
    return max(SNIFF_SIZE, current_limits().max_line_kb * 1024 + 1)


def check_line_length(head: bytes, complete: bool, path: str) -> None:
    """A line longer than ``PIPELINE_MAX_LINE_KB`` is no bar table (a 50 MB one-line file is junk)."""
    limit = current_limits().max_line_kb * 1024
    pieces = head.split(b"\n")
    longest = max((len(p) for p in pieces), default=0)
    if longest > limit or (not complete and len(pieces) == 1):
        raise LimitError(
            path=path,
            what=f"a line longer than {min(limit, len(head)) // 1024:,} KiB",
            limit=f"{limit // 1024:,} KiB per line",
            setting="PIPELINE_MAX_LINE_KB",
        )


def check_rows(rows: int, path: str) -> None:
    limits = current_limits()
    if rows > limits.max_rows:
        raise LimitError(
            path=path, what=f"{rows:,} rows", limit=f"{limits.max_rows:,} rows", setting="PIPELINE_MAX_ROWS"
        )


def check_columns(columns: int, path: str) -> None:
    limits = current_limits()
    if columns > limits.max_columns:
        raise LimitError(
            path=path,
            what=f"{columns:,} columns",
            limit=f"{limits.max_columns:,} columns",
            setting="PIPELINE_MAX_COLUMNS",
        )


class LimitedReader:
    """A read-only stream that raises ``LimitError`` once more than the limit was read from it.

    Wrapped around a decompressing stream, it stops a decompression bomb after ``max_bytes`` of
    output instead of after the memory is gone.
    """

    def __init__(self, stream: Any, path: str, limits: Limits | None = None) -> None:
        self._stream = stream
        self._path = path
        self._limits = limits or current_limits()
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size) if size is not None and size >= 0 else self._stream.read()
        self._count += len(data)
        if self._count > self._limits.max_bytes:
            raise self._limits.too_big(self._path)
        whole = self._limits.whole_read_bytes
        if whole is not None and self._count > whole:
            raise TooLargeToReadWhole(self._path)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return bool(getattr(self._stream, "closed", False))

    def close(self) -> None:
        self._stream.close()

    def native(self) -> pa.NativeFile:
        """This stream as a pyarrow file, for the CSV reader."""
        return pa.PythonFile(self, mode="r")
