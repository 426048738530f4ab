"""Ingesting a source's files in this process (the CLI's ``add-dir`` and ``upload``), without the daemon.

Ingest is idempotent through the ledger, so running this while the daemon also picks the files up is
safe: whichever comes second gets ``duplicate`` and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from trading_pipeline.ledger import Ledger
from trading_pipeline.report import FileReport
from trading_pipeline.sources.stored import StoredDataSource
from trading_pipeline.statuses import FILE_FINAL

__all__ = ["ingest_source_files", "unfinished_files"]

OnFile = Callable[[Path, FileReport], None]


def unfinished_files(source: StoredDataSource) -> list[Path]:
    """Files on disk the ledger has not finished at their current size and mtime (no hashing needed)."""
    ledger = Ledger(source.settings)
    done = {(r.path, r.size, r.mtime) for r in ledger.files(source.source_id, FILE_FINAL)}
    pending = []
    for path in source.files_on_disk():
        try:
            stat = path.stat()
        except OSError:  # a broken link: the ingestor records it as ignored
            stat = path.lstat()
        if (str(path), stat.st_size, stat.st_mtime) not in done:
            pending.append(path)
    return pending


def ingest_source_files(
    source: StoredDataSource, files: list[Path] | None = None, *, on_file: OnFile | None = None
) -> list[FileReport]:
    """Ingest ``files`` (default: the unfinished ones) with the source's options; one report each."""
    from trading_pipeline.ingest.ingestor import (
        DataIngestor,  # late: the ingestor itself imports trading_pipeline.sources
    )

    ingestor = DataIngestor(source.settings)
    folder = source.watch_directory()
    reports = []
    for path in unfinished_files(source) if files is None else files:
        options = source.options_for(path)
        if folder is not None and options.root is None:  # a link out of the folder is never followed
            options = replace(options, root=str(folder))
        report = ingestor.ingest(path, options)
        reports.append(report)
        if on_file is not None:
            on_file(path, report)
    return reports
