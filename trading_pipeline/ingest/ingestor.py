"""The DataIngestor: one input file in, one FileReport out, canonical Parquet bars stored on success.

Steps: hash the bytes, recognise content already ingested in this source (``duplicate``), read the file
(``trading_pipeline.ingest.reader``), split it per symbol, validate each symbol, move close-labelled
bars to their open time, then either reject (nothing stored, the report recorded) or store each symbol
atomically and commit the ledger.

Guarantees:
* **Bad data never raises.** Unreadable or invalid files become ``rejected`` reports; only
  infrastructure failures (disk full, permissions, a broken ledger) raise, as ``StoreError``.
* **The ledger is the commit.** Parquet files are written (temp file, fsync, rename) before the ledger
  row says ``ingested``; a crash in between leaves files no ledger row points at, and a retry writes
  the same deterministic paths again.
* **Same path, new content = new version.** When a file's content changes and the new content is
  ingested, the older versions are marked ``superseded`` and their Parquet files deleted: the new
  version's bars replace the old version's bars wholesale. A rejected new version replaces nothing.
* **Same content = duplicate.** Bytes already ingested in this source (under any path) are not stored
  again; the report points ``duplicate_of`` at the original.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trading_pipeline.db import db_errors
from trading_pipeline.durable import file_sha256 as store_sha256
from trading_pipeline.errors import FileRefusedError, IngestError, StoreError, UsageError
from trading_pipeline.futures.checks import session_checks
from trading_pipeline.ingest.bounded import (
    Prepared,
    check_in_chunks,
    chunk_bytes_for,
    should_chunk,
    whole_read_bytes,
)
from trading_pipeline.ingest.chunked import NotChunkable, chunkable
from trading_pipeline.ingest.chunkedparquet import parquet_bytes
from trading_pipeline.ingest.limits import Limits, TooLargeToReadWhole, use_limits
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ledger import FileRecord, Ledger
from trading_pipeline.logs import get_logger
from trading_pipeline.report import FileReport, Finding, SymbolResult, excerpt
from trading_pipeline.safeio import Refusal, inspect_file, refusal_for_error
from trading_pipeline.schema import conform
from trading_pipeline.settings import Settings
from trading_pipeline.statuses import FileStatus
from trading_pipeline.store import BarStore
from trading_pipeline.validation import GAPS, MISSING_PRICES, TIME_RANGE, TIMESTAMPS, validate_bars
from trading_pipeline.validation.bars import (
    SYMBOL,
    is_safe_symbol,
    shift_to_open,
    split_by_symbol,
    utc_datetime,
)

__all__ = ["DataIngestor", "Progress", "file_sha256", "refusal_report"]

log = get_logger(__name__)

Progress = Callable[[str, int], None]
"""``(stage, percent)``; the RQ job writes it to ``job.meta`` for the UI."""

DUPLICATE = "duplicate"
READABLE = "readable"
INFRASTRUCTURE_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EIO, errno.EROFS, errno.ENOMEM}
)
OVERLAPPED_HASH_BYTES = 16 << 20
"""From this size on, hashing runs beside reading instead of before it (small files: hash first, so a
duplicate is recognised without parsing it)."""
REREPORTED_BY_READER = frozenset({MISSING_PRICES, TIMESTAMPS})
"""Checks whose findings repeat what the reader already said about unparseable values (they became nulls)."""


@dataclass
class _Checked:
    """A validated file: its report, and per symbol the canonical table to store or, for a file checked
    in chunks, the temp file that holds it."""

    report: FileReport
    tables: dict[str, pa.Table]
    prepared: dict[str, Prepared] = field(default_factory=dict)

    def discard(self) -> None:
        for item in self.prepared.values():
            if item.tmp is not None:
                item.tmp.unlink(missing_ok=True)
        self.prepared = {}


def file_sha256(path: Path) -> str:
    """Content hash of the file. A file that vanished, may not be read or is no regular file is
    ``FileRefusedError`` (recorded with its final status); any other OS error is infrastructure."""
    try:
        return store_sha256(path)
    except OSError as exc:
        refusal = refusal_for_error(exc)
        if refusal is not None:
            raise _refused(path, refusal) from exc
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _refused(path: Path | str, refusal: Refusal) -> FileRefusedError:
    return FileRefusedError(path=str(path), reason=refusal.reason, check=refusal.check, status=refusal.status)


def refusal_report(
    path: Path | str, exc: FileRefusedError, options: IngestOptions, sha: str = ""
) -> FileReport:
    """The report of a file that was not read: its final status and why, nothing else."""
    report = FileReport(
        path=str(path), status=FileStatus(exc.status), sha256=sha, source_id=options.source_id
    )
    report.add(Finding(exc.check, str(exc.fields["reason"])))
    return report


def _noop(_stage: str, _percent: int) -> None:
    return None


class DataIngestor:
    """Validates and stores input files. Cheap to construct; the ledger and store are opened lazily,
    so a dry run (``validate``) never creates anything on disk."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger | None = None,
        store: BarStore | None = None,
        *,
        chunk_bytes: int | None = None,
    ) -> None:
        """``chunk_bytes`` reads every text file in chunks of that size (tests place chunk boundaries
        with it); by default only files too large to read whole within ``ingest_memory_mb`` are."""
        self.settings = settings
        self._ledger = ledger
        self._store = store
        self._chunk_bytes = chunk_bytes

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            with _infrastructure("open the ledger"):
                self._ledger = Ledger(self.settings)
        return self._ledger

    def _with_defaults(self, options: IngestOptions | None) -> IngestOptions:
        """Options with the settings' fallback zone filled in (explicit options and vendor rules win)."""
        options = options or IngestOptions()
        if options.tz is None and options.source_id in self.settings.source_tz:
            options = replace(options, tz=self.settings.source_tz[options.source_id])
        if options.fallback_tz is None and self.settings.default_tz:
            options = replace(options, fallback_tz=self.settings.default_tz)
        return options

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(s.max_decompressed_mb, s.max_rows, s.max_columns, s.max_line_kb, s.max_zip_members)

    @staticmethod
    def _inspect(target: Path, options: IngestOptions) -> None:
        """Refuse, unopened, what must never be read (FIFOs, devices, links out of the folder)."""
        refusal = inspect_file(target, options.root)
        if refusal is not None:
            raise _refused(target, refusal)

    @property
    def store(self) -> BarStore:
        if self._store is None:
            self._store = BarStore(self.settings.processed_dir)
        return self._store

    def validate(
        self, path: Path | str, options: IngestOptions | None = None, *, progress: Progress | None = None
    ) -> FileReport:
        """Dry run: the report ``ingest`` would give (``validated`` or ``rejected``), writing nothing."""
        progress = progress or _noop
        target = _absolute(path)
        options = self._with_defaults(options)
        progress("hashing", 0)
        try:
            self._inspect(target, options)
            checked = self._check(target, file_sha256(target), options, progress, write=False)
        except FileRefusedError as exc:
            return refusal_report(target, exc, options)
        if checked.report.status == FileStatus.INGESTED:
            checked.report.status = FileStatus.VALIDATED
        progress("done", 100)
        return checked.report

    def ingest(
        self,
        path: Path | str,
        options: IngestOptions | None = None,
        *,
        progress: Progress | None = None,
        sha256: str | None = None,
    ) -> FileReport:
        """Validate and store one file; records the outcome in the ledger and returns it.

        ``sha256``: the content hash when the caller has just computed it (the RQ job verifies it before
        calling), which saves hashing the file a second time (about 0.1 s per 100 MB).
        """
        progress = progress or _noop
        target = _absolute(path)
        options = self._with_defaults(options)
        try:
            return self._ingest(target, options, progress, sha256)
        except FileRefusedError as exc:
            report = refusal_report(target, exc, options, sha256 or "")
            with _infrastructure("record the report in the ledger"):
                self.ledger.record_report(report)
            return report

    def _ingest(
        self, target: Path, options: IngestOptions, progress: Progress, sha256: str | None
    ) -> FileReport:
        self._inspect(target, options)
        try:
            stat = target.stat()
        except OSError as exc:
            refusal = refusal_for_error(exc)
            if refusal is None:
                raise StoreError(f"could not read {target}: {exc}") from exc
            raise _refused(target, refusal) from exc
        if sha256 is None and stat.st_size >= OVERLAPPED_HASH_BYTES:
            checked = self._check_while_hashing(target, options, progress)
            sha = str(checked.report.sha256)
        else:
            progress("hashing", 0)
            sha = sha256 or file_sha256(target)
            checked = None
        original = self._ingested(options.source_id, sha)
        if original is not None:
            if checked is not None:
                checked.discard()
            report = self._duplicate(target, sha, original, stat.st_size, stat.st_mtime)
            progress("done", 100)
            return report
        if checked is None:
            checked = self._check(target, sha, options, progress)
        if not checked.report.rejected:
            progress("writing", 70)
            self._store_tables(checked)
        progress("recording", 95)
        with _infrastructure("record the report in the ledger"):
            self.ledger.record_report(checked.report, size=stat.st_size, mtime=stat.st_mtime)
        progress("done", 100)
        log.debug("ingest", path=str(target), status=checked.report.status, rows=checked.report.total_rows)
        return checked.report

    # --- reading and validating ----------------------------------------------------------------
    def _check_while_hashing(self, path: Path, options: IngestOptions, progress: Progress) -> _Checked:
        """Read and validate while another thread hashes: both release the GIL, so on a big file the
        hash (about 0.2 s per 250 MB) costs almost nothing. A duplicate is still caught, after the read."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hash") as pool:
            digest = pool.submit(file_sha256, path)
            checked = self._check(path, "", options, progress)
            checked.report.sha256 = digest.result()
        return checked

    def _check(
        self, path: Path, sha: str, options: IngestOptions, progress: Progress, *, write: bool = True
    ) -> _Checked:
        report = FileReport(
            path=str(path), status=FileStatus.INGESTED, sha256=sha, source_id=options.source_id
        )
        progress("reading", 10)
        with use_limits(self.limits):
            chunk_bytes = self._chunked(path)
            if chunk_bytes:
                checked = self._check_in_chunks(path, options, report, chunk_bytes, write)
                if checked is not None:
                    return checked
            try:
                with use_limits(self._whole_read_limits()):
                    parsed = _read(path, options, report)
            except TooLargeToReadWhole:
                chunk_bytes = chunk_bytes_for(self.settings.ingest_memory_mb)
                checked = self._check_in_chunks(path, options, report, chunk_bytes, write)
                if checked is None:  # text that cannot be cut (UTF-16) and does not fit: say so
                    raise self.limits.too_big(str(path)) from None
                return checked
        if parsed is None:
            report.status = FileStatus.REJECTED
            return _Checked(report, {})
        progress("validating", 50)
        report.profile = parsed.profile
        report.notes = {k: excerpt(str(v), 200) for k, v in parsed.notes.items()}
        report.extend(parsed.findings)
        tables = self._validate(parsed, options, report)
        if report.errors:
            report.status = FileStatus.REJECTED
            tables = {}
        return _Checked(report, tables)

    def _whole_read_limits(self) -> Limits:
        """The limits of a whole-file read: compressed text that outgrows the memory budget once
        decompressed (a file that compresses unusually well, a bomb) is read in chunks instead."""
        budget = whole_read_bytes(self.settings.ingest_memory_mb)
        return replace(self.limits, whole_read_bytes=None if self._chunk_bytes else budget)

    def _chunked(self, path: Path) -> int | None:
        """The chunk size when ``path`` is text to read in chunks; None to read it whole."""
        try:
            compression, text = chunkable(path)
            size = path.stat().st_size
        except (IngestError, OSError):
            return None  # the whole-file reader says precisely what is wrong
        if not text:
            return self._parquet_chunks(path)
        if self._chunk_bytes:
            return self._chunk_bytes
        memory_mb = self.settings.ingest_memory_mb
        return chunk_bytes_for(memory_mb) if should_chunk(size, compression is not None, memory_mb) else None

    def _parquet_chunks(self, path: Path) -> int | None:
        """The chunk size when ``path`` is Parquet too large to read whole; None otherwise."""
        size = parquet_bytes(path)
        if size is None:
            return None
        memory_mb = self.settings.ingest_memory_mb
        if self._chunk_bytes:
            return self._chunk_bytes
        return chunk_bytes_for(memory_mb) if size > whole_read_bytes(memory_mb) else None

    def _check_in_chunks(
        self, path: Path, options: IngestOptions, report: FileReport, chunk_bytes: int, write: bool
    ) -> _Checked | None:
        """Check (and with ``write``, prepare the outputs of) a file read in chunks; None when its text
        cannot be cut into chunks (UTF-16), so it is read whole."""
        out_dir = self.store.root / options.source_id if write else None
        try:
            with _infrastructure("write the processed bars"):
                prepared = check_in_chunks(
                    path,
                    options,
                    report,
                    memory_mb=self.settings.ingest_memory_mb,
                    chunk_bytes=chunk_bytes,
                    out_dir=out_dir,
                    whole_allowed=self._chunk_bytes is not None,
                    short_run_min=self.settings.session_short_run_min,
                )
        except NotChunkable:
            return None
        except IngestError as exc:
            report.add(Finding(exc.check, str(exc.fields.get("reason") or exc.message)))
            prepared = {}
        checked = _Checked(report, {}, prepared)
        report.symbols = {name: item.result for name, item in prepared.items()}
        if report.errors:
            report.status = FileStatus.REJECTED
            checked.discard()
        return checked

    def _validate(
        self, parsed: ParsedFile, options: IngestOptions, report: FileReport
    ) -> dict[str, pa.Table]:
        """Validate each symbol's bars; fills ``report`` and returns the tables to store."""
        parts, problems = split_by_symbol(parsed.table, parsed.row_numbers, parsed.symbol, options.symbol)
        said = {f.check for f in parsed.findings}
        report.extend(p for p in problems if p.check not in said)  # the reader may have said it already
        label = options.bar_label or parsed.bar_label
        several = len(parts) > 1
        tables: dict[str, pa.Table] = {}
        intervals: set[str] = set()
        skip = REREPORTED_BY_READER if parsed.has_errors else frozenset()
        if TIME_RANGE in said:  # the reader named the likely cause (an epoch unit) already
            skip |= {TIME_RANGE}
        for part in parts:
            findings, result, interval, sessions = self._validate_symbol(
                part.symbol,
                part.table,
                part.rows,
                label,
                self.settings.session_short_run_min,
                label_given=options.bar_label is not None,
            )
            report.extend(
                _prefixed(f, part.symbol) if several else f for f in findings if f.check not in skip
            )
            if interval:
                intervals.add(interval)
            if result is not None:
                tables[part.symbol] = result
                report.symbols[part.symbol] = _summary(result)
                report.symbols[part.symbol].sessions = sessions
        report.interval = ", ".join(sorted(intervals)) or None
        return tables

    @staticmethod
    def _validate_symbol(
        symbol: str,
        table: pa.Table,
        rows: np.ndarray | None,
        label: str,
        short_run_min: float = 5.0,
        label_given: bool = False,
    ) -> tuple[list[Finding], pa.Table | None, str | None, list[dict[str, Any]] | None]:
        """Findings, the table to store (None when rejected), the interval, and for a futures contract
        its sessions (``futures.checks``)."""
        if not is_safe_symbol(symbol):  # it becomes a folder name in the store
            what = f"unusable symbol {symbol!r}: use 1-64 letters, digits, '.', '_' or '-'"
            return [Finding.at_rows(SYMBOL, what, (), hint="Pass --symbol")], None, None, None
        result = validate_bars(table, rows)
        findings = list(result.findings)
        if result.has_errors:
            return findings, None, result.interval, None
        stored = result.table
        if label == "close":
            stored, note = shift_to_open(stored, result.interval_ns)
            findings.append(note)
            if note.severity == "error":
                return findings, None, result.interval, None
        futures = session_checks(
            symbol, stored, result.row_numbers, result.interval_ns, short_run_min, label_given=label_given
        )
        if futures.ran:  # the session calendar explains every gap the calendar-blind check saw
            findings = [f for f in findings if f.check != GAPS]
        findings += futures.findings
        if any(f.severity == "error" for f in futures.findings):
            return findings, None, result.interval, futures.sessions
        return findings, conform(stored), result.interval, futures.sessions

    # --- storing ---------------------------------------------------------------------------------
    def _store_tables(self, checked: _Checked) -> None:
        """Write every symbol, supersede older versions of the path, delete their files."""
        report = checked.report
        assert report.source_id is not None and report.sha256 is not None
        written: list[Path] = []
        with _infrastructure("write the processed bars", cleanup=written):
            for symbol, table in checked.tables.items():
                target = self.store.path_for(report.source_id, symbol, report.sha256)
                written.append(self.store.write(table, target))
                report.symbols[symbol].output = str(target)
            for symbol, item in checked.prepared.items():
                target = self.store.path_for(report.source_id, symbol, report.sha256)
                if item.tmp is not None and item.tmp.exists():
                    written.append(self.store.publish(item.tmp, target))
                    report.symbols[symbol].output = str(target)
        with _infrastructure("supersede older versions in the ledger"):
            old = self.ledger.supersede(report.source_id, report.path, report.sha256)
            # Two workers racing on the same bytes under two names both store the same file: never
            # delete an output that another ingested record still points at.
            live = {o.output for o in self.ledger.outputs(report.source_id)} if old else set()
        keep = live | {str(p) for p in written}
        for output in old:
            if output.output and output.output not in keep:
                with _infrastructure("delete a superseded output"):
                    self.store.remove(Path(output.output))

    def _ingested(self, source_id: str, sha: str) -> FileRecord | None:
        with _infrastructure("read the ledger"):
            return self.ledger.find_ingested(source_id, sha)

    def _duplicate(self, path: Path, sha: str, original: FileRecord, size: int, mtime: float) -> FileReport:
        """Nothing stored; the report points at the original and lists where its bars are."""
        stored = FileReport.from_json(original.report) if original.report else None
        report = FileReport(
            path=str(path),
            status=FileStatus.DUPLICATE,
            profile=original.profile,
            interval=original.interval,
            symbols=stored.symbols if stored else {},
            sha256=sha,
            source_id=original.source_id,
            duplicate_of=original.path,
        )
        same_path = original.path == str(path)
        what = "already ingested" if same_path else f"same content as {original.path}, already ingested"
        hint = "To ingest it again with other options, remove the original from the ledger first"
        report.add(
            Finding.at_rows(DUPLICATE, f"{what}; nothing stored again", (), severity="warning", hint=hint)
        )
        if not same_path:  # recording it at its own path would overwrite the original's row
            with _infrastructure("record the report in the ledger"):
                self.ledger.record_report(report, size=size, mtime=mtime)
        return report


