"""Level-3 validation: a split with too few rows, or too few rows of a label class, never passes silently."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import build_app
from testkit import make_bars
from trading_pipeline.errors import StageError
from trading_pipeline.settings import Settings
from trading_pipeline.stages import RunConfig, StageContext, build_config, clean, features, labels, splits
from trading_pipeline.stages.splits import build_plan

MINUTE = 60_000_000_000
TINY_TRAIN = "0.0025,0.4975,0.5"
"""Ratios that leave about 4 train rows of 2,000 one-minute bars."""

Ingest = Callable[[str, pd.DataFrame], Path]


def _split(bars: pd.DataFrame, **config: object) -> tuple[pd.DataFrame, StageContext]:
    cfg = RunConfig.model_validate(config)
    frame = bars
    for stage in (clean, features, labels):
        frame = stage(frame, StageContext(symbol="MES", config=cfg, stage=stage.__name__))
    times = frame["datetime"].to_numpy("datetime64[ns]").astype("int64")
    ctx = StageContext(symbol="MES", config=cfg, stage="splits", plan=build_plan({"MES": times}, cfg, MINUTE))
    return splits(frame, ctx), ctx


def test_a_tiny_train_split_is_a_recorded_warning_by_default() -> None:
    """4 train rows: the stage finishes, a warning names the split and the setting, and the finding is
    recorded with its level; val and test are large enough and raise nothing."""
    _, ctx = _split(make_bars(2000, seed=3), splits=TINY_TRAIN, min_class_share=0)
    train_rows = ctx.checks["train"]["rows"]
    assert 0 < train_rows < 10
    found = [f for f in ctx.checks["minimums"] if f["check"] == "min_split_rows"]
    assert [(f["split"], f["rows"], f["minimum"], f["level"]) for f in found] == [
        ("train", train_rows, 100, "warning")
    ]
    assert f"train has {train_rows} rows, below the minimum 100 (min_split_rows)" in ctx.warnings
    assert {f["split"] for f in ctx.checks["minimums"]} == {"train"}


def test_failing_severity_stops_the_symbol_with_every_shortfall_named() -> None:
    """min_rows_severity = fail: StageError at splits, the reason lists the shortfalls, checks go with it."""
    with pytest.raises(StageError) as caught:
        _split(make_bars(2000, seed=3), splits=TINY_TRAIN, min_class_share=0, min_rows_severity="fail")
    reason = caught.value.fields["reason"]
    assert "train has" in reason and "min_split_rows" in reason and "min_rows_severity" in reason
    levels = {f["level"] for f in caught.value.fields["checks"]["minimums"]}
    assert levels == {"error"}


def test_rare_classes_are_counted_per_split_and_horizon() -> None:
    """A minimum no class can reach in val names each label column and class that falls short."""
    _, ctx = _split(make_bars(2000, seed=3), min_class_rows=100_000, min_split_rows=1)
    found = [f for f in ctx.checks["minimums"] if f["check"] == "min_class_rows"]
    assert {(f["split"], f["column"]) for f in found} == {
        (s, f"label_{h}") for s in ("train", "val", "test") for h in (5, 15, 60)
    }
    assert all(set(f["classes"]) == {"down", "flat", "up"} for f in found)
    assert len(ctx.warnings) == len(found)


def test_enough_rows_record_an_empty_list() -> None:
    """Defaults on 3,000 bars: nothing falls short and nothing is warned."""
    _, ctx = _split(make_bars(3000, seed=5))
    assert ctx.checks["minimums"] == [] and ctx.warnings == []


def test_settings_give_defaults_that_the_toml_and_flags_override(tmp_path: Path) -> None:
    """Precedence: run config defaults < PIPELINE_RUN_* settings < run.toml < flags."""
    settings = Settings.from_env(
        {"PIPELINE_RUN_MIN_SPLIT_ROWS": "500", "PIPELINE_RUN_MIN_ROWS_SEVERITY": "fail"}, data_dir=tmp_path
    )
    assert build_config(defaults=settings.run_defaults()).min_split_rows == 500
    assert build_config(defaults=Settings.from_env({}, data_dir=tmp_path).run_defaults()).min_class_rows == 10
    toml = tmp_path / "run.toml"
    toml.write_text("[run]\nmin-split-rows = 20\nmin_class_rows = 3\n")
    config = build_config(toml, defaults=settings.run_defaults(), min_class_rows=7)
    assert (config.min_split_rows, config.min_class_rows, config.min_rows_severity) == (20, 7, "fail")


@pytest.fixture
def cli(settings: Settings, ingest: Ingest) -> Callable[..., Any]:
    ingest("MES", make_bars(2000, seed=3))
    runner = CliRunner()
    env = {"PIPELINE_DATA_DIR": str(settings.data_dir), "PIPELINE_REDIS_URL": "", "REDIS_URL": ""}

    def invoke(*args: str, **extra_env: str) -> Any:
        return runner.invoke(build_app(args[0]), list(args), env={**env, **extra_env})

    return invoke


def _run_id(result: Any) -> str:
    return str(json.loads(result.stdout.strip().splitlines()[-1])["run_id"])


def test_a_run_with_four_train_rows_succeeds_only_with_visible_warnings(cli: Callable[..., Any]) -> None:
    """`pipeline run` exits 0, but run.json, `status RUN`, `status --json` and the list all show why."""
    args = ("run", "--symbols", "MES", "--splits", TINY_TRAIN, "--min-class-share", "0", "--inline", "--json")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    run_id = _run_id(result)
    one = json.loads(cli("status", run_id, "--json").stdout)
    findings = one["symbols"]["MES"]["stages"]["splits"]["checks"]["minimums"]
    assert findings and findings[0]["level"] == "warning" and findings[0]["split"] == "train"
    assert any("min_split_rows" in w for w in one["symbols"]["MES"]["warnings"])
    listed = json.loads(cli("status", "--json").stdout)["runs"][0]
    assert any("min_split_rows" in w for w in listed["warnings"]["MES"])
    shown = cli("status", run_id).stdout
    assert "warning" in shown and "min_split_rows" in shown
    assert "⚠" in cli("status").stdout


def test_failing_severity_from_settings_fails_the_run(cli: Callable[..., Any]) -> None:
    """PIPELINE_RUN_MIN_ROWS_SEVERITY=fail: exit 1, failure at splits, findings recorded as errors."""
    severity = {"PIPELINE_RUN_MIN_ROWS_SEVERITY": "fail"}
    args = ("run", "--symbols", "MES", "--splits", TINY_TRAIN, "--min-class-share", "0", "--inline", "--json")
    result = cli(*args, **severity)
    assert result.exit_code == 1
    run_id = _run_id(result)
    one = json.loads(cli("status", run_id, "--json").stdout)
    assert one["status"] == "failed" and one["config"]["min_rows_severity"] == "fail"
    assert one["failure"]["stage"] == "splits" and "min_split_rows" in one["failure"]["reason"]
    splits_stage = one["symbols"]["MES"]["stages"]["splits"]
    assert splits_stage["status"] == "failed" and splits_stage["checks"]["minimums"][0]["level"] == "error"
    assert "failed" in cli("status", run_id).stdout
