"""Golden CME Globex schedules: a pandas_market_calendars upgrade or an override edit that changes any
of these dates fails here. Times are Central; each case names the product calendar it checks."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from trading_pipeline.futures import load_overrides, session_calendar
from trading_pipeline.futures.calendar import CHICAGO


def _ct(ns: int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").tz_convert(CHICAGO).strftime("%Y-%m-%d %H:%M")


def _schedule(root: str, start: str, end: str) -> dict[str, tuple[str, str, str, str]]:
    s = session_calendar(root).sessions(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    return {
        str(s.label[i]): (_ct(s.open_ns[i]), _ct(s.close_ns[i]), s.kind[i], str(s.trade_date[i]))
        for i in range(len(s))
    }


def test_thanksgiving_2025_equity_halts_at_noon_then_closes_early_at_1215() -> None:
    got = _schedule("MES", "2025-11-27", "2025-11-28")
    assert got["2025-11-27"] == ("2025-11-26 17:00", "2025-11-27 12:00", "holiday_halt", "2025-11-28")
    assert got["2025-11-28"] == ("2025-11-27 17:00", "2025-11-28 12:15", "early_close", "2025-11-28")


@pytest.mark.parametrize(
    ("root", "close"), [("ES", "12:15"), ("GC", "16:00"), ("CL", "16:00"), ("6E", "16:00")]
)
def test_july_3_2025(root: str, close: str) -> None:
    assert _schedule(root, "2025-07-03", "2025-07-03")["2025-07-03"][1] == f"2025-07-03 {close}"


@pytest.mark.parametrize(
    ("root", "close"), [("MES", "08:30"), ("NQ", "08:30"), ("MGC", "16:00"), ("6E", "16:00")]
)
def test_carter_mourning_2025_01_09_equity_closes_0830_metals_and_fx_normal(root: str, close: str) -> None:
    label = _schedule(root, "2025-01-09", "2025-01-09")["2025-01-09"]
    assert label[:2] == ("2025-01-08 17:00", f"2025-01-09 {close}")
    assert label[3] == "2025-01-10"  # not a CME trade date: booked to the next
    if close == "08:30":
        assert "override equity-carter-mourning-2025" in label[2]


@pytest.mark.parametrize("day", ["2024-03-29", "2025-04-18"])
def test_good_friday_without_payrolls_equity_is_closed(day: str) -> None:
    """pmc 5.5 gives an 08:15 CT session; the override file removes it (CME did not trade)."""
    assert day not in _schedule("ES", day, day)
    assert day not in _schedule("GC", day, day)


def test_good_friday_2026_with_payrolls_equity_trades_until_0815() -> None:
    """Good Friday is no CME trade date, so the abbreviated session is a holiday halt booked to Monday."""
    assert _schedule("MES", "2026-04-03", "2026-04-03")["2026-04-03"] == (
        "2026-04-02 17:00",
        "2026-04-03 08:15",
        "holiday_halt",
        "2026-04-06",
    )


@pytest.mark.parametrize(
    ("before", "after", "open_utc_before", "open_utc_after"),
    [("2025-03-07", "2025-03-10", "23:00", "22:00"), ("2025-10-31", "2025-11-03", "22:00", "23:00")],
)
def test_dst_weeks_2025_move_the_utc_open(
    before: str, after: str, open_utc_before: str, open_utc_after: str
) -> None:
    s = session_calendar("ES").sessions(dt.date.fromisoformat(before), dt.date.fromisoformat(after))
    opens = {
        str(s.label[i]): pd.Timestamp(int(s.open_ns[i]), tz="UTC").strftime("%H:%M") for i in range(len(s))
    }
    assert (opens[before], opens[after]) == (open_utc_before, open_utc_after)
    assert all(_ct(o).endswith("17:00") for o in s.open_ns)


def test_es_1515_halt_ends_after_2021_06_25() -> None:
    s = session_calendar("ES").sessions(dt.date(2021, 6, 25), dt.date(2021, 6, 28))
    assert [(_ct(a), _ct(b)) for a, b in zip(s.halt_start, s.halt_end, strict=True)] == [
        ("2021-06-25 15:15", "2021-06-25 15:30")
    ]
    starts, ends, owner = s.windows()
    assert [(_ct(a), _ct(b), int(o)) for a, b, o in zip(starts, ends, owner, strict=True)] == [
        ("2021-06-24 17:00", "2021-06-25 15:15", 0),
        ("2021-06-25 15:30", "2021-06-25 16:00", 0),
        ("2021-06-27 17:00", "2021-06-28 16:00", 1),
    ]
    assert len(session_calendar("NQ").sessions(dt.date(2021, 6, 25), dt.date(2021, 6, 25)).halt_start) == 0


def test_every_override_row_cites_its_source() -> None:
    overrides = load_overrides()
    assert overrides.version >= 1
    assert all(len(row["citation"]) > 40 for row in overrides.rows)
