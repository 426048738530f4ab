"""Findings of a file read in chunks, merged into what one pass over the whole file would have said.

Every chunk reports its own rows; the file's report wants one finding per kind of problem, with the
total count and the first rows. Two findings are the same kind when check, severity, hint and the
message's wording match once the details that vary from chunk to chunk are blanked out (numbers,
quoted examples, parenthesised asides): ``column `close` holds text ('x')`` in chunk 1 and
``column `close` holds text ('y')`` in chunk 7 are one finding, worded as the first one was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from trading_pipeline.report import MAX_REPORTED_ROWS, Finding, Severity

__all__ = ["Tally", "smallest_rows"]

_VARYING = re.compile(r"\([^()]*\)|'[^']*'|\d+")


def _kind(finding: Finding) -> tuple[str, str, str, str]:
    if not finding.what:  # not about rows: only the very same message is the same finding
        return (finding.check, finding.severity, finding.hint, finding.message)
    return (finding.check, finding.severity, finding.hint, _VARYING.sub("#", finding.what))


def smallest_rows(current: tuple[int, ...], more: Iterable[int]) -> tuple[int, ...]:
    """The first ``MAX_REPORTED_ROWS`` of two lists of file rows, in file order."""
    merged = np.unique(np.fromiter((*current, *more), dtype=np.int64))
    return tuple(int(r) for r in merged[:MAX_REPORTED_ROWS])


@dataclass
class _Entry:
    first: Finding
    rows: tuple[int, ...] = ()
    count: int = 0


@dataclass
class Tally:
    """Merges findings kind by kind, keeping the order in which kinds first appeared."""

    entries: dict[tuple[str, str, str, str], _Entry] = field(default_factory=dict)

    def add(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            key = _kind(finding)
            entry = self.entries.get(key)
            if entry is None:
                self.entries[key] = _Entry(finding, finding.rows, finding.count)
            elif finding.what:
                entry.rows = smallest_rows(entry.rows, finding.rows)
                entry.count += finding.count

    def add_rows(
        self, check: str, what: str, rows: np.ndarray, *, severity: Severity = "error", hint: str = ""
    ) -> None:
        """Rows found in one chunk (any order, any number: only the first few are kept)."""
        if rows.size:
            shown = np.sort(rows)[:MAX_REPORTED_ROWS]
            found = Finding.at_rows(check, what, shown, severity=severity, hint=hint, count=int(rows.size))
            self.add([found])

    def checks(self) -> set[str]:
        return {key[0] for key in self.entries}

    def findings(self, prefix: str = "", skip: frozenset[str] = frozenset()) -> list[Finding]:
        """The merged findings; ``prefix`` starts each message (a symbol's name in a multi-symbol file)."""
        out = []
        for entry in self.entries.values():
            first = entry.first
            if first.check in skip:
                continue
            if first.what:
                found = Finding.at_rows(
                    first.check,
                    first.what,
                    entry.rows,
                    severity=first.severity,
                    hint=first.hint,
                    count=entry.count,
                )
            else:
                found = first
            out.append(replace(found, message=prefix + found.message) if prefix else found)
        return out
