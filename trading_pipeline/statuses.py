"""Every status the system records, defined once, with the groups the code asks about.

Values are what the ledger, run.json, ``--json`` output and job meta store, so they never change;
new members may be added. ``tone`` says how any screen should present a status (the CLI maps tones to
colours, the UI to badges), so the CLI and the UI can never disagree.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FILE_FINAL",
    "FILE_IN_FLIGHT",
    "FILE_NOT_READ",
    "FILE_REOPENABLE",
    "FILE_UNFINISHED",
    "RUN_ENDED",
    "STAGE_COMPLETED",
    "STAGE_ENDED",
    "STAGE_OPEN",
    "SYMBOL_ENDED",
    "FileStatus",
    "RunStatus",
    "StageStatus",
    "SymbolStatus",
    "Tone",
    "tone",
]


class FileStatus(StrEnum):
    """Where one version of one input file is (a ledger row, or a `pipeline validate` report)."""

    PENDING = "pending"
    """Seen; not queued yet, or waiting (Redis down, a fix needed, the last retry failed)."""
    QUEUED = "queued"
    INGESTING = "ingesting"
    INGESTED = "ingested"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    """The same bytes are already stored in this source under another name."""
    SUPERSEDED = "superseded"
    """A newer version of the same path replaced this one's bars."""
    VALIDATED = "validated"
    """`pipeline validate` only: every check ran, nothing was stored."""
    UNREADABLE = "unreadable"
    """The system may not read it (permissions, an I/O error); fixed, it is picked up again."""
    VANISHED = "vanished"
    """Deleted, moved or replaced before it was read; dropped again, it is picked up again."""
    IGNORED = "ignored"
    """Never opened: not a regular file (FIFO, device, socket) or a link leading out of its folder."""


FILE_FINAL = frozenset(
    {
        FileStatus.INGESTED,
        FileStatus.REJECTED,
        FileStatus.DUPLICATE,
        FileStatus.SUPERSEDED,
        FileStatus.UNREADABLE,
        FileStatus.VANISHED,
        FileStatus.IGNORED,
    }
)
"""Statuses after which a file needs no more work."""
FILE_REOPENABLE = frozenset({FileStatus.UNREADABLE, FileStatus.VANISHED})
"""Final while the file stays as it is; when the same bytes are back and readable they are queued again."""
FILE_NOT_READ = frozenset({FileStatus.UNREADABLE, FileStatus.VANISHED, FileStatus.IGNORED})
"""Final statuses of a file whose content was never read (no report of its bars exists)."""
FILE_IN_FLIGHT = frozenset({FileStatus.QUEUED, FileStatus.INGESTING})
"""A job owns the row: queued in Redis or running on a worker."""
FILE_UNFINISHED = frozenset({FileStatus.PENDING, *FILE_IN_FLIGHT})
"""Not final yet, whoever holds it."""


class StageStatus(StrEnum):
    """One stage of one symbol in a research run."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    REUSED = "reused"
    """A rerun linked this stage's output from the run it repeats."""
    FAILED = "failed"
    CANCELED = "canceled"
    """An earlier stage of the symbol failed (spelled as RQ spells its own ``canceled``)."""

    @classmethod
    def _missing_(cls, value: object) -> StageStatus | None:
        return cls.CANCELED if value == "cancelled" else None  # run.json written before 0.2


STAGE_COMPLETED = frozenset({StageStatus.DONE, StageStatus.REUSED})
"""The stage's output exists."""
STAGE_OPEN = frozenset({StageStatus.QUEUED, StageStatus.RUNNING})
"""Handed to a worker (or the inline loop) and not ended."""
STAGE_ENDED = frozenset({*STAGE_COMPLETED, StageStatus.FAILED, StageStatus.CANCELED})


class SymbolStatus(StrEnum):
    """One symbol of a research run: its stages as a whole."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


SYMBOL_ENDED = frozenset({SymbolStatus.DONE, SymbolStatus.FAILED})


class RunStatus(StrEnum):
    """A research run as a whole."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


RUN_ENDED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED})


class Tone(StrEnum):
    """How a screen presents a status."""

    GOOD = "good"
    BAD = "bad"
    BUSY = "busy"
    WAITING = "waiting"
    QUIET = "quiet"
    """Nothing wrong, nothing to do (superseded, canceled, reused)."""
    INFO = "info"


_TONES: dict[str, Tone] = {
    FileStatus.INGESTED: Tone.GOOD,
    FileStatus.VALIDATED: Tone.GOOD,
    FileStatus.REJECTED: Tone.BAD,
    FileStatus.DUPLICATE: Tone.INFO,
    FileStatus.SUPERSEDED: Tone.QUIET,
    FileStatus.INGESTING: Tone.BUSY,
    FileStatus.QUEUED: Tone.WAITING,
    FileStatus.PENDING: Tone.WAITING,
    FileStatus.UNREADABLE: Tone.BAD,
    FileStatus.VANISHED: Tone.QUIET,
    FileStatus.IGNORED: Tone.QUIET,
    StageStatus.RUNNING: Tone.BUSY,
    StageStatus.DONE: Tone.GOOD,
    StageStatus.REUSED: Tone.QUIET,
    StageStatus.FAILED: Tone.BAD,
    StageStatus.CANCELED: Tone.QUIET,
    RunStatus.SUCCEEDED: Tone.GOOD,
}


def tone(status: str) -> Tone:
    """The tone of any file, stage, symbol or run status; unknown values are ``INFO``."""
    return _TONES.get(status, Tone.INFO)
