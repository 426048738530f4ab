"""The run record, ``runs/<run_id>/run.json``, as typed models: what the CLI, the workers and the UI read.

Every run.json written since runs existed loads into these models (``tests/stages/fixtures`` holds one
made by the first version): fields added later have defaults, and keys a reader does not know are
ignored rather than refused, so an older reader can still show a newer run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from trading_pipeline.stages.config import RunConfig
from trading_pipeline.statuses import RunStatus, StageStatus, SymbolStatus

__all__ = [
    "Failure",
    "InputRef",
    "OutputRef",
    "RunMode",
    "RunRecord",
    "SplitPeriod",
    "SplitPlan",
    "StageRecord",
    "SymbolRecord",
]

RunMode = Literal["rq", "inline"]


class _Record(BaseModel):
    # Mutable on purpose: ``update_run`` hands the record to a change function under the run's lock.
    model_config = ConfigDict(extra="ignore")


class InputRef(_Record):
    """An ingested file the bars were read from, with its ledger content hash."""

    path: str
    sha256: str


class OutputRef(_Record):
    """A deliverable split file; ``path`` is relative to the runs folder."""

    path: str
    rows: int


class Failure(_Record):
    stage: str
    symbol: str
    reason: str


class StageRecord(_Record):
    """One (symbol, stage) step: its state, timing, row counts and the checks the stage reported."""

    status: StageStatus = StageStatus.PENDING
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    checks: dict[str, JsonValue] = Field(default_factory=dict)
    reason: str | None = None


class SymbolRecord(_Record):
    status: SymbolStatus = SymbolStatus.PENDING
    inputs: list[InputRef] = Field(default_factory=list)
    stages: dict[str, StageRecord] = Field(default_factory=dict)
    outputs: dict[str, OutputRef] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    """Doubts every view shows: bad ticks dropped, a split this symbol cannot fill, ..."""


class SplitPeriod(_Record):
    """Bars whose open time is in [start, end); ``end`` None means up to the end of the data."""

    start: str
    end: str | None


class SplitPlan(_Record):
    """One set of split instants for every symbol of a run, chosen from the union of their timestamps.

    Between train and val (and val and test) lies a purge period as long as the longest label, and
    a row is kept in a split only if its ``label_end`` is at or before the next split's start.
    """

    symbols: list[str]
    union_rows: int
    purge: str
    train: SplitPeriod
    val: SplitPeriod
    test: SplitPeriod

    def periods(self) -> dict[str, SplitPeriod]:
        return {"train": self.train, "val": self.val, "test": self.test}


class RunRecord(_Record):
    """Everything needed to trust and repeat a run; field meanings are in docs/pipeline.md."""

    run_id: str
    created_at: str
    finished_at: str | None = None
    status: RunStatus = RunStatus.QUEUED
    mode: RunMode
    data_source: str
    config: RunConfig
    rerun_of: str | None = None
    from_stage: str = "load"
    stages: list[str]
    symbols: dict[str, SymbolRecord]
    failure: Failure | None = None
    failures: list[Failure] = Field(default_factory=list)
    jobs: dict[str, dict[str, str]] = Field(default_factory=dict)
    split_plan: SplitPlan | None = None
    time_basis: dict[str, str] = Field(default_factory=dict)
    """How days and times of day are read (UTC today; a session calendar later), in words."""

    def stage(self, symbol: str, stage: str) -> StageRecord:
        return self.symbols[symbol].stages[stage]

    def to_json(self) -> dict[str, JsonValue]:
        """The record as run.json holds it (and as ``--json`` prints it)."""
        data: dict[str, JsonValue] = self.model_dump(mode="json")
        return data
