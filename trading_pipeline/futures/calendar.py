"""CME Globex sessions per product: pandas_market_calendars schedules plus the project's overrides.

A session is labelled by the date it closes on (the 17:00 CT open belongs to the previous evening) and
carries its CME trade date: the label itself, or for a holiday-halt session (MLK day: open Sunday 17:00,
halt Monday 12:00) the next trade date, to which CME books that span. The daily 16:00-17:00 CT
maintenance hour, weekends and holidays lie between sessions; a pause inside a session (the ES/MES
15:15-15:30 CT halt before 2021-06-28) is a *halt*, so a session may be several trading *windows*.

Kinds: ``regular``, ``early_close`` (closes before 16:00 CT on a trade date), ``holiday_halt`` (its
label is no trade date), and ``override`` marks on the kind when a row of ``session_overrides.toml``
changed it (e.g. ``early_close (override equity-carter-mourning-2025)``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.products import Product
from trading_pipeline.futures.tradedays import trade_dates

__all__ = ["CHICAGO", "Overrides", "SessionCalendar", "Sessions", "load_overrides", "session_calendar"]

CHICAGO = ZoneInfo("America/Chicago")
REGULAR_CLOSE = dt.time(16, 0)
NS = 1_000_000_000


@dataclass(frozen=True)
class Overrides:
    version: int
    rows: tuple[dict[str, Any], ...]


@lru_cache(maxsize=1)
def load_overrides() -> Overrides:
    """The packaged override file; every row must cite its source."""
    text = resources.files("trading_pipeline.futures").joinpath("session_overrides.toml").read_text()
    data = tomllib.loads(text)
    rows = tuple(data.get("override", []))
    for row in rows:
        if not str(row.get("citation", "")).strip():
            raise FuturesError(f"session override {row.get('id')!r} has no citation")
    return Overrides(int(data["version"]), rows)


def _ct(day: dt.date, hhmm: str) -> int:
    """Epoch ns of ``hhmm`` Central time on ``day`` (DST-aware)."""
    hour, minute = map(int, hhmm.split(":"))
    return int(pd.Timestamp(dt.datetime.combine(day, dt.time(hour, minute)), tz=CHICAGO).value)


@dataclass(frozen=True)
class Sessions:
    """Sessions in time order, as parallel arrays; halts are sorted, each inside one session."""

    label: np.ndarray  # datetime64[D]
    open_ns: np.ndarray  # int64
    close_ns: np.ndarray  # int64
    kind: tuple[str, ...]
    trade_date: np.ndarray  # datetime64[D]
    halt_start: np.ndarray  # int64
    halt_end: np.ndarray  # int64
    overrides_version: int

    def __len__(self) -> int:
        return len(self.label)

    def windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trading windows (start, end, session index): the sessions cut at their halts."""
        if not len(self.halt_start):
            return self.open_ns, self.close_ns, np.arange(len(self), dtype=np.int64)
        owner = np.searchsorted(self.open_ns, self.halt_start, side="right") - 1
        starts = np.concatenate([self.open_ns, self.halt_end])
        ends = np.concatenate([self.close_ns, self.halt_start])
        index = np.concatenate([np.arange(len(self), dtype=np.int64), owner])
        # Windows never overlap, so sorting starts and ends separately pairs them up again.
        order = np.argsort(starts, kind="stable")
        starts, index = starts[order], index[order]
        ends = np.sort(ends)
        return starts, ends, index

    def locate(self, ts: np.ndarray) -> np.ndarray:
        """Index of the session holding each bar-open time; -1 when it lies in no session or a halt."""
        starts, ends, index = self.windows()
        i = np.searchsorted(starts, ts, side="right") - 1
        inside = (i >= 0) & (ts < ends[np.maximum(i, 0)])
        return np.where(inside, index[np.maximum(i, 0)], -1)

    def window_of(self, ts: np.ndarray) -> np.ndarray:
        """Index of the trading window holding each time; -1 outside every window."""
        starts, ends, _ = self.windows()
        i = np.searchsorted(starts, ts, side="right") - 1
        inside = (i >= 0) & (ts < ends[np.maximum(i, 0)])
        return np.where(inside, i, -1)


class SessionCalendar:
    """The sessions of one product: pmc's calendar for its root, corrected by the override file."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.overrides = load_overrides()
        self._rows = [r for r in self.overrides.rows if product.root in r.get("roots", ())]

    def sessions(self, start: dt.date, end: dt.date) -> Sessions:
        """Sessions labelled ``start``..``end`` inclusive."""
        import pandas_market_calendars as mcal

        schedule = mcal.get_calendar(self.product.calendar).schedule(
            start.isoformat(), end.isoformat(), tz="UTC"
        )
        labels = schedule.index.to_numpy().astype("datetime64[D]")
        opens = schedule["market_open"].to_numpy("datetime64[ns]").astype(np.int64)
        closes = schedule["market_close"].to_numpy("datetime64[ns]").astype(np.int64)
        keep = np.ones(len(labels), dtype=bool)
        changed: dict[int, str] = {}
        halts: list[tuple[int, int]] = []
        for row in self._rows:
            self._apply(row, labels, closes, keep, changed, halts)
        labels, opens, closes = labels[keep], opens[keep], closes[keep]
        kept = np.flatnonzero(keep)
        changed = {int(np.searchsorted(kept, i)): why for i, why in changed.items() if keep[i]}
        trade = _trade_dates_for(labels)
        kinds = tuple(
            _kind(labels[i], closes[i], trade[i]) + (f" (override {changed[i]})" if i in changed else "")
            for i in range(len(labels))
        )
        halt_start = np.array(sorted(h[0] for h in halts), dtype=np.int64)
        halt_end = np.array(sorted(h[1] for h in halts), dtype=np.int64)
        return Sessions(labels, opens, closes, kinds, trade, halt_start, halt_end, self.overrides.version)

    @staticmethod
    def _apply(
        row: dict[str, Any],
        labels: np.ndarray,
        closes: np.ndarray,
        keep: np.ndarray,
        changed: dict[int, str],
        halts: list[tuple[int, int]],
    ) -> None:
        action = row["action"]
        if action == "halt":
            first, last = np.datetime64(row["from"], "D"), np.datetime64(row["until"], "D")
            for i in np.flatnonzero((labels >= first) & (labels <= last)):
                day = dt.date.fromisoformat(str(labels[i]))
                start, stop = _ct(day, row["start"]), _ct(day, row["end"])
                if start < closes[i]:
                    halts.append((start, min(stop, int(closes[i]))))
            return
        hits = np.flatnonzero(labels == np.datetime64(str(row["date"]), "D"))
        for i in hits:
            if action == "closed":
                keep[i] = False
            elif action == "close":
                closes[i] = _ct(dt.date.fromisoformat(str(row["date"])), row["close"])
                changed[int(i)] = str(row["id"])
            else:
                raise FuturesError(f"session override {row.get('id')!r}: unknown action {action!r}")


def _trade_dates_for(labels: np.ndarray) -> np.ndarray:
    days = trade_dates()
    i = np.minimum(np.searchsorted(days, labels), len(days) - 1)
    return days[i]


def _kind(label: np.datetime64, close_ns: int, trade_date: np.datetime64) -> str:
    if label != trade_date:
        return "holiday_halt"
    local = pd.Timestamp(int(close_ns), tz="UTC").tz_convert(CHICAGO).time()
    return "early_close" if local < REGULAR_CLOSE else "regular"


@lru_cache(maxsize=16)
def session_calendar(root: str) -> SessionCalendar:
    from trading_pipeline.futures.products import get_product

    return SessionCalendar(get_product(root))
