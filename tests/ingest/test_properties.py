"""Properties that must hold for any input, checked with hypothesis over many generated files."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from testkit import make_bars
from trading_pipeline.ingest import IngestOptions, read_file
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.report import describe_rows
from trading_pipeline.settings import Settings

ZONES = ["America/Chicago", "America/New_York", "Europe/London", "Australia/Sydney", "Etc/GMT+5", "UTC"]
# Instants a few hours before DST changes in the zones above, so generated files straddle them.
NEAR_TRANSITIONS = [
    datetime(2024, 3, 10, 4, tzinfo=UTC),  # US spring forward
    datetime(2024, 11, 3, 4, tzinfo=UTC),  # US fall back
    datetime(2024, 3, 31, 0, tzinfo=UTC),  # EU spring forward
    datetime(2024, 10, 27, 0, tzinfo=UTC),  # EU fall back
    datetime(2024, 4, 6, 14, tzinfo=UTC),  # Sydney fall back
    datetime(2024, 10, 5, 14, tzinfo=UTC),  # Sydney spring forward
]


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    anchor=st.sampled_from(NEAR_TRANSITIONS),
    offset_min=st.integers(min_value=-240, max_value=240),
    step_min=st.sampled_from([1, 5, 15, 30]),
    n=st.integers(min_value=2, max_value=400),
)
def test_naive_local_times_read_back_as_the_same_utc_instants(
    zone: str, anchor: datetime, offset_min: int, step_min: int, n: int
) -> None:
    """Bars written as naive wall-clock times in any zone, across any DST change, come back exact in UTC.

    A file that *starts* inside a repeated fall-back hour carries no evidence of which pass it is on, so
    only files whose first time is unambiguous are required to come back exact.
    """
    start = anchor + timedelta(minutes=offset_min)
    bars = make_bars(n, start=start.strftime("%Y-%m-%d %H:%M"), freq=f"{step_min}min", tz="UTC")
    local = bars["datetime"].dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M:%S")
    first = pd.Series(pd.to_datetime(local.iloc[:1])).dt.tz_localize(zone, ambiguous="NaT")
    assume(first.notna().all())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "MES_1m.csv"
        bars.assign(datetime=local).to_csv(path, index=False)
        parsed = read_file(path, IngestOptions(tz=zone))
    assert not parsed.has_errors, [f.message for f in parsed.findings]
    got = parsed.table.column("datetime").to_numpy().astype("datetime64[ns]")
    want = bars["datetime"].dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(parsed.table.column("close").to_numpy(), bars["close"].to_numpy())


@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=300),
    shuffle_seed=st.integers(min_value=0, max_value=10_000),
    duplicated=st.integers(min_value=0, max_value=20),
)
def test_ingest_stores_each_bar_once_in_time_order_whatever_the_file_order(
    n: int, shuffle_seed: int, duplicated: int
) -> None:
    """Shuffled rows with exact repeats are stored sorted, de-duplicated and otherwise unchanged."""
    bars = make_bars(n, seed=shuffle_seed)
    repeats = bars.sample(n=min(duplicated, n), random_state=shuffle_seed)
    messy = pd.concat([bars, repeats]).sample(frac=1.0, random_state=shuffle_seed)
    with tempfile.TemporaryDirectory() as tmp:
        data = Settings.from_env({}, data_dir=Path(tmp) / "data")
        path = Path(tmp) / "ES_1m.csv"
        messy.assign(datetime=messy["datetime"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(path, index=False)
        report = DataIngestor(data).ingest(path, IngestOptions())
        assert report.status == "ingested", report.reason()
        stored = pq.read_table(report.symbols["ES"].output).to_pandas()
    pd.testing.assert_frame_equal(
        stored[["datetime", "open", "high", "low", "close", "volume"]].reset_index(drop=True),
        bars.assign(datetime=bars["datetime"].astype("datetime64[ns, UTC]")),
        check_dtype=False,
    )


@given(rows=st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=30, unique=True))
def test_described_rows_name_exactly_the_given_rows(rows: list[int]) -> None:
    """'rows 4, 9-12' lists every given row and no other."""
    text = describe_rows(sorted(rows), len(rows)).split(" ", 1)[1]
    named: set[int] = set()
    for part in text.split(", "):
        first, _, last = part.partition("-")
        named.update(range(int(first), int(last or first) + 1))
    assert named == set(rows)
