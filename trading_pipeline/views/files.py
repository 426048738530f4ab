"""The file listing every screen shows: one page of the ledger with the counts by status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FILE_FINAL, FileStatus

__all__ = [
    "FileListing",
    "UploadedState",
    "file_listing",
    "latest_rejections",
    "reason_or_warning",
    "short_path",
    "status_counts",
    "upload_states",
]


@dataclass(frozen=True)
class FileListing:
    """One page of files, newest first, and what the whole listing holds."""

    records: list[FileRecord]
    total: int
    """Rows matching the filters (the page may show fewer)."""
    offset: int
    counts: dict[FileStatus, int]
    """Rows per status for the source filter (statuses with none are left out)."""

    @property
    def warned(self) -> int:
        """Files on this page whose report holds warnings."""
        return sum(1 for r in self.records if r.warning_count)

    @property
    def complete(self) -> bool:
        return self.offset == 0 and len(self.records) >= self.total

    def summary(self) -> str:
        """``3 ingested, 1 rejected`` (sorted by status), or ``no files yet``."""
        return ", ".join(f"{n:,} {s}" for s, n in sorted(self.counts.items())) or "no files yet"


def file_listing(
    settings: Settings,
    *,
    source: str | None = None,
    statuses: Iterable[str] | None = None,
    limit: int | None = 50,
    offset: int = 0,
    current: bool = True,
) -> FileListing:
    """A page of the ledger (one query for the rows and their symbols) with the counts by status.

    ``current``: each path's current version only; ``limit=None``: every matching row."""
    wanted = list(statuses) if statuses else None
    ledger = Ledger(settings)
    counts = ledger.count_by_status(source, current=current)
    total = sum(n for status, n in counts.items() if wanted is None or status in wanted)
    page = ledger.page(source, wanted, limit=limit, offset=offset, current=current, total=total)
    return FileListing(page.records, page.total, page.offset, counts)


def status_counts(settings: Settings, source: str | None = None) -> dict[FileStatus, int]:
    """Current versions per status, for the source or for all."""
    return Ledger(settings).count_by_status(source, current=True)


def latest_rejections(settings: Settings, limit: int = 10, source: str | None = None) -> list[FileRecord]:
    """The newest rejected files with their reasons."""
    return Ledger(settings).page(source, FileStatus.REJECTED, limit=limit).records


def short_path(path: str, data_dir: Path) -> str:
    """The path relative to the data folder when it lies inside it."""
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return path


def reason_or_warning(reason: str, first_warning: str, warnings: int) -> str:
    """The reason, else ``warning: <first> (+N more)``: a doubt is never hidden. Plain text (unescaped)."""
    if reason or not warnings:
        return reason
    more = f" (+{warnings - 1} more)" if warnings > 1 else ""
    return f"warning: {first_warning}{more}"


@dataclass(frozen=True)
class UploadedState:
    """Where one uploaded file is: its ledger record once the daemon has seen it, else only saved."""

    name: str
    record: FileRecord | None

    @property
    def status(self) -> str:
        return str(self.record.status) if self.record else "saved"

    @property
    def final(self) -> bool:
        return self.record is not None and self.record.status in FILE_FINAL


def upload_states(settings: Settings, session_id: str, names: Iterable[str]) -> list[UploadedState]:
    """Each named file of an upload session with its current ledger record (one query for all)."""
    current = {Path(r.path).name: r for r in Ledger(settings).files(session_id, current=True)}
    return [UploadedState(name, current.get(name)) for name in names]
