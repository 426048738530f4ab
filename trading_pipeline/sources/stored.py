"""Sources whose bars live in the processed store: metadata from the ledger, bars from Parquet.

Ingest records, per input file, the symbols, rows and time range it stored (the ledger's ``outputs``).
Listing a source therefore reads a few ledger rows and Parquet footers, never the bar data, and the
numbers are per symbol rather than "the first file's range for all symbols".
"""

from __future__ import annotations

import re
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.errors import SourceError, StoreError, UsageError
from trading_pipeline.ingest.layout import layout_from_json, with_folder_layout
from trading_pipeline.ingest.options import BarLabel, IngestOptions
from trading_pipeline.ledger import FileRecord, Ledger, OutputRecord
from trading_pipeline.names import candidate_files, safe_symbol
from trading_pipeline.schema import BAR_COLUMNS
from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import DataSource, DataSourceMetadata, InputFile, SymbolInfo
from trading_pipeline.sources.merge import merge_bars
from trading_pipeline.statuses import FILE_UNFINISHED, FileStatus
from trading_pipeline.store import BarStore

__all__ = ["StoredDataSource", "SymbolNotFoundError", "source_options"]

LOAD_ATTEMPTS = 3


class SymbolNotFoundError(SourceError):
    template = "no bars for {symbol!r} in source {source_id!r}; available: {available}"


def source_options(
    source_id: str,
    *,
    tz: str | None = None,
    bar_label: str | None = None,
    symbol_pattern: str | None = None,
    symbol: str | None = None,
    layout: dict[str, Any] | None = None,
    layout_path: str | None = None,
) -> IngestOptions:
    """Checked ingest settings of a source: a typo must fail at registration, not at 3 a.m. in a worker.

    ``layout`` is a declared layout's JSON (``sources add-dir --layout``), stored with the source so the
    file it came from may move; ``layout_path`` only says where it came from.
    """
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise UsageError(f"unknown time zone {tz!r}: use an IANA name such as America/Chicago") from exc
    if bar_label not in (None, "open", "close"):
        raise UsageError(f"bar label must be 'open' or 'close', not {bar_label!r}")
    if symbol_pattern is not None:
        try:
            compiled = re.compile(symbol_pattern)
        except re.error as exc:
            raise UsageError(f"symbol pattern {symbol_pattern!r} is not a valid regex: {exc}") from exc
        if "symbol" not in compiled.groupindex:
            raise UsageError(f"symbol pattern {symbol_pattern!r} needs a named group (?P<symbol>...)")
    if symbol is not None:
        safe_symbol(symbol)
    if layout:
        layout = layout_from_json(layout, layout_path or f"of source {source_id}").to_json()
    return IngestOptions(
        source_id=source_id,
        tz=tz,
        bar_label=cast("BarLabel | None", bar_label),
        symbol_pattern=symbol_pattern,
        symbol=symbol,
        layout=layout or None,
        layout_path=layout_path if layout else None,
    )


