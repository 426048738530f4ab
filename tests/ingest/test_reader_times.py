"""Time forms found in exports: day-first dates decided by the data, zones inside values, daily bars
stamped at the session open, and the order of header-less price columns decided by the data."""

from __future__ import annotations

from typing import Any

import pytest

from trading_pipeline.errors import IngestError

HEADER = "Date,Open,High,Low,Close,Volume\n"


def times(parsed: Any) -> list[Any]:
    return sorted(parsed.table.to_pandas()["datetime"].tolist())


def test_dukascopy_day_first_with_milliseconds(samples: Any, at: Any) -> None:
    text = (
        "Gmt time,Open,High,Low,Close,Volume\n"
        "01.02.2024 09:30:00.250,1,2,0.5,1.5,3\n01.02.2024 09:31:00.000,1,2,0.5,1.5,3\n"
    )
    parsed = samples.read("EURUSD_Candlestick_1_M_BID.csv", text)
    assert parsed.profile == "dukascopy"
    assert times(parsed) == [at("2024-02-01 09:30:00.250"), at("2024-02-01 09:31")]
    assert parsed.findings == []


def test_a_day_above_twelve_anywhere_decides_day_first(samples: Any, at: Any) -> None:
    """The first rows read both ways; a later row (the 13th) settles it for the whole column."""
    rows = "".join(f"{d:02d}/01/2024,1,2,0.5,1.5,3\n" for d in (2, 3, 4, 5, 8, 9, 10, 11, 12, 15))
    parsed = samples.read("ES.csv", HEADER + rows)
    assert times(parsed)[0] == at("2024-01-02") and times(parsed)[-1] == at("2024-01-15")


def test_a_day_above_twelve_decides_month_first(samples: Any, at: Any) -> None:
    parsed = samples.read("ES.csv", HEADER + "01/12/2024,1,2,0.5,1.5,3\n01/16/2024,1,2,0.5,1.5,3\n")
    assert times(parsed) == [at("2024-01-12"), at("2024-01-16")]


def test_consecutive_trading_days_decide_when_no_day_is_above_twelve(samples: Any, at: Any) -> None:
    """11/5 .. 11/8 are four days in a row read month-first, four months apart read day-first."""
    rows = "".join(f"11/{d}/2019 9:3{m},1,2,0.5,1.5,3\n" for d in (5, 6, 7, 8) for m in range(3))
    assert times(samples.read("SPX.csv", HEADER + rows, tz="UTC"))[0] == at("2019-11-05 09:30")


def test_ambiguous_dates_are_refused_not_guessed(samples: Any) -> None:
    with pytest.raises(IngestError) as err:
        samples.read("ES.csv", HEADER + "03/04/2024,1,2,0.5,1.5,3\n")
    assert err.value.check == "timestamps"
    assert "day-first" in str(err.value) and "month-first" in str(err.value)
    assert str(err.value).endswith("--suggest-layout")


def test_a_us_vendor_profile_reads_ambiguous_dates_month_first(samples: Any, at: Any) -> None:
    """Kibot writes mm/dd/yyyy: that is a vendor fact, not a guess."""
    parsed = samples.read("SPY.txt", "03/04/2024,09:30,1,2,0.5,1.5,3\n", tz="UTC")
    assert parsed.profile == "kibot"
    assert times(parsed) == [at("2024-03-04 09:30")]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-3-4", "2024-03-04"),
        ("2024-3-4 9:30", "2024-03-04 09:30"),
        ("Jan 02, 2024", "2024-01-02"),
        ("02-Jan-24", "2024-01-02"),
        ("01/02/2024 09:30:00 PM", "2024-01-02 21:30"),
    ],
)
def test_unpadded_named_month_and_12_hour_forms(samples: Any, at: Any, stamp: str, expected: str) -> None:
    rows = f'"{stamp}",1,2,0.5,1.5,3\n'
    if "/" in stamp:
        rows += '"01/13/2024 09:30:00 AM",1,2,0.5,1.5,3\n'  # a day above 12 settles month-first
    assert times(samples.read("ES.csv", HEADER + rows, tz="UTC"))[0] == at(expected)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("20240308 15:30:00 US/Eastern", "2024-03-08 20:30"),
        ("20240311 15:30:00 America/New_York", "2024-03-11 19:30"),
        ("2024-01-02 09:30:00 EST", "2024-01-02 14:30"),
        ("2024-07-02 09:30:00 EDT", "2024-07-02 13:30"),
        ("01.01.2020 00:00:00.000 GMT+0200", "2019-12-31 22:00"),
    ],
)
def test_a_zone_inside_the_value_is_applied_and_wins_over_tz(
    samples: Any, at: Any, stamp: str, expected: str
) -> None:
    """IB writes 'yyyyMMdd HH:mm:ss Zone'; abbreviations and GMT offsets are fixed offsets."""
    text = f"date,open,high,low,close,volume\n{stamp},1,2,0.5,1.5,3\n"
    parsed = samples.read("AAPL.csv", text, tz="Asia/Tokyo")
    assert times(parsed) == [at(expected)]
    assert "timezone" not in samples.warnings(parsed)


