"""Which file column plays which role (datetime, open, ..., symbol), for headered and headerless layouts.

A layout's ``[columns]`` win; the rest is decided by name (``aliases``) or, without a header, by the
profile's vendor order or the standard order. When several columns claim a role the stronger name wins
(Settle over Close over Last over Price; real volume over a tick count, unless it is all zero).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.aliases import ALIASES, DATETIME_NAMES, normalise_name, rank
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.profiles import Profile
from trading_pipeline.ingest.textsniff import TextSniff, looks_like_data
from trading_pipeline.ingest.timeformats import detect_format
from trading_pipeline.report import Finding, excerpt
from trading_pipeline.schema import OPTIONAL_COLUMNS, PRICE_COLUMNS

__all__ = ["NUMERIC_ROLES", "ColumnPlan", "plan_columns", "plan_from_names"]

NUMERIC_ROLES = frozenset({*PRICE_COLUMNS, "volume", "up", "down", *OPTIONAL_COLUMNS})
TIME_ROLES = ("datetime", "date", "time")


@dataclass
class ColumnPlan:
    """``roles[i]`` is the role of field ``i``; ``labels`` are the names shown to users."""

    roles: list[str]
    labels: list[str]
    findings: list[Finding] = field(default_factory=list)
    positional: bool = False  # roles by position without a vendor fact: the price order may be decided

    def index(self, role: str) -> int | None:
        return self.roles.index(role) if role in self.roles else None

    @property
    def used(self) -> list[int]:
        return [i for i, r in enumerate(self.roles) if r != "skip"]


def _time_like(values: list[str]) -> bool:
    return bool(values) and all(
        ":" in v and looks_like_data(v) and "-" not in v and "/" not in v for v in values
    )


def _repair_short_header(sniff: TextSniff, names: list[str]) -> tuple[list[str], list[Finding]]:
    """backtrader-style files whose header omits the Time name although every row carries a time."""
    if len(names) + 1 != sniff.field_count or "time" in {normalise_name(n) for n in names}:
        return names, []
    if normalise_name(names[0]) not in ("date", "day") or not _time_like(sniff.column(1, 50)):
        return names, []
    fixed = [names[0], "Time", *names[1:]]
    what = (
        f"the header names {len(names)} columns but the rows have {sniff.field_count} fields; "
        f"the unnamed 2nd field holds times ({sniff.column(1, 1)[0]}) and is read as Time"
    )
    return fixed, [Finding("columns", what, "warning")]


def _role_of(name: str, profile: Profile) -> str:
    key = normalise_name(name)
    if key in profile.rename:
        return profile.rename[key]
    if key in ALIASES:
        return ALIASES[key]
    if key in DATETIME_NAMES:
        return "datetime"
    return "skip"


def _strength(role: str, name: str) -> int:
    key = normalise_name(name)
    return DATETIME_NAMES.index(key) if role == "datetime" and key in DATETIME_NAMES else rank(role, key)


def _dedupe(roles: list[str], names: list[str], samples: list[list[str]] | None = None) -> list[str]:
    """One column per role: the strongest name wins, the file's order breaks ties."""
    out = list(roles)
    for role in set(roles) - {"skip"}:
        claims = sorted(
            (i for i, r in enumerate(roles) if r == role), key=lambda i: (_strength(role, names[i]), i)
        )
        if role == "volume" and samples is not None and len(claims) > 1:
            claims = _live_volume_first(claims, samples)
        for i in claims[1:]:
            out[i] = "skip"
    return out


def _live_volume_first(claims: list[int], samples: list[list[str]]) -> list[int]:
    """MetaTrader's real volume is all zero for FX: then its tick volume is the volume."""

    def zero(i: int) -> bool:
        values = samples[i] if i < len(samples) else []
        return bool(values) and all(_is_zero(v) for v in values)

    return sorted(claims, key=lambda i: zero(i))


def _is_zero(value: str) -> bool:
    try:
        return float(value) == 0
    except ValueError:
        return False


def plan_from_names(
    names: list[str], profile: Profile, path: str, samples: list[list[str]] | None = None
) -> ColumnPlan:
    """Roles from header names; a missing price column is an IngestError with a suggestion."""
    roles = _dedupe([_role_of(n, profile) for n in names], names, samples)
    findings: list[Finding] = []
    if not set(roles) & set(TIME_ROLES) and samples is not None:
        roles, findings = _dates_by_content(roles, names, samples)
    return _finish(roles, list(names), path, findings)


def _finish(roles: list[str], names: list[str], path: str, findings: list[Finding]) -> ColumnPlan:
    if "datetime" in roles and "date" in roles and "time" not in roles:
        roles = ["skip" if r == "date" else r for r in roles]
    if "time" in roles and "date" not in roles and "datetime" not in roles:
        roles = ["datetime" if r == "time" else r for r in roles]  # Barchart: `Time` holds dates
    if "date" in roles and "time" not in roles and "datetime" not in roles:
        roles = ["datetime" if r == "date" else r for r in roles]
    _require(roles, names, path)
    return ColumnPlan(roles, names, findings)


