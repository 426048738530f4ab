"""The run-level step between `labels` and `splits`: one split plan from every symbol's labelled bars.

It runs once, when every symbol's labels are done (or the symbol failed): inline, ``run_inline`` calls
it between the phases; on RQ, the job that settles the last symbol's labels does (``jobqueue.runs``),
and so does any waiter that finds it missing. Two processes may compute it at once; both get the
same plan from the same files, and the first to write under the run's lock wins.
"""

from __future__ import annotations

import numpy as np

from trading_pipeline.settings import Settings
from trading_pipeline.stages.execute import mark_failed
from trading_pipeline.stages.handover import read_chain, stage_path
from trading_pipeline.stages.records import RunRecord, SplitPlan
from trading_pipeline.stages.runs import STAGE_NAMES, read_run, update_run
from trading_pipeline.stages.splits import build_plan
from trading_pipeline.statuses import STAGE_COMPLETED, SymbolStatus

__all__ = ["PLANNED_STAGE", "labelled_symbols", "labels_settled", "plan_run"]

PLANNED_STAGE = "splits"
"""The stage that needs the plan; every stage before it runs per symbol without waiting for others."""
LABELS = "labels"


def labels_settled(record: RunRecord) -> bool:
    """Every symbol's labels are done, or the symbol failed: the union of labelled bars is final."""
    symbols = record.symbols.values()
    return all(
        sym.status == SymbolStatus.FAILED or sym.stages[LABELS].status in STAGE_COMPLETED for sym in symbols
    )


def labelled_symbols(record: RunRecord) -> list[str]:
    return [
        s
        for s, sym in record.symbols.items()
        if sym.status != SymbolStatus.FAILED and sym.stages[LABELS].status in STAGE_COMPLETED
    ]


def _plan(settings: Settings, record: RunRecord, symbols: list[str]) -> SplitPlan:
    times: dict[str, np.ndarray] = {}
    bar_ns = 0
    for symbol in symbols:
        earlier = reversed(STAGE_NAMES[: STAGE_NAMES.index(LABELS) + 1])
        paths = [stage_path(settings, record.run_id, symbol, stage) for stage in earlier]
        frame = read_chain(paths, ["datetime", "close_time"])
        opens = frame["datetime"].array.asi8
        closes = frame["close_time"].array.asi8
        times[symbol] = opens
        bar_ns = max(bar_ns, int(closes[0] - opens[0]))
    return build_plan(times, record.config, bar_ns)


def plan_run(settings: Settings, run_id: str) -> RunRecord:
    """Make and record the run's split plan once labels are settled; a plan that cannot be made fails
    every symbol still waiting for it, with the reason."""
    record = read_run(settings, run_id)
    symbols = labelled_symbols(record)
    if record.split_plan is not None or not labels_settled(record) or not symbols:
        return record
    plan: SplitPlan | None = None
    try:
        plan = _plan(settings, record, symbols)
        reason = ""
    except Exception as exc:  # PlanError, or a hand-over file that cannot be read
        reason = f"no split plan: {exc}"

    def store(r: RunRecord) -> None:
        if r.split_plan is not None:
            return
        if plan is not None:
            r.split_plan = plan
            return
        for symbol in symbols:
            mark_failed(r, symbol, PLANNED_STAGE, reason)

    return update_run(settings, run_id, store)