def _read(path: Path, options: IngestOptions, report: FileReport) -> ParsedFile | None:
    """The reader's view of the file, or None with an error finding when the file is unreadable."""
    from trading_pipeline.ingest.reader import read_file

    try:
        return read_file(path, options)
    except FileRefusedError:
        raise
    except IngestError as exc:
        report.add(Finding(exc.check, str(exc.fields.get("reason") or exc.message)))
    except (MemoryError, UsageError, TooLargeToReadWhole):  # a wrong option is not bad data; nor is size
        raise
    except OSError as exc:
        refusal = refusal_for_error(exc)
        if refusal is not None:  # deleted, made unreadable or swapped for a FIFO while being read
            raise _refused(path, refusal) from exc
        if exc.errno in INFRASTRUCTURE_ERRNOS:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        report.add(Finding(READABLE, f"the file could not be read: {exc}"))
    except Exception as exc:
        log.warning("reader failed", path=str(path), error=f"{type(exc).__name__}: {exc}")
        log.debug("reader failure details", exc_info=True)
        report.add(Finding(READABLE, f"the file could not be read ({type(exc).__name__}: {exc})"))
    return None


def _summary(table: pa.Table) -> SymbolResult:
    bounds = pc.min_max(table.column("datetime").cast(pa.int64()))
    start, end = bounds["min"].as_py(), bounds["max"].as_py()
    return SymbolResult(
        rows=table.num_rows,
        start=utc_datetime(start) if start is not None else None,
        end=utc_datetime(end) if end is not None else None,
    )


def _prefixed(finding: Finding, symbol: str) -> Finding:
    return replace(finding, message=f"{symbol}: {finding.message}")


def _absolute(path: Path | str) -> Path:
    """Absolute without resolving symlinks: the ledger keys by the path the watcher saw."""
    return Path(os.path.abspath(path))  # noqa: PTH100 - resolve() would follow symlinks


@contextmanager
def _infrastructure(doing: str, cleanup: list[Path] | None = None) -> Iterator[None]:
    """Turn OS and database failures into StoreError; remove partial outputs of this attempt first."""
    infrastructure: tuple[type[Exception], ...] = (OSError, *db_errors())
    try:
        yield
    except infrastructure as exc:
        for path in cleanup or []:
            path.unlink(missing_ok=True)
        raise StoreError(f"could not {doing}: {exc}") from exc
