"""Research runs as screens show them: one summary per run, per (symbol, stage) progress, the label
distribution and the files a person downloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trading_pipeline.settings import Settings
from trading_pipeline.stages.records import Failure, RunRecord
from trading_pipeline.stages.runs import RUN_FILE, STAGE_NAMES, list_runs, progress, run_dir
from trading_pipeline.statuses import STAGE_ENDED, STAGE_OPEN, StageStatus

__all__ = [
    "RunSummary",
    "StageProgress",
    "label_distribution",
    "run_downloads",
    "run_summaries",
    "run_summary",
    "stage_progress",
]

LiveMeta = Mapping[tuple[str, str], Mapping[str, Any]]
"""(symbol, stage) -> what the stage's job last wrote to its meta (``percent``, ``status``, ``reason``)."""


@dataclass(frozen=True)
class RunSummary:
    """One line of the run list (``pipeline status``, the monitor page)."""

    run_id: str
    created_at: str
    status: str
    done: int
    total: int
    data_source: str
    symbols: list[str]
    failure: Failure | None
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def progress(self) -> str:
        return f"{self.done}/{self.total}"

    def to_json(self) -> dict[str, object]:
        """The fields of ``pipeline status --json``'s run list."""
        return {
            "run_id": self.run_id,
            "created_at": self.created_at,
            "status": self.status,
            "progress": self.progress,
            "data_source": self.data_source,
            "symbols": self.symbols,
            "failure": self.failure.model_dump() if self.failure else None,
            "warnings": self.warnings,
        }


def run_summary(record: RunRecord) -> RunSummary:
    done, total = progress(record)
    return RunSummary(
        run_id=record.run_id,
        created_at=record.created_at,
        status=str(record.status),
        done=done,
        total=total,
        data_source=record.data_source,
        symbols=list(record.symbols),
        failure=record.failure,
        warnings={s: sym.warnings for s, sym in record.symbols.items() if sym.warnings},
    )


def run_summaries(settings: Settings) -> list[RunSummary]:
    """Every run, newest first."""
    return [run_summary(r) for r in list_runs(settings)]


@dataclass(frozen=True)
class StageProgress:
    """One (symbol, stage) step: its status, how far a running one is, and why a failed one failed."""

    symbol: str
    stage: str
    status: str
    percent: float
    seconds: float | None
    rows_out: int | None
    reason: str


def stage_progress(record: RunRecord, live: LiveMeta | None = None) -> list[StageProgress]:
    """Every step of the run in order; a step a worker holds takes its percent from the job's meta."""
    rows = []
    for symbol, state in record.symbols.items():
        for index, name in enumerate(STAGE_NAMES):
            stage = state.stages[name]
            meta = (live or {}).get((symbol, name), {})
            if stage.status in STAGE_ENDED:
                percent = 100.0 if stage.status != StageStatus.FAILED else float(meta.get("percent", 0))
            elif stage.status in STAGE_OPEN:
                percent = float(meta.get("percent", 100 * index / len(STAGE_NAMES)))
            else:
                percent = 0.0
            rows.append(
                StageProgress(
                    symbol, name, str(stage.status), percent, stage.seconds, stage.rows_out,
                    stage.reason or str(meta.get("reason") or ""),
                )
            )  # fmt: skip
    return rows


def label_distribution(record: RunRecord) -> pd.DataFrame:
    """Share of each label class per (symbol, split, horizon), from what the splits stage measured."""
    rows = []
    for symbol, state in record.symbols.items():
        shares = state.stages["splits"].checks.get("class_shares") if "splits" in state.stages else None
        if not isinstance(shares, dict):
            continue
        for split, by_column in shares.items():
            if not isinstance(by_column, dict):
                continue
            for column, by_class in by_column.items():
                if not isinstance(by_class, dict):
                    continue
                for label, share in by_class.items():
                    horizon = str(column).removeprefix("label_")
                    rows.append((symbol, split, horizon, str(label), float(share)))  # type: ignore[arg-type]
    return pd.DataFrame(rows, columns=["symbol", "split", "horizon", "label", "share"])


def run_downloads(settings: Settings, record: RunRecord) -> list[tuple[str, Path]]:
    """(name shown, file) for run.json and every split file that exists."""
    files = [(RUN_FILE, run_dir(settings, record.run_id) / RUN_FILE)]
    for symbol, state in record.symbols.items():
        for split, ref in state.outputs.items():
            path = settings.runs_dir / ref.path
            if path.is_file():
                files.append((f"{symbol}/{split}.parquet", path))
    return files