class StoredDataSource(DataSource):
    """Shared behaviour of folder and upload sources: everything comes from the ledger and the store."""

    def __init__(self, source_id: str, *, options: IngestOptions, settings: Settings | None = None) -> None:
        super().__init__(source_id, settings=settings)
        self.options = options

    def bind(self, settings: Settings) -> None:
        super().bind(settings)
        self.__dict__.pop("ledger", None)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.settings)

    def use_ledger(self, ledger: Ledger) -> None:
        """Share one opened ledger between many sources (listing 50 sources opens it once)."""
        self.__dict__["ledger"] = ledger

    def ingest_options(self) -> IngestOptions:
        return self.options

    def location_errors(self) -> list[str]:
        """Problems with where the source's files live (subclasses check their folder)."""
        return []

    def files_on_disk(self) -> list[Path]:
        """Files ingest would consider in the watched folder (hidden and temporary names skipped)."""
        folder = self.watch_directory()
        return list(candidate_files(folder)) if folder else []

    def options_for(self, path: Path) -> IngestOptions:
        """Ingest options for one file of this source: a ``layout.toml`` beside it applies."""
        folder = self.watch_directory()
        return with_folder_layout(self.options, path, folder) if folder else self.options

    # --- metadata -----------------------------------------------------------------------------
    def get_metadata(self) -> DataSourceMetadata:
        outputs = self.ledger.outputs(self.source_id)
        # Only the rows the summary needs, not every row of the source: a source with 20,000 queued
        # files is listed as fast as one with 20 (the counts come from one GROUP BY).
        ingested = self.ledger.files(self.source_id, FileStatus.INGESTED)
        notable = self.ledger.files(self.source_id, NOTABLE, current=True)
        counts = self.ledger.count_by_status(self.source_id)
        info = _symbol_info(outputs)
        problems, warnings = _problems(notable)
        errors = self.location_errors() + problems
        starts = [i.start for i in info.values() if i.start]
        ends = [i.end for i in info.values() if i.end]
        watch = self.watch_directory()
        return DataSourceMetadata(
            source_id=self.source_id,
            source_type=self.source_type,
            symbols=sorted(info),
            date_range=(str(_iso_min(starts)), str(_iso_max(ends))) if starts and ends else None,
            row_count=sum(i.rows for i in info.values()),
            file_size_mb=sum(f.size for f in ingested) / (1024 * 1024),
            created_at=self.created_at,
            columns=self._columns(outputs),
            validated=not errors,
            validation_errors=errors,
            symbol_info=info,
            location=str(watch) if watch else "",
            options=self.to_config(),
            file_count=len(ingested),
            pending_files=sum(n for status, n in counts.items() if status in FILE_UNFINISHED),
            warnings=warnings,
        )

    def _columns(self, outputs: list[OutputRecord]) -> list[str]:
        """Union of stored columns, read from Parquet footers only (a few KB each)."""
        seen: dict[str, None] = dict.fromkeys(BAR_COLUMNS) if outputs else {}
        for rec in outputs:
            try:
                seen.update(dict.fromkeys(pq.read_schema(self._parquet(rec)).names))
            except (OSError, pa.ArrowException):
                continue  # removed by a concurrent supersede, or damaged: validate() reports losses
        return list(seen)

    def get_available_symbols(self) -> list[str]:
        return sorted({rec.symbol for rec in self.ledger.outputs(self.source_id)})

    def validate(self) -> tuple[bool, list[str]]:
        errors = self.location_errors() + _problems(self.ledger.files(self.source_id))[0]
        missing = [rec for rec in self.ledger.outputs(self.source_id) if not self._parquet(rec).is_file()]
        errors += [f"{rec.path}: stored bars for {rec.symbol} are missing from the store" for rec in missing]
        return not errors, errors

    # --- bars ---------------------------------------------------------------------------------
    def input_files(self, symbol: str) -> list[InputFile]:
        return [InputFile(rec.path, rec.sha256) for rec in self.ledger.outputs(self.source_id, symbol)]

    def load_symbol(self, symbol: str) -> pd.DataFrame:
        return self.load_with_lineage(symbol)[0]

    def load_with_lineage(self, symbol: str) -> tuple[pd.DataFrame, list[InputFile]]:
        """Bars and exactly the files they were read from; retried if a new version lands mid-read."""
        for _ in range(LOAD_ATTEMPTS):
            outputs = self._outputs_of(symbol)
            try:
                parts = [(rec.path, pd.read_parquet(self._parquet(rec))) for rec in outputs]
            except FileNotFoundError:
                continue  # superseded between the ledger read and the file read: read the ledger again
            return merge_bars(symbol, parts), [InputFile(rec.path, rec.sha256) for rec in outputs]
        raise StoreError(f"stored bars of {symbol} in {self.source_id!r} kept disappearing while reading")

    def batches_with_lineage(
        self, symbol: str, batch_rows: int
    ) -> tuple[Iterator[pd.DataFrame], list[InputFile]] | None:
        """One stored file is read by row groups; several need a merge, which reads them whole."""
        outputs = self._outputs_of(symbol)
        if len(outputs) != 1:
            return None
        try:
            # Opened now: a supersede that removes the file later cannot cut the read short.
            parquet = pq.ParquetFile(self._parquet(outputs[0]))
        except FileNotFoundError:
            return None
        return _batches(parquet, batch_rows), [InputFile(outputs[0].path, outputs[0].sha256)]

    def preview(self, symbol: str, n_rows: int = 10) -> pd.DataFrame:
        """Merge only the first ``n_rows`` of each stored file: stored files are sorted by time."""
        parts = [(rec.path, _head(self._parquet(rec), n_rows)) for rec in self._outputs_of(symbol)]
        return merge_bars(symbol, parts).head(n_rows)

    def _outputs_of(self, symbol: str) -> list[OutputRecord]:
        outputs = self.ledger.outputs(self.source_id, symbol)
        if not outputs:
            available = ", ".join(self.get_available_symbols()) or "none yet"
            raise SymbolNotFoundError(symbol=symbol, source_id=self.source_id, available=available)
        return outputs

    def _parquet(self, rec: OutputRecord) -> Path:
        """The recorded output, or its deterministic place if the data folder was moved."""
        path = Path(rec.output)
        if rec.output and path.is_absolute() and path.exists():
            return path
        return BarStore(self.settings.processed_dir).path_for(self.source_id, rec.symbol, rec.sha256)

    # --- persistence helpers ------------------------------------------------------------------
    def _options_config(self) -> dict[str, Any]:
        opts = self.options
        config: dict[str, Any] = {
            "tz": opts.tz,
            "bar_label": opts.bar_label,
            "symbol_pattern": opts.symbol_pattern,
        }
        if opts.layout:
            config.update(layout=opts.layout, layout_path=opts.layout_path)
        return config


