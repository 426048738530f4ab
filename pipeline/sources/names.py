"""Names that become paths or job ids: source ids, session ids, upload file names, symbols.

Everything a person or a browser supplies passes through here before it touches the disk, so a name like
``../../etc/passwd`` or ``MES\x00.csv`` can never escape a session folder or hide from the watcher.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import UnsafeNameError, UsageError

__all__ = [
    "SESSION_ID_RE",
    "SOURCE_ID_RE",
    "SYMBOL_RE",
    "candidate_files",
    "check_session_id",
    "check_source_id",
    "is_ignored_name",
    "safe_filename",
    "safe_symbol",
]

SOURCE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""RQ job ids allow only these characters, and a source id is part of every ingest job id."""
SESSION_ID_RE = re.compile(r"upload_\d{8}T\d{6}_[0-9a-f]{8,32}")
SYMBOL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_NAME_BYTES = 255
_WINDOWS_UNSAFE = set('<>:"|?*\\/')
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")
RESERVED_NAMES = frozenset({"metadata.json"})


def check_source_id(source_id: str) -> str:
    if not SOURCE_ID_RE.fullmatch(source_id):
        raise UsageError(
            f"invalid source id {source_id!r}: use 1-64 letters, digits, '_' or '-' (ids become job-id parts)"
        )
    return source_id


def check_session_id(session_id: str) -> str:
    if not SESSION_ID_RE.fullmatch(session_id):
        raise UsageError(f"invalid upload session id {session_id!r}: expected upload_YYYYMMDDTHHMMSS_<hex>")
    return session_id


def is_ignored_name(name: str) -> bool:
    """True for names the watcher must skip: dotfiles, editor/browser temp files, session metadata."""
    return (
        not name
        or name.startswith((".", "~"))
        or name.lower().endswith(IGNORED_SUFFIXES)
        or name in RESERVED_NAMES
    )


def safe_filename(name: str) -> str:
    """The upload name to store, or ``UnsafeNameError``; refusing beats guessing what a path meant."""

    def refuse(reason: str) -> UnsafeNameError:
        return UnsafeNameError(name=name, reason=reason)

    if "\x00" in name:
        raise refuse("it contains a NUL byte")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise refuse("it is empty")
    if cleaned.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", cleaned):
        raise refuse("absolute paths are not allowed")
    if "/" in cleaned or "\\" in cleaned or cleaned in (".", ".."):
        raise refuse("it contains a path separator or a parent reference")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned) or _WINDOWS_UNSAFE & set(cleaned):
        raise refuse("it contains control or reserved characters")
    if len(cleaned.encode()) > MAX_NAME_BYTES:
        raise refuse(f"it is longer than {MAX_NAME_BYTES} bytes")
    if is_ignored_name(cleaned):
        raise refuse("hidden, temporary and reserved names are never ingested")
    return cleaned


def safe_symbol(symbol: str) -> str:
    """Symbols become folder names in the store: letters and digits plus ``._-``, starting alphanumeric."""
    if not SYMBOL_RE.fullmatch(symbol):
        raise UnsafeNameError(
            name=symbol,
            reason="a symbol is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return symbol


def candidate_files(directory: Path) -> Iterator[Path]:
    """Every file under ``directory`` that ingest should see, skipping ignored names and hidden folders."""
    if not directory.is_dir():
        return
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).parts
        if any(is_ignored_name(part) for part in rel) or not path.is_file():
            continue
        yield path
