"""Running one (symbol, stage) step of a run: read the previous stage's Parquet, run, write, record.

This is the single code path behind RQ jobs and ``--inline``. Stages hand over through
``runs/<run_id>/<symbol>/<stage>.parquet`` (atomic writes), so consecutive stages may run on different
workers, and ``rerun --from-stage`` starts from files an earlier run left.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import JsonValue

from trading_pipeline.errors import PipelineError, StageError
from trading_pipeline.settings import Settings
from trading_pipeline.stages.bars import clean, load
from trading_pipeline.stages.base import Stage, StageContext
from trading_pipeline.stages.config import uses_cme_sessions
from trading_pipeline.stages.features import features
from trading_pipeline.stages.gaps import SessionBoundaries
from trading_pipeline.stages.handover import (
    ROW,
    read_chain_table,
    read_frame,
    stage_path,
    write_deliverables,
    write_frame,
)
from trading_pipeline.stages.labels import labels
from trading_pipeline.stages.records import Failure, InputRef, OutputRef, RunRecord
from trading_pipeline.stages.runs import STAGE_NAMES, now_iso, read_run, run_dir, update_run
from trading_pipeline.stages.source import open_loader
from trading_pipeline.stages.splits import SPLIT_NAMES, splits
from trading_pipeline.stages.streamed import stream_clean, stream_load
from trading_pipeline.statuses import STAGE_COMPLETED, StageStatus, SymbolStatus

__all__ = [
    "STAGES",
    "StageResult",
    "execute_stage",
    "mark_failed",
    "read_frame",
    "stage_path",
    "write_frame",
]

STAGES: tuple[Stage, ...] = (
    Stage("load", load, "bars of the symbol from the data source"),
    Stage("clean", clean, "drop invalid rows, session filter, resample"),
    Stage("features", features, "causal features; warm-up rows dropped"),
    Stage("labels", labels, "forward returns and up/flat/down classes; labels crossing a break dropped"),
    Stage("splits", splits, "the run's train/val/test instants, exact purge; class shares judged on train"),
)
assert tuple(s.name for s in STAGES) == STAGE_NAMES

WHOLE_FRAMES = 2
"""`load` and `clean` hand over whole frames; later stages only the columns they add (see handover)."""

Progress = Callable[[dict[str, object]], None]
"""Called with job-meta style updates (stage, status, percent); RQ jobs save them in ``job.meta``."""


@dataclass
class StageResult:
    """What one executed step reports; ``inputs`` from `load`, ``outputs`` from the last stage."""

    rows_in: int
    rows_out: int
    checks: dict[str, object]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    inputs: list[InputRef] | None = None
    outputs: dict[str, OutputRef] | None = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, StageError):
        return str(exc.fields.get("reason", exc.message))
    if isinstance(exc, PipelineError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def execute_stage(
    settings: Settings, run_id: str, symbol: str, stage: str, *, report: Progress | None = None
) -> StageResult:
    """Run one stage for one symbol and record it in run.json; a failure is recorded, then raised."""
    record = read_run(settings, run_id)
    if stage not in STAGE_NAMES or symbol not in record.symbols:
        raise StageError(stage=stage, symbol=symbol, reason=f"not part of run {run_id}")
    index = STAGE_NAMES.index(stage)
    notify = report or (lambda _meta: None)
    update_run(settings, run_id, lambda r: _started(r, symbol, stage))
    notify({"stage": stage, "status": StageStatus.RUNNING, "percent": round(100 * index / len(STAGE_NAMES))})
    started = time.perf_counter()
    try:
        result = _run(settings, record, symbol, index)
    except Exception as exc:
        reason = _reason(exc)
        checks = exc.fields.get("checks") if isinstance(exc, StageError) else None
        update_run(settings, run_id, lambda r: mark_failed(r, symbol, stage, reason, checks=checks))
        notify({"stage": stage, "status": StageStatus.FAILED, "reason": reason})
        if isinstance(exc, StageError):
            raise
        raise StageError(stage=stage, symbol=symbol, reason=reason) from exc
    result.seconds = round(time.perf_counter() - started, 4)
    update_run(settings, run_id, lambda r: _finished(r, symbol, stage, result))
    notify(
        {"stage": stage, "status": StageStatus.DONE, "percent": round(100 * (index + 1) / len(STAGE_NAMES))}
    )
    return result


def _run(settings: Settings, record: RunRecord, symbol: str, index: int) -> StageResult:
    run_id, stage = record.run_id, STAGES[index]
    ctx = StageContext(symbol=symbol, config=record.config, stage=stage.name, plan=record.split_plan)
    ctx.sessions = _session_clock(record, symbol)
    # Session-aware days and closures need the whole series; streaming is for plain resampling.
    streamed = None if ctx.sessions is not None else _streamed(settings, record, symbol, index, ctx)
    if streamed is not None:
        return streamed
    chain: pa.Table | None = None
    if index == 0:
        ctx.loader = open_loader(settings, record.data_source, continuous=record.config.continuous)
        frame = pd.DataFrame()
    else:
        previous = STAGE_NAMES[index - 1]
        state = record.stage(symbol, previous).status
        if state not in STAGE_COMPLETED:
            # RQ starts a job at once when its parent id is unknown (expired, flushed): never read a
            # half-made hand-over; fail with what is wrong instead.
            ctx.fail(f"the {previous} stage is {state}, not done")
        if index < WHOLE_FRAMES:
            frame = read_frame(stage_path(settings, run_id, symbol, previous))
        else:
            earlier = reversed(STAGE_NAMES[:index])
            chain = read_chain_table([stage_path(settings, run_id, symbol, s) for s in earlier])
            frame = chain.to_pandas(split_blocks=True)
    out = stage.run(frame, ctx)
    result = StageResult(rows_in=len(frame), rows_out=len(out), checks=ctx.checks, warnings=ctx.warnings)
    if index == len(STAGES) - 1:
        # The last stage's output is the deliverable itself: train/val/test, not one more hand-over file.
        # It only tags rows, so the files are cut from the Arrow table that was read: converting the
        # frame back (finding the NaNs of every float column again) was a sixth of the stage.
        if chain is None:
            ctx.fail("the splits stage reads the hand-overs of the stages before it")
        result.outputs = _write_splits(settings, run_id, symbol, chain.drop_columns([ROW]), out["split"])
        result.rows_out = sum(o.rows for o in result.outputs.values())
    else:
        added_to = frame if index >= WHOLE_FRAMES else None
        write_frame(out, stage_path(settings, run_id, symbol, stage.name), added_to=added_to)
    if index == 0:
        result.inputs = [InputRef(path=f.path, sha256=f.sha256) for f in ctx.inputs]
    return result


def _session_clock(record: RunRecord, symbol: str) -> SessionBoundaries | None:
    """The CME session calendar when the symbol's product is known (``config.uses_cme_sessions``)."""
    config = record.config
    if not uses_cme_sessions(config, symbol):
        return None
    from trading_pipeline.futures.research import clock_for

    return clock_for(symbol, continuous=config.continuous, forced=config.calendar == "cme")


