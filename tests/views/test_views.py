"""The read models and actions every screen shares, on a real data folder and a real ledger."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from testkit import csv_bytes, make_bars
from trading_pipeline import actions
from trading_pipeline.errors import UnsafeNameError
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import RunConfig, build_config
from trading_pipeline.statuses import FileStatus, Tone
from trading_pipeline.views import (
    check_config,
    config_toml,
    coverage,
    downsample_bars,
    file_listing,
    latest_rejections,
    preview_splits,
    source_summaries,
)


def _ingest(settings: Settings, name: str, data: bytes) -> None:
    path = settings.raw_dir / name
    path.write_bytes(data)
    DataIngestor(settings).ingest(path, IngestOptions())


def test_file_listing_pages_newest_first_with_counts(settings: Settings) -> None:
    for i in range(3):
        _ingest(settings, f"ES{i}_1m.csv", csv_bytes(rows=50, seed=i))
    _ingest(settings, "BAD_1m.csv", b"datetime,open\nnot,a file\n")
    listing = file_listing(settings, limit=2)
    assert listing.total == 4 and len(listing.records) == 2
    assert Path(listing.records[0].path).name == "BAD_1m.csv"
    assert listing.counts == {FileStatus.INGESTED: 3, FileStatus.REJECTED: 1}
    assert listing.summary() == "3 ingested, 1 rejected"
    second = file_listing(settings, limit=2, offset=2)
    assert [Path(r.path).name for r in second.records] == ["ES1_1m.csv", "ES0_1m.csv"]
    rejected = latest_rejections(settings)
    assert [Path(r.path).name for r in rejected] == ["BAD_1m.csv"] and rejected[0].reason


def test_upload_writes_a_session_that_is_a_source_and_refuses_bad_names(settings: Settings) -> None:
    upload = actions.upload_files(
        settings, [actions.UploadFile("MES_1m.csv", csv_bytes(60)), actions.UploadFile("x.csv", b"1", "MGC")]
    )
    names = sorted(f.name for f in upload.files)
    assert names == ["MES_1m.csv", "x.csv"]
    assert all(f.path.is_file() and len(f.sha256) == 64 for f in upload.files)
    assert not list(upload.files[0].path.parent.glob(".*.part"))
    ids = {s.meta.source_id for s in source_summaries(settings)}
    assert upload.session_id in ids
    with pytest.raises(UnsafeNameError):
        actions.upload_files(settings, [actions.UploadFile("../evil.csv", b"x")])
    actions.set_active_source(settings, upload.session_id)
    active = [s for s in source_summaries(settings) if s.active]
    assert [s.meta.source_id for s in active] == [upload.session_id]
    actions.remove_source(settings, upload.session_id)
    assert upload.session_id not in {s.meta.source_id for s in source_summaries(settings)}


def test_check_files_stores_nothing(settings: Settings) -> None:
    given = [actions.UploadFile("MES_1m.csv", csv_bytes(60)), actions.UploadFile("b.csv", b"a,b\n1,2\n")]
    reports = actions.check_files(settings, given)
    assert [r.status for r in reports] == [FileStatus.VALIDATED, FileStatus.REJECTED]
    assert file_listing(settings).total == 0
    assert not list(settings.processed_dir.rglob("*.parquet"))


def test_config_toml_reads_back_as_the_same_config(tmp_path: Path) -> None:
    config = RunConfig(symbols=("MES", "MGC"), horizons=(5, "1h"), timeframe="5min", session="08:30-15:00")
    path = tmp_path / "run.toml"
    path.write_text(config_toml(config))
    tomllib.loads(path.read_text())
    assert build_config(path) == config


def test_check_config_refuses_with_the_cli_reason_and_previews_splits(settings: Settings) -> None:
    _ingest(settings, "MES_1m.csv", csv_bytes(rows=3000, seed=1))
    bad = check_config(settings, {"splits": "0.9,0.2,0.1"})
    assert not bad.ok and "splits" in bad.problem
    unknown = check_config(settings, {"symbols": "NOPE"})
    assert not unknown.ok and "available: MES" in unknown.problem
    good = check_config(settings, {"symbols": "MES", "horizons": "5"})
    assert good.ok and good.config is not None and 'symbols = ["MES"]' in good.toml
    plan = preview_splits(settings, good.config)
    assert plan.train.start < str(plan.val.start) < str(plan.test.start)


def test_downsample_keeps_extremes_and_coverage_flags_short_days() -> None:
    bars = make_bars(10_000, seed=3)
    small = downsample_bars(bars, max_points=100)
    assert len(small) <= 100
    assert small["high"].max() == bars["high"].max() and small["low"].min() == bars["low"].min()
    assert small["volume"].sum() == pytest.approx(bars["volume"].sum())
    assert small["close"].iloc[-1] == bars["close"].iloc[-1]
    days = coverage(bars)
    assert int(days["bars"].sum()) == len(bars)
    assert days["gap"].dtype == bool


def test_source_state_is_in_words_with_a_tone(settings: Settings) -> None:
    _ingest(settings, "MES_1m.csv", csv_bytes(rows=100))
    (default,) = [s for s in source_summaries(settings) if s.meta.source_id == "default"]
    # naive times taken as UTC are a warning, and the state says so rather than a bare "ok"
    assert default.state == (Tone.BUSY, "ok, 1 file(s) with warnings") and default.active
    assert isinstance(pd.Timestamp(default.meta.date_range[0]), pd.Timestamp)  # type: ignore[index]
