"""End to end: CSV files -> `pipeline ingest` -> `pipeline run --wait` on forking RQ workers -> splits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import redis
from rq.job import Job
from rq.registry import DeferredJobRegistry

from jobqueue import PIPELINE_QUEUE, SERIALIZER
from jobqueue.runs import start_queued_run, wait_for_run
from testkit import make_bars, write_bars_csv
from trading_pipeline.settings import Settings
from trading_pipeline.stages import (
    RunConfig,
    build_config,
    compute_features,
    feature_columns,
    read_frame,
    stage_path,
)

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 180
SPLITS = ("train", "val", "test")


@pytest.fixture
def env(cli_env: dict[str, str], redis_url: str) -> dict[str, str]:
    return {**cli_env, "PIPELINE_REDIS_URL": redis_url, "PIPELINE_LOG_FORMAT": "json"}


@pytest.fixture
def workers(env: dict[str, str], redis_url: str, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two forking `rq worker` processes on the pipeline queue with the JSON serializer."""
    argv = [str(BIN / "rq"), "worker", "-u", redis_url, "--serializer", "rq.serializers.JSONSerializer"]
    procs = []
    for i in range(2):
        with (tmp_path / f"worker{i}.log").open("wb") as log:
            name = ["--name", f"w{i}-{os.getpid()}", PIPELINE_QUEUE]
            procs.append(subprocess.Popen([*argv, *name], env=env, stdout=log, stderr=subprocess.STDOUT))
    yield procs
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pipeline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pipeline"), *args], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )


def _ingest(settings: Settings, env: dict[str, str], bars: dict[str, pd.DataFrame]) -> None:
    for symbol, frame in bars.items():
        write_bars_csv(settings.raw_dir / f"{symbol}_1m.csv", frame)
    result = _pipeline(env, "ingest", str(settings.raw_dir), "--tz", "UTC", "--json")
    assert result.returncode == 0, result.stderr[-2000:]


