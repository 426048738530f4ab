"""The research pipeline: load -> clean -> features -> labels -> splits, per symbol, inline or on RQ.

Each stage is a plain function ``(frame, ctx) -> frame`` with its own checks; ``STAGES`` composes them.
``start_run`` creates a run under ``runs/<run_id>/``; ``run_inline`` executes its steps in-process, and
``jobqueue.runs`` queues the same steps as one RQ job per (symbol, stage). See docs/pipeline.md.

Exports are lazy: importing the package loads nothing until a name is used (``pipeline status``
needs no pandas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from trading_pipeline.stages.bars import (
        clean,
        load,
        resample_bars,
    )
    from trading_pipeline.stages.base import (
        Stage,
        StageContext,
        StageFn,
    )
    from trading_pipeline.stages.config import (
        RunConfig,
        build_config,
        parse_timeframe,
    )
    from trading_pipeline.stages.execute import (
        STAGES,
        execute_stage,
    )
    from trading_pipeline.stages.features import (
        compute_features,
        feature_columns,
        features,
    )
    from trading_pipeline.stages.handover import (
        read_frame,
        stage_path,
    )
    from trading_pipeline.stages.labels import (
        CLASS_NAMES,
        label_columns,
        labels,
    )
    from trading_pipeline.stages.planning import (
        plan_run,
    )
    from trading_pipeline.stages.records import (
        Failure,
        InputRef,
        OutputRef,
        RunRecord,
        StageRecord,
        SymbolRecord,
    )
    from trading_pipeline.stages.runner import (
        check_symbols,
        prepare_rerun,
        run_inline,
        start_run,
    )
    from trading_pipeline.stages.runs import (
        STAGE_NAMES,
        list_runs,
        new_run_id,
        parse_run,
        read_run,
        run_dir,
    )
    from trading_pipeline.stages.source import (
        BarLoader,
        InputFile,
        open_loader,
    )
    from trading_pipeline.stages.splits import (
        SPLIT_NAMES,
        split_sizes,
        splits,
    )

_EXPORTS = {
    "clean": "trading_pipeline.stages.bars",
    "load": "trading_pipeline.stages.bars",
    "resample_bars": "trading_pipeline.stages.bars",
    "Stage": "trading_pipeline.stages.base",
    "StageContext": "trading_pipeline.stages.base",
    "StageFn": "trading_pipeline.stages.base",
    "RunConfig": "trading_pipeline.stages.config",
    "build_config": "trading_pipeline.stages.config",
    "parse_timeframe": "trading_pipeline.stages.config",
    "STAGES": "trading_pipeline.stages.execute",
    "execute_stage": "trading_pipeline.stages.execute",
    "compute_features": "trading_pipeline.stages.features",
    "feature_columns": "trading_pipeline.stages.features",
    "features": "trading_pipeline.stages.features",
    "read_frame": "trading_pipeline.stages.handover",
    "stage_path": "trading_pipeline.stages.handover",
    "CLASS_NAMES": "trading_pipeline.stages.labels",
    "label_columns": "trading_pipeline.stages.labels",
    "labels": "trading_pipeline.stages.labels",
    "plan_run": "trading_pipeline.stages.planning",
    "Failure": "trading_pipeline.stages.records",
    "InputRef": "trading_pipeline.stages.records",
    "OutputRef": "trading_pipeline.stages.records",
    "RunRecord": "trading_pipeline.stages.records",
    "StageRecord": "trading_pipeline.stages.records",
    "SymbolRecord": "trading_pipeline.stages.records",
    "check_symbols": "trading_pipeline.stages.runner",
    "prepare_rerun": "trading_pipeline.stages.runner",
    "run_inline": "trading_pipeline.stages.runner",
    "start_run": "trading_pipeline.stages.runner",
    "STAGE_NAMES": "trading_pipeline.stages.runs",
    "list_runs": "trading_pipeline.stages.runs",
    "new_run_id": "trading_pipeline.stages.runs",
    "parse_run": "trading_pipeline.stages.runs",
    "read_run": "trading_pipeline.stages.runs",
    "run_dir": "trading_pipeline.stages.runs",
    "BarLoader": "trading_pipeline.stages.source",
    "InputFile": "trading_pipeline.stages.source",
    "open_loader": "trading_pipeline.stages.source",
    "SPLIT_NAMES": "trading_pipeline.stages.splits",
    "split_sizes": "trading_pipeline.stages.splits",
    "splits": "trading_pipeline.stages.splits",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "CLASS_NAMES",
    "SPLIT_NAMES",
    "STAGES",
    "STAGE_NAMES",
    "BarLoader",
    "Failure",
    "InputFile",
    "InputRef",
    "OutputRef",
    "RunConfig",
    "RunRecord",
    "Stage",
    "StageContext",
    "StageFn",
    "StageRecord",
    "SymbolRecord",
    "build_config",
    "check_symbols",
    "clean",
    "compute_features",
    "execute_stage",
    "feature_columns",
    "features",
    "label_columns",
    "labels",
    "list_runs",
    "load",
    "new_run_id",
    "open_loader",
    "parse_run",
    "parse_timeframe",
    "plan_run",
    "prepare_rerun",
    "read_frame",
    "read_run",
    "resample_bars",
    "run_dir",
    "run_inline",
    "split_sizes",
    "splits",
    "stage_path",
    "start_run",
]