def _batches(parquet: pq.ParquetFile, batch_rows: int) -> Iterator[pd.DataFrame]:
    with parquet:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            yield batch.to_pandas()


def _head(path: Path, n_rows: int) -> pd.DataFrame:
    with pq.ParquetFile(path) as parquet:
        head: pd.DataFrame = parquet.schema_arrow.empty_table().to_pandas()
        for batch in parquet.iter_batches(batch_size=max(n_rows, 1)):
            head = batch.to_pandas()
            break
        return head


def _symbol_info(outputs: list[OutputRecord]) -> dict[str, SymbolInfo]:
    grouped: dict[str, list[OutputRecord]] = defaultdict(list)
    for rec in outputs:
        grouped[rec.symbol].append(rec)
    info = {}
    for symbol, recs in sorted(grouped.items()):
        starts = [r.start for r in recs if r.start]
        ends = [r.end for r in recs if r.end]
        info[symbol] = SymbolInfo(
            rows=sum(r.rows for r in recs),
            start=_iso_min(starts),
            end=_iso_max(ends),
            files=len(recs),
        )
    return info


def _iso_min(values: list[str]) -> str | None:
    return min(values, key=datetime.fromisoformat) if values else None


def _iso_max(values: list[str]) -> str | None:
    return max(values, key=datetime.fromisoformat) if values else None


NOTABLE = (
    FileStatus.REJECTED, FileStatus.UNREADABLE, FileStatus.IGNORED, FileStatus.VANISHED, FileStatus.INGESTED,
)  # fmt: skip
"""Statuses whose current version may carry an error or a warning for the source's summary."""


def _problems(files: list[FileRecord]) -> tuple[list[str], list[str]]:
    """Errors (rejected, unreadable) and warnings of each path's newest version only (a fixed
    re-upload clears the error)."""
    latest: dict[str, FileRecord] = {}
    for record in files:  # ordered by id: later versions overwrite earlier ones
        latest[record.path] = record
    errors = [
        f"{r.path}: {r.reason or r.status}"
        for r in latest.values()
        if r.status in (FileStatus.REJECTED, FileStatus.UNREADABLE)
    ]
    warnings = []
    for r in latest.values():
        if r.status in (FileStatus.IGNORED, FileStatus.VANISHED):
            warnings.append(f"{r.path}: {r.status}: {r.reason}")
        elif r.status == FileStatus.INGESTED and r.warning_count:
            more = f" (+{r.warning_count - 1} more)" if r.warning_count > 1 else ""
            warnings.append(f"{r.path}: {r.first_warning}{more}")
    return errors, warnings
