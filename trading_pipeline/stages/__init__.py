"""The research pipeline: load -> clean -> features -> labels -> splits, per symbol, inline or on RQ.

Each stage is a plain function ``(frame, ctx) -> frame`` with its own checks; ``STAGES`` composes them.
``start_run`` creates a run under ``runs/<run_id>/``; ``run_inline`` executes its steps in-process, and
``jobqueue.runs`` queues the same steps as one RQ job per (symbol, stage). See docs/pipeline.md.
"""

from __future__ import annotations

from trading_pipeline.stages.bars import clean, load, resample_bars
from trading_pipeline.stages.base import Stage, StageContext, StageFn
from trading_pipeline.stages.config import RunConfig, build_config, parse_timeframe
from trading_pipeline.stages.execute import STAGES, execute_stage
from trading_pipeline.stages.features import compute_features, feature_columns, features
from trading_pipeline.stages.handover import read_frame, stage_path
from trading_pipeline.stages.labels import CLASS_NAMES, label_columns, labels
from trading_pipeline.stages.planning import plan_run
from trading_pipeline.stages.records import (
    Failure,
    InputRef,
    OutputRef,
    RunRecord,
    StageRecord,
    SymbolRecord,
)
from trading_pipeline.stages.runner import check_symbols, prepare_rerun, run_inline, start_run
from trading_pipeline.stages.runs import STAGE_NAMES, list_runs, new_run_id, parse_run, read_run, run_dir
from trading_pipeline.stages.source import BarLoader, InputFile, open_loader
from trading_pipeline.stages.splits import SPLIT_NAMES, split_sizes, splits

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
