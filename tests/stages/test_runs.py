"""Runs executed in-process: outputs, run.json, determinism, reruns, failures and concurrent updates."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from testkit import make_bars
from trading_pipeline.settings import Settings
from trading_pipeline.stages import (
    RunRecord,
    build_config,
    read_run,
    run_dir,
    run_inline,
    stage_path,
    start_run,
)
from trading_pipeline.stages.runs import create_run, list_runs, new_run_id, parse_run, update_run


@pytest.fixture
def two_symbols(ingest: Callable[[str, pd.DataFrame], Path]) -> None:
    ingest("MES", make_bars(3000, seed=1))
    ingest("MGC", make_bars(3000, seed=2))


def _run(settings: Settings, **flags: Any) -> RunRecord:
    config = build_config(**{"symbols": "MES,MGC", **flags})
    record = start_run(settings, config, queued=False)
    return run_inline(settings, record.run_id)


def _values(settings: Settings, run_id: str, symbol: str, split: str) -> pd.DataFrame:
    return pq.read_table(run_dir(settings, run_id) / symbol / f"{split}.parquet").to_pandas()


@pytest.mark.usefixtures("two_symbols")
def test_inline_run_writes_three_splits_per_symbol(settings: Settings) -> None:
    """train/val/test Parquet files exist per symbol with features and labels, and the run succeeded."""
    record = _run(settings)
    assert record.status == "succeeded" and record.finished_at
    for symbol in ("MES", "MGC"):
        train = _values(settings, record.run_id, symbol, "train")
        assert {"ret_1", "rsi_14", "label_60", "fwd_ret_5"} <= set(train.columns)
        assert record.symbols[symbol].outputs["train"].rows == len(train)


@pytest.mark.usefixtures("two_symbols")
def test_run_json_records_lineage_config_and_stage_timings(settings: Settings) -> None:
    """Input files with content hashes, the effective config, and per-stage seconds, rows and checks."""
    record = read_run(settings, _run(settings, timeframe="5min").run_id)
    inputs = record.symbols["MES"].inputs
    assert inputs[0].path.endswith("MES_1m.csv") and len(inputs[0].sha256) == 64
    assert record.config.timeframe == "5min" and record.data_source == "default"
    stages = record.symbols["MES"].stages
    assert all(s.status == "done" and s.seconds is not None and s.seconds >= 0 for s in stages.values())
    assert stages["clean"].rows_out == 600 and "class_shares" in stages["splits"].checks
    assert record.split_plan is not None and record.split_plan.symbols == ["MES", "MGC"]
    assert record.time_basis["calendar"] == "utc"


@pytest.mark.usefixtures("two_symbols")
def test_two_runs_give_identical_values(settings: Settings) -> None:
    """Same inputs and config: every feature and label value is identical."""
    first, second = _run(settings), _run(settings)
    for split in ("train", "val", "test"):
        a, b = (
            _values(settings, first.run_id, "MES", split),
            _values(settings, second.run_id, "MES", split),
        )
        assert a.equals(b)


@pytest.mark.usefixtures("two_symbols")
def test_rerun_from_a_stage_reuses_earlier_outputs(settings: Settings) -> None:
    """A rerun from labels links the old features file and gives the same splits."""
    first = _run(settings)
    record = start_run(settings, first.config, queued=False, from_stage="labels", rerun_of=first)
    second = run_inline(settings, record.run_id)
    stages = second.symbols["MES"].stages
    assert stages["features"].status == "reused" and stages["labels"].status == "done"
    assert second.rerun_of == first.run_id and second.symbols["MES"].inputs
    old_features = stage_path(settings, first.run_id, "MES", "features")
    assert stage_path(settings, second.run_id, "MES", "features").samefile(old_features)
    assert _values(settings, first.run_id, "MES", "test").equals(
        _values(settings, second.run_id, "MES", "test")
    )


def test_a_failing_symbol_fails_the_run_and_the_others_finish(
    settings: Settings, ingest: Callable[[str, pd.DataFrame], Path], trending: Callable[..., pd.DataFrame]
) -> None:
    """MGC's train split lacks 'down' labels: the run fails naming stage, symbol and reason; MES ends."""
    ingest("MES", make_bars(3000, seed=1))
    ingest("MGC", trending(3000))
    record = _run(settings)
    assert record.status == "failed" and record.failure is not None
    assert record.failure.stage == "splits" and record.failure.symbol == "MGC"
    assert "class 'down'" in record.failure.reason and "train rows" in record.failure.reason
    assert record.symbols["MES"].status == "done"


def _bump(data_dir: str, run_id: str, worker: int, count: int, database_url: str | None) -> None:
    settings = Settings.from_env({}, data_dir=Path(data_dir), database_url=database_url)
    for i in range(count):
        update_run(
            settings, run_id, lambda r, i=i: r.jobs.setdefault("MES", {}).update({f"{worker}-{i}": "x"})
        )


