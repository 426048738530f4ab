"""What ingest and validation say about a file: findings (errors/warnings) and per-symbol results.

The JSON shape of ``FileReport.to_json`` is a contract used by ``pipeline ingest --json``, the ledger,
the worker jobs and the UI:
``{"path", "status", "profile", "interval", "symbols": {SYM: {"rows", "start", "end", "output"}},
"errors": [{"check", "message", "rows"}], "warnings": [...]}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from trading_pipeline.statuses import FileStatus

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MAX_REPORTED_ROWS",
    "FileReport",
    "Finding",
    "SymbolResult",
    "describe_rows",
    "excerpt",
]

MAX_REPORTED_ROWS = 10
"""How many offending row numbers a finding lists; the count says how many there were in all."""
MAX_MESSAGE_CHARS = 600
"""A finding's message is cut here: a 50 MB one-line file must not become a 50 MB ledger row."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def excerpt(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` safe to store and show: control and bidi characters escaped, at most ``limit`` chars.

    Screens still escape their own markup (rich, HTML); this keeps what a file says from moving a
    cursor, ringing a bell, reordering a line or filling a screen.
    """
    text = text.replace("\n", "\\n").replace("\t", " ")
    text = _CONTROL.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


Severity = Literal["error", "warning"]


def describe_rows(rows: Sequence[int], count: int) -> str:
    """'rows 11-13' / 'rows 4, 9, 12 and 37 more' from 1-based data-row numbers."""
    if not rows:
        return ""
    parts: list[str] = []
    start = prev = rows[0]
    for row in [*rows[1:], None]:
        if row is not None and row == prev + 1:
            prev = row
            continue
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
        if row is not None:
            start = prev = row
    word = "row" if count == 1 else "rows"
    text = f"{word} {', '.join(parts)}"
    if count > len(rows):
        text += f" and {count - len(rows)} more"
    return text


@dataclass(frozen=True)
class Finding:
    """One failed check. ``rows`` are 1-based data-row numbers in file order (the header is not a row)."""

    check: str
    message: str
    severity: Severity = "error"
    rows: tuple[int, ...] = ()
    count: int = 0
    hint: str = ""
    what: str = field(default="", compare=False, repr=False)
    """The message without its rows and hint (findings of a file read in chunks are merged by it)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", excerpt(self.message))

    @classmethod
    def at_rows(
        cls,
        check: str,
        what: str,
        rows: Iterable[int],
        *,
        severity: Severity = "error",
        hint: str = "",
        count: int | None = None,
    ) -> Finding:
        """Build a finding whose message starts with the rows, e.g. 'rows 11-13: high below low'.

        ``count``: how many rows there are in all when ``rows`` lists only the first of them.
        """
        all_rows = list(rows)
        total = len(all_rows) if count is None else count
        shown = tuple(int(r) for r in all_rows[:MAX_REPORTED_ROWS])
        prefix = describe_rows(shown, total)
        message = f"{prefix}: {what}" if prefix else what
        if hint:
            message = f"{message}. {hint}"
        return cls(check, message, severity, shown, total, hint, what)

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message, "rows": list(self.rows), "count": self.count}

    @classmethod
    def from_json(cls, data: dict[str, Any], severity: Severity) -> Finding:
        return cls(
            data["check"], data["message"], severity, tuple(data.get("rows", ())), data.get("count", 0)
        )


@dataclass
class SymbolResult:
    """What was (or would be) stored for one symbol of a file."""

    rows: int
    start: datetime | None
    end: datetime | None
    output: str | None = None
    sessions: list[dict[str, Any]] | None = None
    """For a futures contract: coverage per CME Globex session (``futures.coverage``); else None."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rows": self.rows,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "output": self.output,
        }
        if self.sessions is not None:
            data["sessions"] = self.sessions
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SymbolResult:
        start, end = data.get("start"), data.get("end")
        return cls(
            rows=int(data["rows"]),
            start=datetime.fromisoformat(start) if start else None,
            end=datetime.fromisoformat(end) if end else None,
            output=data.get("output"),
            sessions=data.get("sessions"),
        )


@dataclass
class FileReport:
    """The outcome for one input file."""

    path: str
    status: FileStatus
    profile: str | None = None
    interval: str | None = None
    symbols: dict[str, SymbolResult] = field(default_factory=dict)
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    sha256: str | None = None
    source_id: str | None = None
    duplicate_of: str | None = None
    notes: dict[str, str] = field(default_factory=dict)
    """How the file was read (delimiter, time format, the zone of naive times and where it came from)."""

    @property
    def rejected(self) -> bool:
        return self.status == FileStatus.REJECTED

    @property
    def failed(self) -> bool:
        """Rejected, or never read because it vanished or may not be read: exit code 1 in the CLI."""
        return self.status in (FileStatus.REJECTED, FileStatus.UNREADABLE, FileStatus.VANISHED)

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.symbols.values())

    def add(self, finding: Finding) -> None:
        (self.errors if finding.severity == "error" else self.warnings).append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def reason(self) -> str:
        """One line a person reads first: the first error, else empty."""
        return self.errors[0].message if self.errors else ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "status": self.status,
            "profile": self.profile,
            "interval": self.interval,
            "symbols": {sym: res.to_json() for sym, res in self.symbols.items()},
            "errors": [f.to_json() for f in self.errors],
            "warnings": [f.to_json() for f in self.warnings],
            "sha256": self.sha256,
            "source": self.source_id,
        }
        if self.duplicate_of:
            data["duplicate_of"] = self.duplicate_of
        if self.notes:
            data["notes"] = self.notes
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileReport:
        return cls(
            path=data["path"],
            status=data["status"],
            profile=data.get("profile"),
            interval=data.get("interval"),
            symbols={k: SymbolResult.from_json(v) for k, v in data.get("symbols", {}).items()},
            errors=[Finding.from_json(f, "error") for f in data.get("errors", [])],
            warnings=[Finding.from_json(f, "warning") for f in data.get("warnings", [])],
            sha256=data.get("sha256"),
            source_id=data.get("source"),
            duplicate_of=data.get("duplicate_of"),
            notes=dict(data.get("notes") or {}),
        )