def _dates_by_content(
    roles: list[str], names: list[str], samples: list[list[str]]
) -> tuple[list[str], list[Finding]]:
    """No time column by name: the first column that holds dates is it (yfinance labels it 'Price')."""
    for i, values in enumerate(samples):
        fmt = detect_format(values[:50]) if values else None
        if fmt is not None and fmt.kind != "epoch":
            label = names[i] or i + 1
            what = f"no column is named like a time; column `{label}` holds dates and is read as the time"
            return [("datetime" if j == i else r) for j, r in enumerate(roles)], [
                Finding("columns", what, "warning")
            ]
    return roles, []


def _require(roles: list[str], names: list[str], path: str) -> None:
    for role in ("datetime", *PRICE_COLUMNS):
        if role == "datetime" and ("datetime" in roles or "time" in roles):
            continue
        if role in roles:
            continue
        shown = [excerpt(n, 40) or "(unnamed)" for n in names[:20]]
        found = ", ".join(shown) + (f" and {len(names) - 20:,} more" if len(names) > 20 else "")
        reason = f"column `{role}` missing; found: {found}"
        guess = _suggest(role, names, roles)
        if guess:
            reason += f" -> did you mean {guess}?"
        raise IngestError(path=path, reason=reason, check="columns", suggest=True)


def _suggest(role: str, names: list[str], roles: list[str]) -> str | None:
    free = [n for n, r in zip(names, roles, strict=False) if r == "skip" and n]
    key = {"datetime": "timestamp"}.get(role, role)
    close = difflib.get_close_matches(key, [normalise_name(n) for n in free], n=1, cutoff=0.5)
    if close:
        return next(n for n in free if normalise_name(n) == close[0])
    contains = [n for n in free if key[:3] in normalise_name(n)]
    return contains[0] if contains else None


def _headerless_roles(sniff: TextSniff, profile: Profile) -> list[str]:
    if profile.names:
        return list(profile.names)
    split = _time_like(sniff.column(1, 50))
    head = ["date", "time"] if split else ["datetime"]
    rest = ["open", "high", "low", "close", "volume", "open_interest"]
    return [*head, *rest][: sniff.field_count]


def _declared(sniff: TextSniff, layout: Layout, path: str) -> dict[int, str]:
    """Field index -> role for the columns a layout names (by 1-based position or header name)."""
    out: dict[int, str] = {}
    header = sniff.header or []
    for role, ref in layout.columns.declared().items():
        index: int | None
        if isinstance(ref, int):
            index = ref - 1
            if index >= sniff.field_count:
                reason = f"layout column {role} = {ref}, but the rows have {sniff.field_count} fields"
                raise IngestError(path=path, reason=reason, check="layout")
        else:
            index = _find_name(header, ref)
            if index is None:
                found = ", ".join(header) if header else "no header"
                reason = f"layout column {role} = {ref!r} is not in the header ({found})"
                raise IngestError(path=path, reason=reason, check="layout")
        out[index] = role
    return out


def _find_name(header: list[str], ref: str) -> int | None:
    exact = [i for i, h in enumerate(header) if h.strip() == ref.strip()]
    if exact:
        return exact[0]
    loose = [i for i, h in enumerate(header) if normalise_name(h) == normalise_name(ref)]
    return loose[0] if loose else None


def plan_columns(sniff: TextSniff, profile: Profile, path: str, layout: Layout | None = None) -> ColumnPlan:
    """The column plan for a text sample under a profile (and a declared layout)."""
    layout = layout or Layout()
    width = sniff.field_count
    declared = _declared(sniff, layout, path) if layout.columns.declared() else {}
    samples = [sniff.column(i, 200) for i in range(width)]
    if sniff.header is None:
        roles = (
            ["skip"] * width if declared else (_headerless_roles(sniff, profile) + ["skip"] * width)[:width]
        )
        for index, role in declared.items():
            roles[index] = role
        plan = ColumnPlan(
            roles, [f"field {i + 1}" for i in range(width)], positional=not (declared or profile.names)
        )
        if len(set(roles) & {"open", "high", "low", "close"}) < 4:
            raise IngestError(
                path=path,
                reason=f"no header and {width} fields per row: cannot tell which field is which; "
                "add a header row (datetime,open,high,low,close,volume) or declare the columns in a layout",
                check="columns",
                suggest=True,
            )
        return _finish(plan.roles, plan.labels, path, []) if declared else plan
    names, findings = _repair_short_header(sniff, sniff.header)
    names = (names + [""] * width)[: max(width, len(names))]
    if not declared:
        plan = plan_from_names(names, profile, path, samples)
        plan.findings[:0] = findings
        return plan
    roles = [_role_of(n, profile) for n in names]
    claimed = set(declared.values()) | ({"date", "time"} if "datetime" in declared.values() else set())
    claimed |= {"datetime"} if "date" in declared.values() else set()
    roles = ["skip" if r in claimed else r for r in roles]
    for index, role in declared.items():
        roles[index] = role
    return _finish(_dedupe(roles, names, samples), names, path, findings)
