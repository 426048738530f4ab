"""`pipeline run / status / rerun`: boundary validation, exit codes and output, without Redis."""

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
from trading_pipeline.settings import Settings

Ingest = Callable[[str, pd.DataFrame], Path]


@pytest.fixture
def cli(settings: Settings, ingest: Ingest) -> Callable[..., Any]:
    ingest("MES", make_bars(2000, seed=1))
    ingest("MGC", make_bars(2000, seed=2))
    runner = CliRunner()
    env = {"PIPELINE_DATA_DIR": str(settings.data_dir), "PIPELINE_REDIS_URL": "", "REDIS_URL": ""}

    def invoke(*args: str, **extra_env: str) -> Any:
        return runner.invoke(build_app(args[0]), list(args), env={**env, **extra_env})

    return invoke


def test_unknown_symbol_is_a_usage_error_listing_available_symbols(cli: Callable[..., Any]) -> None:
    """Exit 2, and the message names the symbols the source has."""
    result = cli("run", "--symbols", "MES,ZZZ", "--inline")
    assert result.exit_code == 2
    assert "unknown symbol ZZZ" in result.output and "available: MES, MGC" in result.output


def test_bad_ratios_are_a_usage_error(cli: Callable[..., Any]) -> None:
    """Splits that do not sum to 1 exit 2 before anything runs."""
    result = cli("run", "--symbols", "MES", "--splits", "0.5,0.3,0.3", "--inline")
    assert result.exit_code == 2 and "sum to 1" in result.output


def test_unreachable_redis_suggests_inline(cli: Callable[..., Any]) -> None:
    """Without --inline and with no Redis the error says how to proceed."""
    result = cli("run", "--symbols", "MES", PIPELINE_REDIS_URL="redis://127.0.0.1:1/0")
    assert result.exit_code == 1 and "--inline" in result.output and "pipeline up" in result.output


def test_inline_run_succeeds_and_status_lists_it(cli: Callable[..., Any]) -> None:
    """Exit 0; `status --json` lists the run as succeeded; `status RUN --json` is its run.json."""
    result = cli("run", "--symbols", "MES,MGC", "--inline", "--json")
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout.strip().splitlines()[-1])["run_id"]
    listed = json.loads(cli("status", "--json").stdout)
    assert listed["runs"][0]["run_id"] == run_id and listed["runs"][0]["status"] == "succeeded"
    one = json.loads(cli("status", run_id, "--json").stdout)
    assert one["symbols"]["MES"]["outputs"]["test"]["rows"] > 0


def test_a_failed_run_exits_1(cli: Callable[..., Any]) -> None:
    """A label class under the configured share of train fails the run: exit 1 with stage and symbol."""
    result = cli("run", "--symbols", "MES", "--inline", "--min-class-share", "0.6")
    assert result.exit_code == 1
    assert "failed splits for MES" in result.output and "train rows" in result.output


def test_rerun_from_stage_makes_a_new_run(cli: Callable[..., Any]) -> None:
    """`rerun RUN --from-stage labels --inline` succeeds under a new id that names its origin."""
    first = json.loads(cli("run", "--symbols", "MES", "--inline", "--json").stdout)
    result = cli("rerun", first["run_id"], "--from-stage", "labels", "--inline", "--json")
    second = json.loads(result.stdout)
    assert result.exit_code == 0 and second["run_id"] != first["run_id"]
    assert second["rerun_of"] == first["run_id"] and second["from_stage"] == "labels"


def test_rerun_from_an_unknown_stage_is_a_usage_error(cli: Callable[..., Any]) -> None:
    """The message lists the stages."""
    first = json.loads(cli("run", "--symbols", "MES", "--inline", "--json").stdout)
    result = cli("rerun", first["run_id"], "--from-stage", "lables")
    assert result.exit_code == 2 and "load, clean, features, labels, splits" in result.output


def test_unknown_data_source_is_a_usage_error(cli: Callable[..., Any]) -> None:
    """Exit 2 naming the source."""
    result = cli("run", "--data-source", "nope", "--inline")
    assert result.exit_code == 2 and "nope" in result.output
