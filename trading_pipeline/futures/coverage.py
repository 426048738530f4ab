"""Session-aware gap analysis of one contract's bars: coverage per CME Globex session and why bars are absent.

Expected bars are the bar-open stamps at the file's interval inside each trading window (a session, cut
at its halts). Time between windows is a *closure* (weekend, holiday, early close, the 16:00-17:00 CT
maintenance hour, a halt) and is never missing. A run of absent stamps inside a window is classified:

* ``no_trade``: at most ``short_run`` long (default 5 minutes): a quiet market prints no bar;
* ``outage``: longer: suspected missing data;
* ``missing_session``: the session has no bar at all.

Bars inside a closure are an error: usually close-stamped bars (a bar at 16:00 CT and none at 17:00 CT)
or a wrong time zone, and the message says which fits. Coverage is judged only over the sessions where
the contract is the front contract by its product's default roll (``chain.active_span``) and inside the
file's own first-to-last bar span.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trading_pipeline.futures.calendar import CHICAGO, Sessions, session_calendar
from trading_pipeline.futures.chain import active_span
from trading_pipeline.futures.symbols import Contract
from trading_pipeline.report import Finding

__all__ = [
    "MAX_LISTED_RUNS",
    "SESSION_CLOSURE",
    "SESSION_GAPS",
    "SHORT_RUN_NS",
    "TICK_GRID",
    "CoverageReport",
    "analyse_contract",
    "off_grid",
    "tick_grid_finding",
    "tick_grid_finding_of",
]

SESSION_GAPS = "session_gaps"
SESSION_CLOSURE = "session_closure"
TICK_GRID = "tick_grid"
SHORT_RUN_NS = 5 * 60 * 1_000_000_000
MAX_LISTED_RUNS = 100
"""Missing runs listed per session in ``--json`` (``missing_runs`` counts them all)."""
MAX_SESSION_FINDINGS = 10
TICK_TOLERANCE = 1e-9
HOUR_NS = 3600 * 1_000_000_000
DAY_NS = 24 * HOUR_NS


@dataclass
class CoverageReport:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").isoformat()


def _iso_many(ns: np.ndarray) -> list[str]:
    """``_iso`` of many instants at once (whole seconds, as bar stamps are): 100k runs in milliseconds."""
    text = np.datetime_as_string(ns.astype("datetime64[ns]").astype("datetime64[s]"), unit="s")
    return [f"{t}+00:00" for t in text.tolist()]


def _ct_many(ns: np.ndarray) -> list[str]:
    stamps = pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(CHICAGO)
    return list(stamps.strftime("%H:%M"))


@dataclass(frozen=True)
class _Runs:
    start: np.ndarray
    end: np.ndarray
    window: np.ndarray

    @property
    def empty(self) -> bool:
        return len(self.start) == 0


def _runs(ts: np.ndarray, win: np.ndarray, w_start: np.ndarray, w_end: np.ndarray, iv: int) -> _Runs:
    """Runs of absent stamps [start, end) inside windows that hold bars (ts sorted, win >= 0)."""
    same = win[1:] == win[:-1]
    inner = np.flatnonzero(same & (ts[1:] - ts[:-1] > iv))
    first = np.flatnonzero(np.r_[True, ~same])
    last = np.flatnonzero(np.r_[~same, True])
    lead = first[ts[first] > w_start[win[first]]]
    tail = last[ts[last] + iv < w_end[win[last]]]
    start = np.concatenate([ts[inner] + iv, w_start[win[lead]], ts[tail] + iv])
    end = np.concatenate([ts[inner + 1], ts[lead], w_end[win[tail]]])
    window = np.concatenate([win[inner], win[lead], win[tail]])
    order = np.argsort(start, kind="stable")
    return _Runs(start[order], end[order], window[order])


def analyse_contract(
    contract: Contract,
    ts: np.ndarray,
    interval_ns: int,
    rows: np.ndarray | None = None,
    short_run_ns: int = SHORT_RUN_NS,
    judged_span: tuple[dt.date, dt.date] | None = None,
) -> CoverageReport:
    """Coverage per session of sorted, unique bar-open stamps ``ts`` (int64 ns UTC) of ``contract``.

    ``judged_span``: trade dates [first, last) whose sessions are judged; by default the contract's
    front-month span."""
    report = CoverageReport()
    if len(ts) == 0 or interval_ns <= 0 or interval_ns >= DAY_NS:
        return report
    first_day = pd.Timestamp(int(ts[0]), tz="UTC").date() - dt.timedelta(days=1)
    last_day = pd.Timestamp(int(ts[-1]), tz="UTC").date() + dt.timedelta(days=2)
    sessions = session_calendar(contract.root).sessions(first_day, last_day)
    if len(sessions) == 0:
        return report
    w_start, w_end, w_session = sessions.windows()
    win = sessions.window_of(ts)
    outside = np.flatnonzero(win < 0)
    if len(outside):
        report.findings.append(_closure_finding(ts, outside, rows, sessions))
    inside = win >= 0
    ts_in, win_in = ts[inside], win[inside]
    # Judge only inside the file's span and the contract's front-month span.
    span0, span1 = int(ts[0]), int(ts[-1]) + interval_ns
    w_start_c, w_end_c = np.maximum(w_start, span0), np.minimum(w_end, span1)
    active_from, active_to = judged_span or active_span(contract)
    trade = sessions.trade_date
    judged = (trade >= np.datetime64(active_from, "D")) & (trade < np.datetime64(active_to, "D"))
    judged &= (sessions.close_ns > span0) & (sessions.open_ns < span1)
    runs = (
        _runs(ts_in, win_in, w_start_c, w_end_c, interval_ns)
        if len(ts_in)
        else _Runs(*([np.array([], np.int64)] * 3))
    )
    expected_w = np.maximum(-(-(w_end_c - w_start_c) // interval_ns), 0)
    n_sessions = len(sessions)
    expected = np.bincount(w_session, weights=expected_w, minlength=n_sessions).astype(np.int64)
    present = np.bincount(w_session[win_in], minlength=n_sessions)
    empty_windows = np.flatnonzero((np.bincount(win_in, minlength=len(w_start)) == 0) & (expected_w > 0))
    runs = _with_empty_windows(runs, empty_windows, w_start_c, w_end_c)
    # Runs are in time order, so their sessions ascend: each session's runs are one slice.
    run_session = w_session[runs.window]
    judged_at = np.flatnonzero(judged)
    lo = np.searchsorted(run_session, judged_at)
    hi = np.searchsorted(run_session, judged_at + 1)
    slices = [np.arange(a, min(b, a + MAX_LISTED_RUNS)) for a, b in zip(lo, hi, strict=True)]
    listed = np.concatenate(slices) if slices else np.zeros(0, dtype=np.int64)
    described = _describe_runs(
        runs,
        listed.astype(np.int64),
        present[run_session[listed.astype(np.int64)]],
        interval_ns,
        short_run_ns,
    )
    offset = 0
    for i, a, b in zip(judged_at, lo, hi, strict=True):
        shown = min(b - a, MAX_LISTED_RUNS)
        entry = _session_json(sessions, int(i), int(expected[i]), int(present[i]), int(b - a))
        entry["missing"] = described[offset : offset + shown]
        offset += shown
        # The file starts or ends inside this session: judged only over the part the file covers.
        entry["partial"] = bool(sessions.open_ns[i] < span0 or sessions.close_ns[i] > span1)
        report.sessions.append(entry)
    report.findings.extend(_gap_findings(report.sessions, int(judged.sum()), contract))
    return report


def _with_empty_windows(runs: _Runs, empty: np.ndarray, w_start: np.ndarray, w_end: np.ndarray) -> _Runs:
    if not len(empty):
        return runs
    start = np.concatenate([runs.start, w_start[empty]])
    end = np.concatenate([runs.end, w_end[empty]])
    window = np.concatenate([runs.window, empty])
    order = np.argsort(start, kind="stable")
    return _Runs(start[order], end[order], window[order])


def _describe_runs(
    runs: _Runs, listed: np.ndarray, present: np.ndarray, iv: int, short_run_ns: int
) -> list[dict[str, Any]]:
    """The JSON of the listed runs, formatted in one vectorised pass (100k runs in well under a second)."""
    start, end = runs.start[listed], runs.end[listed]
    bars = -(-(end - start) // iv)
    # from_ct/to_ct name the first and last missing bar (09:41–10:07 is 27 one-minute bars).
    last_bar = start + (bars - 1) * iv
    texts = zip(_iso_many(start), _iso_many(end), _ct_many(start), _ct_many(last_bar), strict=True)
    out = []
    for (first, stop, from_ct, to_ct), n, span, bars_in_session in zip(
        texts, bars.tolist(), (end - start).tolist(), present.tolist(), strict=True
    ):
        kind = (
            "missing_session" if bars_in_session == 0 else ("no_trade" if span <= short_run_ns else "outage")
        )
        out.append({"start": first, "end": stop, "from_ct": from_ct, "to_ct": to_ct, "bars": n, "kind": kind})
    return out


def _session_json(sessions: Sessions, i: int, expected: int, present: int, runs: int) -> dict[str, Any]:
    return {
        "trade_date": str(sessions.trade_date[i]),
        "label": str(sessions.label[i]),
        "open": _iso(int(sessions.open_ns[i])),
        "close": _iso(int(sessions.close_ns[i])),
        "kind": sessions.kind[i],
        "expected": expected,
        "present": present,
        "coverage": round(present / expected, 4) if expected else None,
        "missing_runs": runs,
        "missing": [],
    }


def _gap_findings(sessions: list[dict[str, Any]], judged: int, contract: Contract) -> list[Finding]:
    """One warning per session with a suspected outage or no bars (the first ``MAX_SESSION_FINDINGS``)."""
    findings: list[Finding] = []
    bad = [s for s in sessions if any(r["kind"] != "no_trade" for r in s["missing"])]
    for s in bad[:MAX_SESSION_FINDINGS]:
        day = s["label"] if s["label"] == s["trade_date"] else f"{s['label']} (trade date {s['trade_date']})"
        coverage = f"{100 * (s['coverage'] or 0):.1f}% coverage"
        if s["present"] == 0:
            what = f"{day}: no bars in the {s['kind']} session ({s['expected']} expected)"
        else:
            worst = max((r for r in s["missing"] if r["kind"] == "outage"), key=lambda r: r["bars"])
            more = len([r for r in s["missing"] if r["kind"] == "outage"]) - 1
            extra = f" and {more} more" if more > 0 else ""
            what = (
                f"{day}: {coverage}; gap {worst['from_ct']}–{worst['to_ct']} CT, {worst['bars']} bars{extra}"
            )
        findings.append(Finding(SESSION_GAPS, what, severity="warning"))
    if len(bad) > MAX_SESSION_FINDINGS:
        findings.append(
            Finding(
                SESSION_GAPS,
                f"{len(bad) - MAX_SESSION_FINDINGS} more sessions with gaps of {contract.code} "
                f"(of {judged} judged); --json lists every session",
                severity="warning",
            )
        )
    return findings


# A file dropped into a watched folder has no command line: the same setting goes in its layout.
CLOSE_STAMPED_HINT = (
    "bars at the session close and none at its open: the file is close-stamped; use --bar-label close"
    ' (for a watched folder: bar_label = "close" in a layout.toml beside the file)'
)
ZONE_HINT = (
    "the times fit the sessions when moved by {shift:+d} h: check the file's zone with --tz"
    ' (for a watched folder: timezone = "Area/City" in a layout.toml beside the file)'
)


def _closure_finding(
    ts: np.ndarray, outside: np.ndarray, rows: np.ndarray | None, sessions: Sessions
) -> Finding:
    """Bars in a closure, with the likely cause: close-stamped bars, or a zone hours off."""
    file_rows = outside + 1 if rows is None else rows[outside]
    first = pd.Timestamp(int(ts[outside[0]]), tz="UTC").tz_convert(CHICAGO)
    what = f"{len(outside)} bars inside a market closure (first at {first:%Y-%m-%d %H:%M} CT)"
    w_start, w_end, _ = sessions.windows()
    at_close = np.isin(ts[outside], w_end).mean()
    at_open = np.isin(ts, w_start).any()
    if at_close > 0.5 and not at_open:
        hint = CLOSE_STAMPED_HINT
    else:
        shift = _zone_shift(ts, sessions)
        hint = (
            ZONE_HINT.format(shift=shift)
            if shift
            else "check the file's zone (--tz) and bar labelling (--bar-label close)"
        )
    return Finding.at_rows(SESSION_CLOSURE, what, file_rows[:10].tolist(), hint=hint, count=len(outside))


def _zone_shift(ts: np.ndarray, sessions: Sessions) -> int:
    """Whole hours that put (nearly) every bar inside a session, 0 when none does."""
    sample = ts[:: max(1, len(ts) // 20_000)]
    best, best_share = 0, float(np.mean(sessions.window_of(sample) >= 0))
    for hours in range(-12, 13):
        if hours:
            share = float(np.mean(sessions.window_of(sample + hours * HOUR_NS) >= 0))
            if share > best_share + 0.01:
                best, best_share = hours, share
    return best if best_share > 0.99 else 0


def off_grid(prices: dict[str, np.ndarray], tick: float) -> np.ndarray:
    """True for each bar with a price off the tick grid (tolerance 1e-9 tick)."""
    off = np.zeros(len(next(iter(prices.values()))), dtype=bool)
    for values in prices.values():
        ratio = values / tick
        # A float price is off by ~1e-16 of itself: far below 1e-9 tick for every product in the table.
        off |= np.abs(ratio - np.rint(ratio)) > TICK_TOLERANCE
    return off


def tick_grid_finding(prices: dict[str, np.ndarray], tick: float, rows: np.ndarray | None) -> Finding | None:
    """Prices off the product's tick grid (tolerance 1e-9 ticks: fixed-point prices arrive inexact)."""
    where = np.flatnonzero(off_grid(prices, tick))
    file_rows = where + 1 if rows is None else rows[where]
    return tick_grid_finding_of(file_rows[:10], len(where), tick)


def tick_grid_finding_of(first_rows: np.ndarray, count: int, tick: float) -> Finding | None:
    """The tick-grid warning from the first file rows off the grid and their count (None: no row)."""
    if not count:
        return None
    return Finding.at_rows(
        TICK_GRID,
        f"{count} bars with prices off the {tick:g} tick grid",
        first_rows[:10].tolist(),
        severity="warning",
        hint="Check the price scale (a vendor multiplier) or the contract root",
        count=count,
    )