@pytest.mark.parametrize(
    ("stamps", "tz"),
    [
        (["2024-01-02T14:30:00Z", "2024-01-03T14:30:00Z", "2024-01-04T14:30:00Z"], None),
        (["2024-03-08 09:30", "2024-03-11 09:30", "2024-03-12 09:30"], "America/New_York"),  # across DST
        (["2024-01-03T10:00:00+11:00", "2024-01-04T10:00:00+11:00", "2024-01-05T10:00:00+11:00"], None),
        (["1704205800", "1704292200", "1704378600"], None),  # 14:30Z as epoch seconds
    ],
    ids=["utc-open", "new-york-open-naive", "sydney-open-the-utc-day-before", "epoch"],
)
def test_daily_bars_stamped_at_the_session_open_sit_at_midnight_utc(
    samples: Any, at: Any, stamps: list[str], tz: str | None
) -> None:
    rows = "".join(f"{s},1,2,0.5,1.5,3\n" for s in stamps)
    parsed = samples.read("SPY.csv", HEADER + rows, tz=tz)
    day = stamps[0][:10] if "-" in stamps[0] else "2024-01-02"
    assert times(parsed)[0] == at(day)
    assert "daily_bars" in samples.warnings(parsed)


def test_intraday_bars_are_not_taken_for_daily_ones(samples: Any, at: Any) -> None:
    rows = "2024-01-02T14:30:00Z,1,2,0.5,1.5,3\n2024-01-02T14:31:00Z,1,2,0.5,1.5,3\n"
    assert times(samples.read("SPY.csv", HEADER + rows))[0] == at("2024-01-02 14:30")


class TestHeaderlessPriceOrder:
    def test_the_standard_order_is_kept_without_a_note(self, samples: Any) -> None:
        rows = "".join(f"2024-01-02 09:3{i},{10 + i},{12 + i},{9 + i},{11 + i},5\n" for i in range(4))
        parsed = samples.read("ES.csv", rows, tz="UTC")
        assert [f.check for f in parsed.findings] == []

    @pytest.mark.parametrize(
        ("order", "expected_note"),
        [
            ((0, 2, 1, 3), "open, low, high, close"),
            ((0, 3, 1, 2), "open, close, high, low"),
            ((2, 1, 0, 3), "low, high, open, close"),
        ],
    )
    def test_another_order_is_decided_by_the_data_and_reported(
        self, samples: Any, order: tuple[int, ...], expected_note: str
    ) -> None:
        """Fields given in ``order`` (indexes into open, high, low, close) come back as O, H, L, C."""
        rows = ""
        for i in range(6):
            bar = (10.0 + i, 12.0 + i, 9.0 + i, 11.0 + i)  # each open is the previous close
            rows += f"2024-01-02 09:3{i}," + ",".join(str(bar[k]) for k in order) + ",5\n"
        parsed = samples.read("ES.csv", rows, tz="UTC")
        data = parsed.table.to_pandas()
        assert (data["open"][0], data["high"][0], data["low"][0], data["close"][0]) == (10.0, 12.0, 9.0, 11.0)
        [note] = [f for f in parsed.findings if f.check == "columns"]
        assert expected_note in note.message

    def test_refused_when_the_data_cannot_decide(self, samples: Any) -> None:
        """One bar in the order high, open, low, close... open and close cannot be told apart."""
        with pytest.raises(IngestError) as err:
            samples.read("ES.csv", "2024-01-02 09:30,100,101,100.5,99\n", tz="UTC")
        assert err.value.check == "columns"
        assert "more than one order" in str(err.value)
        assert str(err.value).endswith("--suggest-layout")
