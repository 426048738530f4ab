"""Which paths the watcher may ever enqueue: supported data files, never temp/hidden/metadata files.

We filter by hand instead of using watchdog's ``PatternMatchingEventHandler``: in watchdog 7 ``*.csv``
silently matches nothing (``**/*.csv`` is needed) and the default ``ignore_policy`` drops the very
``x.csv.part -> x.csv`` rename that completes an upload (both checked against watchdog 7.1). The name
rule itself is
shared with the CLI and the sources (``trading_pipeline.names``); this module adds what only
the watcher needs.
"""

from __future__ import annotations

from pathlib import Path

from trading_pipeline.names import DATA_SUFFIXES, IGNORED_SUFFIXES, is_candidate_name, iter_candidates

__all__ = [
    "DATA_SUFFIXES",
    "IGNORED_SUFFIXES",
    "is_candidate",
    "is_candidate_name",
    "is_under",
    "iter_candidates",
]


def is_candidate(path: Path, root: Path | None = None) -> bool:
    """A candidate name, and no hidden folder between ``root`` and it (``.staging/x.csv`` waits)."""
    if not is_candidate_name(path.name):
        return False
    parts = path.parent.relative_to(root).parts if root is not None and is_under(path, root) else ()
    return not any(part.startswith((".", "~")) for part in parts)


def is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