def _streamed(
    settings: Settings, record: RunRecord, symbol: str, index: int, ctx: StageContext
) -> StageResult | None:
    """`load` and `clean` a batch at a time when the run resamples: the 1-minute bars of a long
    history are never whole in memory. None when this step runs on whole frames."""
    if not record.config.timeframe or index >= WHOLE_FRAMES:
        return None
    here = stage_path(settings, record.run_id, symbol, STAGE_NAMES[index])
    if index == 0:
        ctx.loader = open_loader(settings, record.data_source, continuous=record.config.continuous)
        rows = stream_load(ctx, here, settings.run_batch_rows)
        if rows is None:
            return None
        inputs = [InputRef(path=f.path, sha256=f.sha256) for f in ctx.inputs]
        return StageResult(rows_in=0, rows_out=rows, checks=ctx.checks, warnings=ctx.warnings, inputs=inputs)
    previous = STAGE_NAMES[index - 1]
    state = record.stage(symbol, previous).status
    if state not in STAGE_COMPLETED:
        ctx.fail(f"the {previous} stage is {state}, not done")
    cleaned = stream_clean(stage_path(settings, record.run_id, symbol, previous), ctx)
    if cleaned is None:
        ctx.checks.clear()
        return None
    out, rows_in = cleaned
    write_frame(out, here)
    return StageResult(rows_in=rows_in, rows_out=len(out), checks=ctx.checks, warnings=ctx.warnings)


