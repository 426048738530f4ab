"""Which file column plays which role (datetime, open, ..., symbol), for headered and headerless layouts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.profiles import ALIASES, DATETIME_NAMES, Profile
from trading_pipeline.ingest.sniff import TextSniff, looks_like_data, normalise_name
from trading_pipeline.report import Finding
from trading_pipeline.schema import OPTIONAL_COLUMNS, PRICE_COLUMNS

__all__ = ["ColumnPlan", "plan_columns", "plan_from_names"]

NUMERIC_ROLES = frozenset({*PRICE_COLUMNS, "volume", "up", "down", *OPTIONAL_COLUMNS})
TIME_ROLES = ("datetime", "date", "time")


@dataclass
class ColumnPlan:
    """``roles[i]`` is the role of field ``i``; ``labels`` are the names shown to users."""

    roles: list[str]
    labels: list[str]
    findings: list[Finding] = field(default_factory=list)

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


def _dedupe(roles: list[str], names: list[str]) -> list[str]:
    """One column per role; among several datetime candidates the preferred name wins."""
    dt = [i for i, r in enumerate(roles) if r == "datetime"]
    if len(dt) > 1:
        keep = min(dt, key=lambda i: DATETIME_NAMES.index(normalise_name(names[i])))
        roles = ["skip" if (r == "datetime" and i != keep) else r for i, r in enumerate(roles)]
    seen: set[str] = set()
    out = []
    for role in roles:
        out.append("skip" if role in seen and role != "skip" else role)
        seen.add(role)
    return out


def plan_from_names(names: list[str], profile: Profile, path: str) -> ColumnPlan:
    """Roles from header names; a missing price column is an IngestError with a suggestion."""
    roles = _dedupe([_role_of(n, profile) for n in names], names)
    if "datetime" in roles and "date" in roles and "time" not in roles:
        roles = ["skip" if r == "date" else r for r in roles]
    if "time" in roles and "date" not in roles and "datetime" not in roles:
        roles = ["datetime" if r == "time" else r for r in roles]  # Barchart: `Time` holds dates
    if "date" in roles and "time" not in roles and "datetime" not in roles:
        roles = ["datetime" if r == "date" else r for r in roles]
    _require(roles, names, path)
    return ColumnPlan(roles, list(names))


def _require(roles: list[str], names: list[str], path: str) -> None:
    for role in ("datetime", *PRICE_COLUMNS):
        if role == "datetime" and ("datetime" in roles or "time" in roles):
            continue
        if role in roles:
            continue
        found = ", ".join(n or "(unnamed)" for n in names)
        reason = f"column `{role}` missing; found: {found}"
        guess = _suggest(role, names, roles)
        if guess:
            reason += f" -> did you mean {guess}?"
        raise IngestError(path=path, reason=reason, check="columns")


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


def plan_columns(sniff: TextSniff, profile: Profile, path: str) -> ColumnPlan:
    """The column plan for a text sample under a profile."""
    width = sniff.field_count
    if sniff.header is None:
        roles = _headerless_roles(sniff, profile)
        roles = (roles + ["skip"] * width)[:width]
        plan = ColumnPlan(roles, [f"field {i + 1}" for i in range(width)])
        if len(set(roles) & {"open", "high", "low", "close"}) < 4:
            raise IngestError(
                path=path,
                reason=f"no header and {width} fields per row: cannot tell which field is which; "
                "add a header row (datetime,open,high,low,close,volume) or pass --profile",
                check="columns",
            )
        return plan
    names, findings = _repair_short_header(sniff, sniff.header)
    plan = plan_from_names(names, profile, path)
    plan.findings.extend(findings)
    return plan
