"""Which paths the watcher may ever enqueue: supported data files, never temp/hidden/metadata files.

We filter by hand instead of using watchdog's ``PatternMatchingEventHandler``: in watchdog 7 ``*.csv``
silently matches nothing (``**/*.csv`` is needed) and the default ``ignore_policy`` drops the very
``x.csv.part -> x.csv`` rename that completes an upload (LIBRARY_FACTS 2). One plain function is easier
to test and reason about than two traps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = [
    "DATA_SUFFIXES",
    "TEMP_SUFFIXES",
    "is_candidate",
    "is_candidate_name",
    "is_under",
    "iter_candidates",
]

DATA_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".gz", ".zst", ".parquet", ".pq", ".zip", ".dbn"})
"""Everything DataIngestor reads; ``x.csv.gz`` counts by its last suffix."""

TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".swp")
"""Names writers use before the final rename (browsers, rsync, editors, our own UI)."""

RESERVED_NAMES = frozenset({"metadata.json"})


def is_candidate_name(name: str) -> bool:
    """True when a file with this name is a finished data file (once its writer is done)."""
    if not name or name.startswith((".", "~")) or name in RESERVED_NAMES:
        return False
    lower = name.lower()
    if lower.endswith(TEMP_SUFFIXES):
        return False
    dot = lower.rfind(".")
    return dot > 0 and lower[dot:] in DATA_SUFFIXES


def is_candidate(path: Path, root: Path | None = None) -> bool:
    """A candidate name, and no hidden folder between ``root`` and it (``.staging/x.csv`` waits)."""
    if not is_candidate_name(path.name):
        return False
    parts = path.parent.relative_to(root).parts if root is not None and is_under(path, root) else ()
    return not any(part.startswith((".", "~")) for part in parts)


def is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def iter_candidates(root: Path, excluded: Iterable[Path] = ()) -> Iterator[Path]:
    """Every candidate file under ``root`` (recursive; hidden folders and ``excluded`` trees skipped).

    ``os.scandir`` via ``Path.iterdir`` keeps this to one ``getdents`` per folder; the caller stats.
    """
    skip = set(excluded)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:  # vanished or unreadable folder: the next reconcile tries again
            continue
        for entry in entries:
            name = entry.name
            if entry.is_dir() and not entry.is_symlink():
                if not name.startswith((".", "~")) and entry not in skip:
                    stack.append(entry)
            elif is_candidate_name(name):
                yield entry
