"""Merging one symbol's bars from several files: identical overlaps merge, conflicts name both files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.errors import ConflictingBarsError
from trading_pipeline.sources.merge import merge_bars


def test_disjoint_files_concatenate_in_time_order() -> None:
    """Later file first in the list still yields time order."""
    bars = make_bars(20)
    merged = merge_bars("MES", [("b.csv", bars.iloc[10:]), ("a.csv", bars.iloc[:10])])
    pd.testing.assert_frame_equal(merged, bars)


def test_identical_overlap_is_kept_once() -> None:
    """A bar present in two files with the same values appears once."""
    bars = make_bars(30)
    merged = merge_bars("MES", [("a.csv", bars.iloc[:20]), ("b.csv", bars.iloc[10:])])
    pd.testing.assert_frame_equal(merged, bars)


def test_conflicting_overlap_names_both_files() -> None:
    """Differing values at one timestamp raise with both files, the count and the first timestamp."""
    bars = make_bars(30)
    other = bars.iloc[10:].copy()
    other.loc[other.index[[2, 5]], "close"] += 1.0
    with pytest.raises(ConflictingBarsError) as info:
        merge_bars("MES", [("a.csv", bars.iloc[:20]), ("b.csv", other)])
    err = info.value
    assert (err.fields["first_file"], err.fields["second_file"]) == ("a.csv", "b.csv")
    assert err.fields["count"] == 2
    assert err.fields["timestamp"] == bars["datetime"].iloc[12].isoformat()


def test_missing_optional_value_does_not_conflict() -> None:
    """A file lacking vwap (NaN) agrees with one that has it, and the value is kept."""
    bars = make_bars(10)
    with_vwap = bars.assign(vwap=np.linspace(1, 2, 10))
    merged = merge_bars("MES", [("a.csv", bars), ("b.csv", with_vwap.iloc[5:])])
    assert len(merged) == 10
    assert merged["vwap"].iloc[5:].tolist() == with_vwap["vwap"].iloc[5:].tolist()
    assert merged["vwap"].iloc[:5].isna().all()


def test_conflict_between_later_files_names_those_files() -> None:
    """With three files, the pair that actually disagrees is named."""
    bars = make_bars(5)
    third = bars.copy()
    third.loc[2, "open"] -= 0.25
    with pytest.raises(ConflictingBarsError) as info:
        merge_bars("MES", [("a.csv", bars.drop(columns="volume")), ("b.csv", bars), ("c.csv", third)])
    assert {info.value.fields["first_file"], info.value.fields["second_file"]} <= {"a.csv", "b.csv", "c.csv"}
    assert "c.csv" in (info.value.fields["first_file"], info.value.fields["second_file"])


def test_single_unsorted_file_is_sorted() -> None:
    """One file comes back in time order."""
    bars = make_bars(10)
    merged = merge_bars("MES", [("a.csv", bars.iloc[::-1])])
    pd.testing.assert_frame_equal(merged, bars)