def _write_splits(
    settings: Settings, run_id: str, symbol: str, table: pa.Table, split: pd.Series
) -> dict[str, OutputRef]:
    """The deliverable: train/val/test Parquet with features and labels, no bookkeeping column."""
    codes = split.cat.codes.to_numpy()
    rows = {name: np.flatnonzero(codes == i) for i, name in enumerate(SPLIT_NAMES)}
    folder = run_dir(settings, run_id) / symbol
    write_deliverables(table, rows, folder)
    return {
        name: OutputRef(path=str((folder / f"{name}.parquet").relative_to(settings.runs_dir)), rows=len(at))
        for name, at in rows.items()
    }


def _started(record: RunRecord, symbol: str, stage: str) -> None:
    sym = record.symbols[symbol]
    if sym.status == SymbolStatus.PENDING:
        sym.status = SymbolStatus.RUNNING
    sym.stages[stage].status = StageStatus.RUNNING
    sym.stages[stage].started_at = now_iso()


def _finished(record: RunRecord, symbol: str, stage: str, result: StageResult) -> None:
    sym = record.symbols[symbol]
    if result.inputs is not None:
        sym.inputs = result.inputs
    if result.outputs is not None:
        sym.outputs = result.outputs
    step = sym.stages[stage]
    step.status, step.finished_at, step.seconds = StageStatus.DONE, now_iso(), result.seconds
    step.rows_in, step.rows_out = result.rows_in, result.rows_out
    step.checks = _json_checks(result.checks)
    sym.warnings.extend(f"{stage}: {w}" for w in result.warnings if f"{stage}: {w}" not in sym.warnings)
    # A waiter may already have recorded this symbol failed (its job looked dead); a late success of
    # the job must not turn a failed run with a recorded failure back into a succeeded one.
    if stage == STAGE_NAMES[-1] and sym.status != SymbolStatus.FAILED:
        sym.status = SymbolStatus.DONE


def _json_checks(checks: dict[str, object]) -> dict[str, JsonValue]:
    """Checks as JSON values; a stage may report numpy scalars, which become plain numbers."""
    plain: dict[str, JsonValue] = json.loads(json.dumps(checks, default=_plain))
    return plain


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def mark_failed(
    record: RunRecord, symbol: str, stage: str, reason: str, *, checks: dict[str, object] | None = None
) -> None:
    """Mark the symbol failed and its later stages canceled; the first failure is the run's."""
    sym = record.symbols[symbol]
    if sym.status == SymbolStatus.FAILED:
        return
    sym.status = SymbolStatus.FAILED
    step = sym.stages[stage]
    step.status, step.finished_at, step.reason = StageStatus.FAILED, now_iso(), reason
    if checks:
        step.checks = _json_checks(checks)
    for later in STAGE_NAMES[STAGE_NAMES.index(stage) + 1 :]:
        sym.stages[later].status = StageStatus.CANCELED
    failure = Failure(stage=stage, symbol=symbol, reason=reason)
    record.failures.append(failure)
    if record.failure is None:
        record.failure = failure
