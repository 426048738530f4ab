"""Names that become paths or job ids, and which files count as bar files.

Everything a person or a browser supplies passes through here before it touches the disk, so a name like
``../../etc/passwd`` or ``MES\x00.csv`` can never escape a session folder or hide from the watcher. The
daemon, ``pipeline ingest DIR`` and the sources all use the same rule for which files are data, so a
file the CLI ingests is a file the watcher would have ingested. Kept free of heavy imports: every
process loads it at start-up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from trading_pipeline.errors import UnsafeNameError, UsageError

__all__ = [
    "DATA_SUFFIXES",
    "SESSION_ID_RE",
    "SOURCE_ID_RE",
    "SYMBOL_RE",
    "candidate_files",
    "check_session_id",
    "check_source_id",
    "is_candidate_name",
    "is_ignored_name",
    "iter_candidates",
    "safe_filename",
    "safe_symbol",
]

SOURCE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""RQ job ids allow only these characters, and a source id is part of every ingest job id."""
SESSION_ID_RE = re.compile(r"upload_\d{8}T\d{6}_[0-9a-f]{8,32}")
SYMBOL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_NAME_BYTES = 255
_WINDOWS_UNSAFE = set('<>:"|?*\\/')
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".swp")
"""Names writers use before the final rename (browsers, rsync, editors, our own upload)."""
RESERVED_NAMES = frozenset({"metadata.json"})
DATA_SUFFIXES = frozenset(
    {
        ".csv", ".txt", ".tsv", ".gz", ".zst", ".parquet", ".pq", ".zip", ".dbn",
        ".json", ".ndjson", ".jsonl", ".xlsx", ".xlsm", ".xls", ".ods",
    }
)  # fmt: skip
"""Everything DataIngestor reads; ``x.csv.gz`` counts by its last suffix."""


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


def is_candidate_name(name: str) -> bool:
    """True when a file with this name is a data file (once its writer is done with it)."""
    if is_ignored_name(name):
        return False
    lower = name.lower()
    dot = lower.rfind(".")
    return dot > 0 and lower[dot:] in DATA_SUFFIXES


def iter_candidates(root: Path, excluded: Iterable[Path] = ()) -> Iterator[Path]:
    """Every data file under ``root`` (recursive; hidden folders and ``excluded`` trees skipped).

    ``Path.iterdir`` uses one ``getdents`` per folder; the caller stats what it needs.
    """
    skip = set(excluded)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:  # vanished or unreadable folder: the next scan tries again
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if not entry.name.startswith((".", "~")) and entry not in skip:
                    stack.append(entry)
            elif is_candidate_name(entry.name):
                yield entry


def candidate_files(directory: Path) -> list[Path]:
    """The data files under ``directory`` in a stable order (empty when it is not a folder)."""
    return sorted(iter_candidates(directory)) if directory.is_dir() else []
