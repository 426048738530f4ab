"""A run's configuration before it starts: the effective TOML, the checks, the split dates it will use.

``check_config`` runs exactly the checks `pipeline run` runs (the same model, the same symbol check), so
a screen refuses what the CLI would refuse, with the same words, before anything is queued.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trading_pipeline.errors import ConfigError, PipelineError
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import RunConfig, build_config
from trading_pipeline.stages.records import SplitPlan
from trading_pipeline.stages.runner import check_symbols
from trading_pipeline.stages.splits import PlanError, build_plan
from trading_pipeline.views.sources import symbol_times

__all__ = ["ConfigCheck", "check_config", "config_toml", "preview_splits"]


@dataclass(frozen=True)
class ConfigCheck:
    """The checked config and its TOML, or the reason it cannot run."""

    config: RunConfig | None
    toml: str
    problem: str

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.problem


def config_toml(config: RunConfig) -> str:
    """The config as the ``[run]`` table `pipeline run --config FILE` reads (unset options left out)."""
    lines = ["[run]"]
    for key, value in config.model_dump(mode="json").items():
        if value is None:
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def check_config(settings: Settings, values: Mapping[str, Any]) -> ConfigCheck:
    """Build the config from option values (None: not given) and check its symbols against the source."""
    try:
        config = check_symbols(settings, build_config(None, **dict(values)))
    except PipelineError as exc:
        return ConfigCheck(None, "", exc.message)
    return ConfigCheck(config, config_toml(config), "")


def preview_splits(settings: Settings, config: RunConfig) -> SplitPlan:
    """The split instants the run would choose from the stored bars' open times (before cleaning and
    resampling, so the run's own plan may differ by a few bars); ``ConfigError`` when they cannot fit."""
    times: dict[str, np.ndarray] = {}
    bar_ns = 0
    for symbol in config.symbols:
        values = symbol_times(settings, config.data_source, symbol)
        if config.timeframe:
            step = int(pd.Timedelta(config.timeframe).value)
            values = np.unique(values // step * step)
        times[symbol] = values
        if len(values) > 1:
            bar_ns = max(bar_ns, int(np.median(np.diff(values))))
    if config.timeframe:
        bar_ns = int(pd.Timedelta(config.timeframe).value)
    try:
        return build_plan(times, config, bar_ns)
    except PlanError as exc:
        raise ConfigError(str(exc)) from exc
