"""What every screen shows: typed read models shared by the CLI and the UI, so the two never disagree.

Each function reads the disk (the ledger, the source registry, run records) and returns plain data;
screens only render it. Queue-side reads (Redis) live in ``jobqueue.views``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_pipeline.lazy import lazy_exports

if TYPE_CHECKING:
    from trading_pipeline.views.config import (
        ConfigCheck,
        check_config,
        config_toml,
        preview_splits,
    )
    from trading_pipeline.views.files import (
        FileListing,
        UploadedState,
        file_listing,
        latest_rejections,
        reason_or_warning,
        short_path,
        status_counts,
        upload_states,
    )
    from trading_pipeline.views.runs import (
        RunSummary,
        StageProgress,
        label_distribution,
        run_downloads,
        run_summaries,
        run_summary,
        stage_progress,
    )
    from trading_pipeline.views.sources import (
        ChartData,
        SourceSummary,
        chart_data,
        coverage,
        downsample_bars,
        source_state,
        source_summaries,
        source_summary,
        source_symbols,
    )

_EXPORTS = {
    "ConfigCheck": "trading_pipeline.views.config",
    "check_config": "trading_pipeline.views.config",
    "config_toml": "trading_pipeline.views.config",
    "preview_splits": "trading_pipeline.views.config",
    "FileListing": "trading_pipeline.views.files",
    "file_listing": "trading_pipeline.views.files",
    "latest_rejections": "trading_pipeline.views.files",
    "reason_or_warning": "trading_pipeline.views.files",
    "short_path": "trading_pipeline.views.files",
    "status_counts": "trading_pipeline.views.files",
    "UploadedState": "trading_pipeline.views.files",
    "upload_states": "trading_pipeline.views.files",
    "RunSummary": "trading_pipeline.views.runs",
    "StageProgress": "trading_pipeline.views.runs",
    "label_distribution": "trading_pipeline.views.runs",
    "run_downloads": "trading_pipeline.views.runs",
    "run_summaries": "trading_pipeline.views.runs",
    "run_summary": "trading_pipeline.views.runs",
    "stage_progress": "trading_pipeline.views.runs",
    "SourceSummary": "trading_pipeline.views.sources",
    "coverage": "trading_pipeline.views.sources",
    "ChartData": "trading_pipeline.views.sources",
    "chart_data": "trading_pipeline.views.sources",
    "downsample_bars": "trading_pipeline.views.sources",
    "source_state": "trading_pipeline.views.sources",
    "source_summaries": "trading_pipeline.views.sources",
    "source_summary": "trading_pipeline.views.sources",
    "source_symbols": "trading_pipeline.views.sources",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ChartData",
    "ConfigCheck",
    "FileListing",
    "RunSummary",
    "SourceSummary",
    "StageProgress",
    "UploadedState",
    "chart_data",
    "check_config",
    "config_toml",
    "coverage",
    "downsample_bars",
    "file_listing",
    "label_distribution",
    "latest_rejections",
    "preview_splits",
    "reason_or_warning",
    "run_downloads",
    "run_summaries",
    "run_summary",
    "short_path",
    "source_state",
    "source_summaries",
    "source_summary",
    "source_symbols",
    "stage_progress",
    "status_counts",
    "upload_states",
]
