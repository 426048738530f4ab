"""Roll decisions: when a continuous series leaves one contract for the next, and why.

Every roll takes effect at a session open, never after the outgoing contract's last trade, and never
goes back (the chain only moves forward). The rules:

* ``calendar``: at the product's default roll date (ES/MES: CME's roll date, 8 calendar days before
  expiry; deliverables: sessions before first notice);
* ``volume``: when the incoming contract's volume over session D exceeds the outgoing one's, the roll is
  decided at D's close and takes effect at the open of the next session: never on D itself, whose
  totals are not known until it ends;
* ``oi``: the same on open interest, which is published ``oi_lag`` sessions after the session it
  describes, so D's open interest decides at D + lag and takes effect the session after that.

``volume`` and ``oi`` fall back to the calendar date when no crossover comes first.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trading_pipeline.errors import FuturesError, UsageError
from trading_pipeline.futures.calendar import Sessions
from trading_pipeline.futures.chain import calendar_roll_date
from trading_pipeline.futures.symbols import Contract
from trading_pipeline.futures.tradedays import shift_trade_dates

__all__ = ["ROLL_RULES", "Roll", "RollRule", "daily_totals", "decide_rolls"]

ROLL_RULES = ("calendar", "volume", "oi")


@dataclass(frozen=True)
class RollRule:
    rule: str = "calendar"
    oi_lag: int = 1
    """Sessions between a session and the publication of its open interest."""
    sessions_before: int | None = None
    """Calendar deadline: this many sessions before last trade (first notice for deliverables)
    instead of the product's default roll."""

    def __post_init__(self) -> None:
        if self.rule not in ROLL_RULES:
            raise UsageError(f"unknown roll rule {self.rule!r}: use {', '.join(ROLL_RULES)}")
        if self.oi_lag < 0:
            raise UsageError("the open interest publication lag must be 0 or more sessions")


@dataclass(frozen=True)
class Roll:
    outgoing: Contract
    incoming: Contract
    decided: dt.date
    """The trade date whose data decided the roll (for calendar rolls: the session before it)."""
    effective: dt.date
    """The trade date of the first session on the incoming contract."""
    effective_ns: int
    """The open of that session (UTC ns)."""
    rule: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.outgoing.code,
            "to": self.incoming.code,
            "decided": self.decided.isoformat(),
            "effective": pd.Timestamp(self.effective_ns, tz="UTC").isoformat(),
            "effective_trade_date": self.effective.isoformat(),
            "rule": self.rule,
            "reason": self.reason,
        }


def daily_totals(bars: pd.DataFrame, sessions: Sessions, column: str) -> pd.Series:
    """``column`` summed (volume) or last (open interest) per CME trade date, from bars in sessions."""
    if column not in bars.columns:
        return pd.Series(dtype="float64")
    ts = bars["datetime"].to_numpy("datetime64[ns]").astype(np.int64)
    where = sessions.locate(ts)
    keep = where >= 0
    dates = sessions.trade_date[where[keep]]
    values = pd.Series(bars[column].to_numpy("float64")[keep], index=pd.Index(dates, name="trade_date"))
    grouped = values.groupby(level=0)
    return grouped.sum() if column == "volume" else grouped.last()


def _open_of(sessions: Sessions, trade_date: dt.date) -> int:
    hits = np.flatnonzero(sessions.trade_date == np.datetime64(trade_date, "D"))
    if not len(hits):
        raise FuturesError(f"no CME Globex session for trade date {trade_date}: cannot place the roll")
    return int(sessions.open_ns[hits[0]])


def _crossover(
    out_totals: pd.Series, in_totals: pd.Series, after: dt.date, deadline: dt.date, lag: int
) -> tuple[dt.date, dt.date, str] | None:
    """The first session D after ``after`` where incoming > outgoing, whose roll (D + lag + 1) is not
    later than ``deadline``: (decided, effective, reason)."""
    both = pd.concat([out_totals.rename("out"), in_totals.rename("in")], axis=1).dropna()
    for stamp, row in both.iterrows():
        day = pd.Timestamp(stamp).date()  # type: ignore[arg-type]
        decided = shift_trade_dates(day, lag) if lag else day
        effective = shift_trade_dates(decided, 1)
        if effective <= after:
            continue
        if effective > deadline:
            return None
        if row["in"] > row["out"]:
            return decided, effective, f"{day}: {row['in']:g} > {row['out']:g}"
    return None


def decide_rolls(
    chain: list[Contract],
    bars: dict[Contract, pd.DataFrame],
    sessions: Sessions,
    rule: RollRule,
) -> list[Roll]:
    """The rolls between consecutive contracts of ``chain`` (in expiry order)."""
    rolls: list[Roll] = []
    after = dt.date.min
    column = "volume" if rule.rule == "volume" else "open_interest"
    for outgoing, incoming in itertools.pairwise(chain):
        deadline = calendar_roll_date(outgoing, sessions=rule.sessions_before)
        decided, effective, reason, used = _calendar(deadline), deadline, "", "calendar"
        if rule.rule != "calendar":
            lag = rule.oi_lag if rule.rule == "oi" else 0
            out_t = daily_totals(bars[outgoing], sessions, column)
            in_t = daily_totals(bars[incoming], sessions, column)
            found = _crossover(out_t, in_t, after, deadline, lag)
            if found is not None:
                decided, effective, reason = found
                reason = f"{column} crossover on {reason}" + (
                    f" (published {lag} session later)" if lag else ""
                )
                used = rule.rule
            else:
                reason = f"no {column} crossover before the calendar deadline {deadline}: calendar fallback"
        if not reason and rule.sessions_before is not None:
            reason = f"calendar: {rule.sessions_before} sessions before {outgoing.product.roll.reference}"
        if not reason:
            source = outgoing.product.roll.source or "default roll"
            reason = f"calendar: {source}; last trade {outgoing.last_trade}"
        if effective <= after:
            raise FuturesError(
                f"roll {outgoing.code} -> {incoming.code} on {effective} would go back in time"
            )
        rolls.append(
            Roll(outgoing, incoming, decided, effective, _open_of(sessions, effective), used, reason)
        )
        after = effective
    return rolls


def _calendar(effective: dt.date) -> dt.date:
    """A calendar roll is known in advance; it is 'decided' by the session before it takes effect."""
    return shift_trade_dates(effective, -1)