def _run(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    result = _pipeline(env, "run", "--symbols", "MES,MGC", "--json", *args)
    assert result.stdout.strip(), result.stderr[-2000:]
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


def _split(settings: Settings, run_id: str, symbol: str, name: str) -> pd.DataFrame:
    return pq.read_table(settings.runs_dir / run_id / symbol / f"{name}.parquet").to_pandas()


@pytest.fixture
def ingested(settings: Settings, env: dict[str, str]) -> None:
    _ingest(settings, env, {"MES": make_bars(4000, seed=11), "MGC": make_bars(4000, seed=12)})


@pytest.mark.usefixtures("ingested", "workers")
def test_workers_produce_splits_with_purge_gaps_and_complete_labels(
    settings: Settings, env: dict[str, str]
) -> None:
    """Every bar is accounted for; labels have no NaN; splits share no bar and are max(h) bars apart."""
    code, record = _run(env, "--wait")
    assert code == 0 and record["status"] == "succeeded" and record["mode"] == "rq"
    for symbol in ("MES", "MGC"):
        stages = record["symbols"][symbol]["stages"]
        parts = {name: _split(settings, record["run_id"], symbol, name) for name in SPLITS}
        assert sum(len(p) for p in parts.values()) + 2 * 60 == stages["labels"]["rows_out"] == 4000 - 60 - 60
        assert all(not p.filter(like="label_").isna().any().any() for p in parts.values())
        clean = read_frame(stage_path(settings, record["run_id"], symbol, "clean"))
        position = {ts: i for i, ts in enumerate(clean["datetime"])}
        bounds = [(position[p["datetime"].iloc[0]], position[p["datetime"].iloc[-1]]) for p in parts.values()]
        assert bounds[1][0] - bounds[0][1] - 1 == 60 and bounds[2][0] - bounds[1][1] - 1 == 60


@pytest.mark.usefixtures("ingested", "workers")
def test_worker_output_features_use_only_past_bars(settings: Settings, env: dict[str, str]) -> None:
    """Recomputing features from the clean bars up to t alone reproduces the stored features at t."""
    _, record = _run(env, "--wait")
    clean = read_frame(stage_path(settings, record["run_id"], "MES", "clean"))
    val = _split(settings, record["run_id"], "MES", "val")
    names = feature_columns(RunConfig())
    for row in (0, len(val) // 2):
        t = val["datetime"].iloc[row]
        past = clean.loc[clean["datetime"] <= t].reset_index(drop=True)
        recomputed = compute_features(past, RunConfig())[names].iloc[-1].to_numpy()
        assert np.array_equal(recomputed, val[names].iloc[row].to_numpy())


@pytest.mark.usefixtures("ingested", "workers")
def test_runs_are_deterministic_across_workers_and_inline(settings: Settings, env: dict[str, str]) -> None:
    """Two RQ runs and one --inline run give identical feature and label values."""
    runs = [_run(env, "--wait")[1], _run(env, "--wait")[1], _run(env, "--inline")[1]]
    for symbol in ("MES", "MGC"):
        for name in SPLITS:
            first = _split(settings, runs[0]["run_id"], symbol, name)
            for other in runs[1:]:
                assert first.equals(_split(settings, other["run_id"], symbol, name))


@pytest.mark.usefixtures("workers")
def test_a_failing_stage_fails_the_run_without_hanging(
    settings: Settings, env: dict[str, str], redis_url: str
) -> None:
    """MGC is too short for the features: exit 1 with stage, symbol and reason; its later jobs are
    cancelled; MES still gets its splits from a plan made of its own bars; nothing stays deferred."""
    _ingest(settings, env, {"MES": make_bars(4000, seed=11), "MGC": make_bars(50, seed=12)})
    code, record = _run(env, "--wait")
    assert code == 1 and record["status"] == "failed"
    assert record["failure"]["stage"] == "features" and record["failure"]["symbol"] == "MGC"
    assert "warm-up" in record["failure"]["reason"]
    assert record["symbols"]["MES"]["status"] == "done" and record["split_plan"]["symbols"] == ["MES"]
    assert "splits" not in record["jobs"]["MGC"]
    connection = redis.Redis.from_url(redis_url)
    labels_job = Job.fetch(record["jobs"]["MGC"]["labels"], connection=connection, serializer=SERIALIZER)
    assert labels_job.get_status() == "canceled"
    assert DeferredJobRegistry(PIPELINE_QUEUE, connection=connection).get_job_ids(cleanup=False) == []


@pytest.mark.usefixtures("workers")
def test_a_class_share_below_the_minimum_on_train_fails_the_symbol(
    settings: Settings, env: dict[str, str], trending: Callable[..., pd.DataFrame]
) -> None:
    """MGC lacks 'down' labels in train: its splits job fails with the reason; MES finishes."""
    _ingest(settings, env, {"MES": make_bars(4000, seed=11), "MGC": trending(4000)})
    code, record = _run(env, "--wait")
    assert code == 1 and record["failure"]["stage"] == "splits" and record["failure"]["symbol"] == "MGC"
    assert "class 'down'" in record["failure"]["reason"] and "train rows" in record["failure"]["reason"]
    assert record["symbols"]["MES"]["status"] == "done"


def test_waiting_notices_jobs_that_vanished_from_redis(
    settings: Settings, redis_url: str, ingest: Any
) -> None:
    """A run whose queued jobs were flushed from Redis is marked failed by the waiter instead of hanging."""
    ingest("MES", make_bars(500))
    connection = redis.Redis.from_url(redis_url)
    record = start_queued_run(connection, settings, build_config(symbols="MES"))
    connection.flushall()
    record = wait_for_run(settings, record.run_id, connection, poll_s=0.05)
    assert record.status == "failed" and record.failure is not None and record.failure.stage == "load"
    assert "gone from Redis" in record.failure.reason
