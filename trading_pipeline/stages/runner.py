"""Creating, running in-process and re-running research runs (queueing them is ``jobqueue.runs``).

Failure semantics (the same inline and on RQ): a failing stage marks its symbol failed and the run
failed at once, with stage, symbol and reason; that symbol's later stages are cancelled; every other
symbol's stages still run to the end, so their outputs exist and ``rerun --from-stage`` can reuse them.
A run is finished when every symbol is done or failed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from trading_pipeline.errors import RunError, StageError, UsageError
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import RunConfig
from trading_pipeline.stages.execute import execute_stage
from trading_pipeline.stages.handover import stage_path
from trading_pipeline.stages.planning import PLANNED_STAGE, plan_run
from trading_pipeline.stages.records import RunRecord
from trading_pipeline.stages.runs import STAGE_NAMES, create_run, read_run, run_dir, update_run
from trading_pipeline.stages.source import open_loader
from trading_pipeline.statuses import StageStatus

__all__ = ["check_symbols", "prepare_rerun", "remove_run", "run_inline", "start_run"]

Watcher = Callable[[RunRecord, int | None], None]
"""Called with the current record and how many workers listen on the queue (None: inline)."""


def check_symbols(settings: Settings, config: RunConfig) -> RunConfig:
    """Fill in 'every symbol' and refuse symbols the source does not have, listing the ones it has."""
    available = open_loader(
        settings, config.data_source, continuous=config.continuous
    ).get_available_symbols()
    if not available and config.continuous:
        raise UsageError(
            f"no continuous series built from source {config.data_source!r}; run "
            "`pipeline continuous build ROOT` first"
        )
    if not available:
        raise UsageError(
            f"source {config.data_source!r} has no ingested bars yet; ingest files first "
            f"(`pipeline ingest {settings.raw_dir}`, or drop them in while `pipeline up` runs)"
        )
    if not config.symbols:
        return config.model_copy(update={"symbols": tuple(available)})
    missing = [s for s in config.symbols if s not in available]
    if missing:
        raise UsageError(
            f"unknown symbol{'s' if len(missing) > 1 else ''} {', '.join(missing)} in source "
            f"{config.data_source!r}; available: {', '.join(available)}"
        )
    return config


def start_run(
    settings: Settings,
    config: RunConfig,
    *,
    queued: bool,
    from_stage: str = "load",
    rerun_of: RunRecord | None = None,
) -> RunRecord:
    """Create the run, carrying over a rerun's earlier outputs.

    ``queued`` runs are handed to ``jobqueue.runs.enqueue_run`` next; others to ``run_inline``.
    """
    record = create_run(
        settings,
        config,
        mode="rq" if queued else "inline",
        from_stage=from_stage,
        rerun_of=rerun_of.run_id if rerun_of else None,
    )
    run_id = record.run_id
    if rerun_of is not None and from_stage != STAGE_NAMES[0]:
        carry_over(settings, rerun_of, run_id, from_stage)
    return read_run(settings, run_id)


def run_inline(settings: Settings, run_id: str, watch: Watcher | None = None) -> RunRecord:
    """Every pending stage in this process, the same steps workers run: each symbol up to its labels,
    then the run's split plan, then each symbol's splits."""
    last = STAGE_NAMES.index(PLANNED_STAGE)
    _run_stages(settings, run_id, STAGE_NAMES[:last], watch)
    plan_run(settings, run_id)
    _run_stages(settings, run_id, STAGE_NAMES[last:], watch)
    return read_run(settings, run_id)


def _run_stages(settings: Settings, run_id: str, stages: tuple[str, ...], watch: Watcher | None) -> None:
    """Each symbol's pending ``stages``, symbols side by side in threads: the heavy parts (rolling
    windows, Parquet and Arrow I/O) run without the GIL, so two cores do two symbols' work at once.
    Every stage depends only on its own symbol's files, so the values do not depend on the order."""
    symbols = list(read_run(settings, run_id).symbols)
    threads = min(len(symbols), settings.run_threads or os.cpu_count() or 1)
    if threads <= 1:
        for symbol in symbols:
            _run_symbol(settings, run_id, symbol, stages, watch)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="run") as pool:
        for done in [pool.submit(_run_symbol, settings, run_id, s, stages, watch) for s in symbols]:
            done.result()


def _run_symbol(
    settings: Settings, run_id: str, symbol: str, stages: tuple[str, ...], watch: Watcher | None
) -> None:
    for stage in stages:
        if read_run(settings, run_id).stage(symbol, stage).status != StageStatus.PENDING:
            continue
        try:
            execute_stage(settings, run_id, symbol, stage)
        except StageError:
            break  # recorded in run.json; this symbol stops, the others go on
        finally:
            if watch:
                watch(read_run(settings, run_id), None)


def prepare_rerun(settings: Settings, run_id: str, from_stage: str) -> tuple[RunConfig, RunRecord]:
    """The old run's config, and per symbol what to carry over; refuses when earlier outputs are missing."""
    if from_stage not in STAGE_NAMES:
        raise UsageError(f"unknown stage {from_stage!r}; stages: {', '.join(STAGE_NAMES)}")
    old = read_run(settings, run_id)
    config = old.config
    earlier = STAGE_NAMES[: STAGE_NAMES.index(from_stage)]
    for symbol in config.symbols:
        for stage in earlier:
            if not stage_path(settings, run_id, symbol, stage).exists():
                raise RunError(
                    f"run {run_id} has no {stage} output for {symbol}; rerun from an earlier stage "
                    f"(e.g. --from-stage {stage})"
                )
    return config, old


def carry_over(settings: Settings, old: RunRecord, new_run_id: str, from_stage: str) -> None:
    """Link (or copy) earlier stage outputs into the new run and copy their records as 'reused'."""
    earlier = STAGE_NAMES[: STAGE_NAMES.index(from_stage)]
    for symbol in old.symbols:
        for stage in earlier:
            source = stage_path(settings, old.run_id, symbol, stage)
            target = run_dir(settings, new_run_id) / symbol / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)

    def reuse(record: RunRecord) -> None:
        for symbol, sym in record.symbols.items():
            previous = old.symbols[symbol]
            sym.inputs = list(previous.inputs)
            for stage in earlier:
                sym.stages[stage] = previous.stages[stage].model_copy(update={"status": StageStatus.REUSED})

    update_run(settings, new_run_id, reuse)


def remove_run(settings: Settings, run_id: str) -> None:
    """Delete a run that could not be started (e.g. Redis went away while enqueueing)."""
    with contextlib.suppress(OSError):
        shutil.rmtree(run_dir(settings, run_id))
