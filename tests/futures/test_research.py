"""The research pipeline on a futures product: CME trade dates, minutes since the session open, labels
that never cross a closure, and `--continuous` runs that record the roll log they used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from testkit.futures import make_chain
from trading_pipeline.futures.calendar import CHICAGO
from trading_pipeline.futures.research import CmeSessionClock
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.stages import build_config
from trading_pipeline.stages.runner import check_symbols, run_inline, start_run

PIPELINE = str(Path(sys.executable).parent / "pipeline")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with three MES contracts ingested and a volume-rolled continuous series built."""
    data = tmp_path_factory.mktemp("futures") / "data"
    raw = data / "raw"
    raw.mkdir(parents=True)
    for symbol, frame in make_chain(crossings=["2025-03-10", "2025-06-09"], interval="15min").items():
        out = frame.copy()
        out["datetime"] = out["datetime"].dt.strftime("%Y-%m-%d %H:%M:%S")
        out.to_csv(raw / f"{symbol}_15m.csv", index=False)
    env = {**os.environ, "PIPELINE_DATA_DIR": str(data)}
    for args in (
        ["ingest", str(raw)],
        ["continuous", "build", "MES", "--roll", "volume", "--adjust", "difference"],
    ):
        done = subprocess.run([PIPELINE, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    return data


def _run(data: Path, **flags: object):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=data)
    config = check_symbols(settings, build_config(None, **flags))
    record = start_run(settings, config, queued=False)
    return settings, run_inline(settings, record.run_id)


def test_continuous_run_records_the_roll_log_and_the_cme_time_basis(built: Path) -> None:
    settings, record = _run(built, symbols="MES", continuous=True, horizons="4,16")
    assert record.status == "succeeded", record.failure
    build = Ledger(settings).builds("continuous", "MES")[-1]
    inputs = {(i.path, i.sha256) for i in record.symbols["MES"].inputs}
    assert (build.log, build.log_sha256) in inputs
    assert record.time_basis["calendar"] == "cme"
    assert "minutes since the CME Globex session opened" in record.time_basis["time_of_day"]
    labels = record.symbols["MES"].stages["labels"].checks
    assert labels  # the labels stage counted what it dropped at breaks
    train = pd.read_parquet(settings.runs_dir / record.run_id / "MES" / "train.parquet")
    local = train["datetime"].dt.tz_convert(CHICAGO)
    at_open = (local.dt.hour == 17) & (local.dt.minute == 0)
    assert at_open.any()
    assert np.allclose(train.loc[at_open, "tod_sin"], 0.0) and np.allclose(train.loc[at_open, "tod_cos"], 1.0)


def test_labels_never_look_across_a_closure(built: Path) -> None:
    settings, record = _run(built, symbols="MES", continuous=True, horizons="4")
    train = pd.read_parquet(settings.runs_dir / record.run_id / "MES" / "train.parquet")
    clock = CmeSessionClock("MES")
    opens = train["datetime"].to_numpy("datetime64[ns]").astype(np.int64)
    _, close = clock.session_span(opens)
    # A 4-bar (1 h) horizon from the bar's close must end by its session's close.
    assert (opens + 15 * 60 * 10**9 + 4 * 15 * 60 * 10**9 <= close).all()


def test_daily_bars_follow_the_cme_trade_date(built: Path) -> None:
    settings, record = _run(built, symbols="MES", continuous=True, timeframe="1d", horizons="1")
    assert record.status == "succeeded", record.failure
    frames = [
        pd.read_parquet(settings.runs_dir / record.run_id / "MES" / f"{s}.parquet")
        for s in ("train", "val", "test")
    ]
    days = pd.concat(frames)["datetime"]
    assert (days.dt.hour == 0).all()
    # Trade dates are weekdays: the Sunday-evening open belongs to Monday, never to a Sunday bin.
    assert not days.dt.day_of_week.isin([5, 6]).any()


def test_bare_roots_keep_utc_unless_asked(built: Path) -> None:
    config = build_config(None, symbols="EURUSD")
    from trading_pipeline.stages.config import time_basis, uses_cme_sessions

    assert not uses_cme_sessions(config, "MES") and uses_cme_sessions(config, "MESH25")
    assert time_basis(config)["calendar"] == "utc"
    assert uses_cme_sessions(build_config(None, calendar="cme"), "MES")
