"""Local wall-clock times to UTC: DST fall-back in file order, spring-forward gaps, fixed zones, epochs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.timeparse import epoch_to_utc, epoch_unit, localize


def _naive(*stamps: str) -> pa.Array:
    return pa.array(list(stamps)).cast(pa.timestamp("ns"))


def _iso(values: pa.Array) -> list[str]:
    return [v.strftime("%Y-%m-%d %H:%M") if v else "" for v in values.to_pylist()]


def test_fall_back_hour_resolves_in_file_order() -> None:
    """The repeated 01:xx hour: first pass is daylight time (CDT), second pass standard time (CST)."""
    utc, findings = localize(
        _naive(
            "2024-11-03 00:30",
            "2024-11-03 01:00",
            "2024-11-03 01:30",
            "2024-11-03 01:00",
            "2024-11-03 01:30",
            "2024-11-03 02:00",
        ),
        "America/Chicago",
    )
    assert _iso(utc) == [
        "2024-11-03 05:30",
        "2024-11-03 06:00",
        "2024-11-03 06:30",
        "2024-11-03 07:00",
        "2024-11-03 07:30",
        "2024-11-03 08:00",
    ]
    assert findings == []


def test_hourly_fall_back_repeats_the_same_local_time() -> None:
    """Hourly bars show 01:00 twice; the second one is the standard-time hour."""
    utc, _ = localize(
        _naive("2024-11-03 00:00", "2024-11-03 01:00", "2024-11-03 01:00", "2024-11-03 02:00"),
        "America/Chicago",
    )
    assert _iso(utc) == ["2024-11-03 05:00", "2024-11-03 06:00", "2024-11-03 07:00", "2024-11-03 08:00"]


def test_newest_first_file_resolves_the_fall_back_hour_backwards() -> None:
    """In a newest-first file the standard-time pass comes first."""
    utc, _ = localize(
        _naive(
            "2024-11-03 02:00",
            "2024-11-03 01:30",
            "2024-11-03 01:00",
            "2024-11-03 01:30",
            "2024-11-03 01:00",
            "2024-11-03 00:30",
        ),
        "America/Chicago",
    )
    assert _iso(utc) == [
        "2024-11-03 08:00",
        "2024-11-03 07:30",
        "2024-11-03 07:00",
        "2024-11-03 06:30",
        "2024-11-03 06:00",
        "2024-11-03 05:30",
    ]


def test_spring_forward_gap_is_an_error_listing_rows() -> None:
    """02:xx on the spring-forward day does not exist in Chicago: a timezone error, rows listed."""
    _, findings = localize(
        _naive("2024-03-10 01:59", "2024-03-10 02:00", "2024-03-10 02:30", "2024-03-10 03:00"),
        "America/Chicago",
    )
    [finding] = findings
    assert finding.check == "timezone"
    assert finding.rows == (2, 3)
    assert "2024-03-10 02:00 does not exist in America/Chicago" in finding.message


def test_fixed_offset_zone_has_no_dst() -> None:
    """Etc/GMT+5 (HistData's EST) is UTC-5 all year, summer included."""
    utc, _ = localize(_naive("2012-07-01 00:00", "2012-01-01 00:00"), "Etc/GMT+5")
    assert _iso(utc) == ["2012-07-01 05:00", "2012-01-01 05:00"]


def test_nulls_stay_null() -> None:
    """Missing times are carried through as nulls for the validator to report."""
    utc, _ = localize(pa.array([None, "2024-01-02 09:30"]).cast(pa.timestamp("ns")), "Europe/London")
    assert utc.null_count == 1


def test_unknown_zone_is_a_usage_error() -> None:
    """A misspelt --tz is the user's mistake, reported with examples of valid names."""
    with pytest.raises(UsageError, match="IANA"):
        localize(_naive("2024-01-02 09:30"), "America/Chicag")


@pytest.mark.parametrize(
    ("value", "unit"),
    [(1704187800, "s"), (1704187800000, "ms"), (1704187800000000, "us"), (1704187800000000000, "ns")],
)
def test_epoch_unit_by_magnitude(value: int, unit: str) -> None:
    """10/13/16/19 digits mean s/ms/us/ns."""
    assert epoch_unit(np.array([value])) == unit


def test_epoch_to_utc(at: Any) -> None:
    """Epoch milliseconds become UTC nanosecond timestamps."""
    assert _iso(epoch_to_utc(pa.array([1704187800000]))) == ["2024-01-02 09:30"]


def test_epoch_nulls_and_overflow_stay_null() -> None:
    """Null epochs and seconds too large for int64 nanoseconds become nulls, never wrapped values."""
    utc = epoch_to_utc(pa.array([1704187800, None, 99_999_999_999]), unit="s")
    assert _iso(utc) == ["2024-01-02 09:30", "", ""]


def test_groups_resolve_the_fall_back_hour_each_on_their_own() -> None:
    """Two symbols one after the other: the second symbol's first pass is daylight time again."""
    times = ["2024-11-03 01:00", "2024-11-03 01:30", "2024-11-03 01:00"]
    utc, _ = localize(_naive(*times, *times), "America/Chicago", groups=np.array([0, 0, 0, 1, 1, 1]))
    assert _iso(utc) == ["2024-11-03 06:00", "2024-11-03 06:30", "2024-11-03 07:00"] * 2


def test_gap_rows_are_reported_with_the_given_row_numbers() -> None:
    """Row numbers of the file (after dropped rows) label the spring-forward finding."""
    _, [finding] = localize(
        _naive("2024-03-10 01:59", "2024-03-10 02:30"), "America/Chicago", row_numbers=np.array([3, 7])
    )
    assert finding.rows == (7,)