def test_concurrent_updates_from_processes_lose_nothing(db_settings: Settings) -> None:
    """Four processes updating a run 25 times each leave all 100 marks (on PostgreSQL, in the run index
    and in run.json alike)."""
    settings = db_settings
    run_id = create_run(settings, build_config(symbols="MES"), mode="rq").run_id
    ctx = multiprocessing.get_context("fork")
    args = [(str(settings.data_dir), run_id, w, 25, settings.database_url) for w in range(4)]
    procs = [ctx.Process(target=_bump, args=a) for a in args]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert len(read_run(settings, run_id).jobs["MES"]) == 100
    on_disk = parse_run((run_dir(settings, run_id) / "run.json").read_bytes())
    assert len(on_disk.jobs["MES"]) == 100
    assert [r.run_id for r in list_runs(settings)] == [run_id]


def test_run_ids_do_not_collide() -> None:
    """Ids made in the same second differ (time plus random bits)."""
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(i.startswith("run_") for i in ids)


def test_feature_values_are_finite_and_labels_complete(settings: Settings, two_symbols: None) -> None:
    """No NaN in features or labels of any split."""
    record = _run(settings)
    frame = _values(settings, record.run_id, "MGC", "train")
    assert np.isfinite(frame.drop(columns="datetime").to_numpy("float64")).all()


def test_a_late_finish_does_not_undo_a_recorded_failure(settings: Settings) -> None:
    """The waiter marked the splits job failed (gone from Redis); the job then finishes anyway."""
    from trading_pipeline.stages.execute import StageResult, _finished, mark_failed

    run_id = create_run(settings, build_config(symbols="MES"), mode="rq").run_id
    update_run(settings, run_id, lambda r: mark_failed(r, "MES", "splits", "job gone from Redis"))
    result = StageResult(rows_in=1, rows_out=1, checks={})
    record = update_run(settings, run_id, lambda r: _finished(r, "MES", "splits", result))
    assert record.symbols["MES"].status == "failed"
    assert record.status == "failed" and record.failure is not None and record.failure.stage == "splits"


@pytest.mark.usefixtures("two_symbols")
def test_rerun_from_splits_makes_the_same_plan(settings: Settings) -> None:
    """Every symbol's labels are reused, so the plan is made at once and the splits match."""
    first = _run(settings)
    record = start_run(settings, first.config, queued=False, from_stage="splits", rerun_of=first)
    second = run_inline(settings, record.run_id)
    assert second.status == "succeeded" and second.split_plan == first.split_plan
    assert _values(settings, first.run_id, "MGC", "val").equals(
        _values(settings, second.run_id, "MGC", "val")
    )


def test_a_plan_that_cannot_be_made_fails_every_waiting_symbol(
    settings: Settings, ingest: Callable[[str, pd.DataFrame], Path]
) -> None:
    """Too few labelled bars for three splits and two purge periods: each symbol fails at splits."""
    ingest("MES", make_bars(220, seed=1))
    ingest("MGC", make_bars(220, seed=2))
    record = _run(settings, min_class_share=0)
    assert record.status == "failed" and record.split_plan is None
    assert {f.symbol for f in record.failures} == {"MES", "MGC"}
    assert all(f.stage == "splits" and "too few" in f.reason for f in record.failures)


@pytest.mark.usefixtures("two_symbols")
def test_a_rerun_reads_the_parquet_hand_overs_older_runs_left(settings: Settings) -> None:
    """Runs made before hand-overs were Arrow files kept whole frames as <stage>.parquet; a rerun from
    labels links and reads them and gives the same splits."""
    from trading_pipeline.stages.handover import ROW, read_chain

    first = _run(settings)
    for symbol in ("MES", "MGC"):
        paths = [stage_path(settings, first.run_id, symbol, s) for s in ("features", "clean")]
        whole = read_chain(paths).drop(columns=ROW)
        whole.to_parquet(paths[0].with_suffix(".parquet"), index=False)
        paths[0].unlink()
    record = start_run(settings, first.config, queued=False, from_stage="labels", rerun_of=first)
    second = run_inline(settings, record.run_id)
    assert second.status == "succeeded"
    assert stage_path(settings, second.run_id, "MES", "features").suffix == ".parquet"
    for split in ("train", "val", "test"):
        assert _values(settings, first.run_id, "MGC", split).equals(
            _values(settings, second.run_id, "MGC", split)
        )


@pytest.mark.usefixtures("two_symbols")
def test_symbols_side_by_side_or_one_after_another_give_the_same_run(settings: Settings) -> None:
    """PIPELINE_RUN_THREADS only changes how long a run takes, never a value or a record."""
    one = Settings.from_env({"PIPELINE_RUN_THREADS": "1"}, data_dir=settings.data_dir)
    two = Settings.from_env({"PIPELINE_RUN_THREADS": "2"}, data_dir=settings.data_dir)
    first, second = _run(one), _run(two)
    assert first.split_plan == second.split_plan and second.status == "succeeded"
    for symbol in ("MES", "MGC"):
        for split in ("train", "val", "test"):
            a, b = (
                _values(settings, first.run_id, symbol, split),
                _values(settings, second.run_id, symbol, split),
            )
            assert a.equals(b)
