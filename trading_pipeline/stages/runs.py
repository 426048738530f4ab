"""The run record: ``runs/<run_id>/run.json``, shared by the CLI and every worker of a run.

Several workers finish stages at the same moment, so every update is a read-modify-write under an
exclusive ``fcntl`` lock on ``runs/<run_id>/.lock`` (with ``PIPELINE_DATABASE_URL``: under the run's
PostgreSQL lock, the ``runs`` table holding the record, see ``runindex.py``), and the new file is
written beside the old one and renamed into place: a reader without the lock always sees a whole
file, and no writer loses another's update. The run's status is derived from its symbols' statuses
on every write.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from trading_pipeline.clock import now_iso, utc_now
from trading_pipeline.durable import atomic_write_bytes, exclusive_lock
from trading_pipeline.errors import RunError
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import RunConfig, time_basis
from trading_pipeline.stages.records import RunMode, RunRecord, StageRecord, SymbolRecord
from trading_pipeline.stages.runindex import RunIndex
from trading_pipeline.statuses import STAGE_ENDED, SYMBOL_ENDED, RunStatus, StageStatus, SymbolStatus

__all__ = [
    "RUN_FILE",
    "STAGE_NAMES",
    "create_run",
    "is_finished",
    "list_runs",
    "new_run_id",
    "now_iso",
    "parse_run",
    "progress",
    "read_run",
    "run_dir",
    "update_run",
]

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
STAGE_NAMES: tuple[str, ...] = ("load", "clean", "features", "labels", "splits")


def new_run_id() -> str:
    """Time first (runs sort by age), then 32 random bits: two runs in the same second still differ."""
    return f"run_{utc_now():%Y%m%dT%H%M%S}_{secrets.token_hex(4)}"


def run_dir(settings: Settings, run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise RunError(f"invalid run id {run_id!r}")
    return settings.runs_dir / run_id


def _blank_symbol(from_stage: str) -> SymbolRecord:
    first = STAGE_NAMES.index(from_stage)
    return SymbolRecord(
        stages={
            name: StageRecord(status=StageStatus.PENDING if i >= first else StageStatus.REUSED)
            for i, name in enumerate(STAGE_NAMES)
        }
    )


def create_run(
    settings: Settings,
    config: RunConfig,
    *,
    mode: RunMode,
    from_stage: str = "load",
    rerun_of: str | None = None,
) -> RunRecord:
    """Make the run folder and its first run.json; the id is retried until the folder is new."""
    settings.runs_dir.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = new_run_id()
        try:
            run_dir(settings, run_id).mkdir()
            break
        except FileExistsError:  # pragma: no cover - 32 random bits in the same second
            continue
    record = RunRecord(
        run_id=run_id,
        created_at=now_iso(),
        mode=mode,
        data_source=config.data_source,
        config=config,
        rerun_of=rerun_of,
        from_stage=from_stage,
        stages=list(STAGE_NAMES),
        symbols={symbol: _blank_symbol(from_stage) for symbol in config.symbols},
        time_basis=time_basis(config),
    )
    _write(run_dir(settings, run_id), record)
    index = RunIndex.for_settings(settings)
    if index is not None:
        index.save(record)
    return record


def parse_run(text: str | bytes) -> RunRecord:
    """A run.json's text as a record; raises ``ValueError`` (pydantic's) when it is not one."""
    return RunRecord.model_validate_json(text)


def read_run(settings: Settings, run_id: str) -> RunRecord:
    index = RunIndex.for_settings(settings)
    indexed = index.get(run_id) if index is not None else None
    if indexed is not None:
        return indexed
    path = run_dir(settings, run_id) / RUN_FILE
    try:
        return parse_run(path.read_bytes())
    except FileNotFoundError:
        raise RunError(
            f"no run {run_id!r} in {settings.runs_dir}; `pipeline status` lists the runs"
        ) from None
    except ValidationError as exc:
        raise RunError(f"{path} is not a run record: {exc.errors()[0]['msg']}") from None


def update_run(settings: Settings, run_id: str, change: Callable[[RunRecord], None]) -> RunRecord:
    """Apply ``change`` to the current record under the run's lock and write it atomically."""
    directory = run_dir(settings, run_id)
    if not directory.is_dir():
        raise RunError(f"no run {run_id!r} in {settings.runs_dir}")
    index = RunIndex.for_settings(settings)
    if index is not None:  # several hosts: the database's lock, not an flock over NFS
        with index.locked(run_id) as conn:
            record = index.get(run_id, conn) or read_run(settings, run_id)
            change(record)
            _derive_status(record)
            _write(directory, record)
            index.save(record, conn)
        return record
    with exclusive_lock(directory / LOCK_FILE):
        record = read_run(settings, run_id)
        change(record)
        _derive_status(record)
        _write(directory, record)
    return record


def _write(directory: Path, record: RunRecord) -> None:
    atomic_write_bytes(directory / RUN_FILE, (json.dumps(record.to_json(), indent=2) + "\n").encode())


def _derive_status(record: RunRecord) -> None:
    """queued -> running -> succeeded | failed; failed as soon as one symbol failed."""
    states = [s.status for s in record.symbols.values()]
    finished = all(s in SYMBOL_ENDED for s in states)
    if SymbolStatus.FAILED in states:
        record.status = RunStatus.FAILED
    elif finished:
        record.status = RunStatus.SUCCEEDED
    elif any(s != SymbolStatus.PENDING for s in states):
        record.status = RunStatus.RUNNING
    if finished and record.finished_at is None:
        record.finished_at = now_iso()


def is_finished(record: RunRecord) -> bool:
    return all(s.status in SYMBOL_ENDED for s in record.symbols.values())


def list_runs(settings: Settings) -> list[RunRecord]:
    """Every run's record, newest first; unreadable folders are skipped."""
    index = RunIndex.for_settings(settings)
    if index is not None:
        return index.all()
    runs = []
    if settings.runs_dir.is_dir():
        for path in settings.runs_dir.glob(f"*/{RUN_FILE}"):
            with contextlib.suppress(OSError, ValueError):
                runs.append(parse_run(path.read_bytes()))
    return sorted(runs, key=lambda r: r.created_at, reverse=True)


def progress(record: RunRecord) -> tuple[int, int]:
    """(finished stage steps, all stage steps) over every symbol; reused stages count as finished."""
    done = total = 0
    for symbol in record.symbols.values():
        for stage in symbol.stages.values():
            total += 1
            done += stage.status in STAGE_ENDED
    return done, total
