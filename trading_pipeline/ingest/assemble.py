"""The shared tail of every table reader: choose the profile, plan the columns, standardise, and hand over
a ``ParsedFile`` that also records what was detected (the starting point of ``--suggest-layout``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.columns import NUMERIC_ROLES, ColumnPlan
from trading_pipeline.ingest.layout import Layout
from trading_pipeline.ingest.numbers import NumberFormat, detect_number_format
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.priceorder import decide_price_order
from trading_pipeline.ingest.profiles import Profile, get_profile, match_text_profile
from trading_pipeline.ingest.rawtable import RawTable
from trading_pipeline.ingest.standardise import standardise
from trading_pipeline.ingest.textsniff import TextSniff
from trading_pipeline.ingest.timeformats import TimeFormat, detect_format, format_from_layout

__all__ = ["assemble", "choose_profile", "number_format", "time_format"]


def choose_profile(sniff: TextSniff, options: IngestOptions, layout: Layout, path: str) -> Profile:
    """A forced profile (option or layout), else the first that matches, else refuse with a way out."""
    forced = options.profile or layout.profile
    if forced:
        return get_profile(forced)
    profile = match_text_profile(sniff)
    if profile is None:
        if layout.columns.declared():
            return get_profile("generic_header" if sniff.header else "generic_noheader")
        shape = f"{sniff.field_count} fields, {'a header' if sniff.header else 'no header'}"
        raise IngestError(path=path, reason=f"unrecognised layout ({shape})", check="format", suggest=True)
    return profile


def time_format(sniff: TextSniff, plan: ColumnPlan, layout: Layout) -> TimeFormat | None:
    """The layout's time format, else the one the sample values show."""
    dt, day, clock = plan.index("datetime"), plan.index("date"), plan.index("time")
    declared = format_from_layout(layout, day is not None and clock is not None)
    if declared is not None:
        return declared
    if dt is not None:
        return detect_format(sniff.column(dt))
    if day is not None and clock is not None:
        pairs = zip(sniff.column(day), sniff.column(clock), strict=False)
        return detect_format([f"{d} {t}" for d, t in pairs])
    return None


def number_format(sniff: TextSniff, plan: ColumnPlan, layout: Layout) -> NumberFormat:
    """Decimal and thousands separators from the number columns' sample values (a layout's win)."""
    values = [v for i in plan.used if plan.roles[i] in NUMERIC_ROLES for v in sniff.column(i)]
    delimiter = sniff.notes.get("delimiter", ",")
    return detect_number_format(values, delimiter, layout.decimal, layout.thousands)


def assemble(
    raw: RawTable,
    *,
    sniff: TextSniff,
    plan: ColumnPlan,
    profile: Profile,
    options: IngestOptions,
    layout: Layout,
    path: str,
    session_date: date | None = None,
) -> ParsedFile:
    """Standardise ``raw`` and describe what was read and how."""
    result = standardise(raw, profile, options, path, session_date, layout)
    table, findings = result.table, [*raw.findings, *result.findings]
    if plan.positional and table.num_rows:
        table, moved = decide_price_order(table, path)
        findings += [moved] if moved else []
    notes = {**sniff.notes, **raw.notes, **result.notes}
    if raw.time_format is not None:
        notes["time_format"] = raw.time_format.describe()
    if not raw.numbers.plain or raw.numbers.decimal != ".":
        notes["numbers"] = raw.numbers.describe()
    return ParsedFile(
        table=table,
        profile=profile.name,
        symbol=raw.symbol or sniff.symbol,
        findings=findings,
        row_numbers=result.row_numbers,
        bar_label=options.bar_label or layout.bar_label or profile.bar_label,
        notes=notes,
        detected=_detected(sniff, plan, profile, raw, notes),
    )


def _detected(
    sniff: TextSniff, plan: ColumnPlan, profile: Profile, raw: RawTable, notes: dict[str, str]
) -> dict[str, Any]:
    """What detection found, in the shape of a layout (``--suggest-layout`` prints it)."""
    columns: dict[str, Any] = {}
    for i in plan.used:
        role = plan.roles[i]
        if role in Layout.model_fields["columns"].annotation.model_fields:  # type: ignore[union-attr]
            columns[role] = sniff.header[i] if sniff.header and i < len(sniff.header) else i + 1
    found: dict[str, Any] = {"profile": profile.name, "columns": columns}
    if sniff.delimiter:
        found["delimiter"] = notes.get("delimiter", sniff.delimiter)
        found["header"] = sniff.header is not None
        found["skip_top"] = max(sniff.skip_rows - (1 if sniff.header is not None else 0), 0)
    if sniff.encoding != "utf8":
        found["encoding"] = sniff.encoding
    fmt = raw.time_format
    if fmt is not None and fmt.kind == "strptime" and fmt.fmt:
        found["datetime_format"] = fmt.fmt + (".%f" if fmt.fraction else "")
    elif fmt is not None and fmt.kind == "epoch":
        found["epoch_unit"] = fmt.unit or "auto"
    found["decimal"], found["thousands"] = raw.numbers.decimal, raw.numbers.thousands
    if "tz" in notes:
        found["timezone"] = notes["tz"]
    if profile.price_scale:
        found["price_multiplier"] = profile.price_scale
    if "sheet" in notes:
        found["sheet"] = notes["sheet"]
    if notes.get("rows_from", "(top level)") != "(top level)":
        found["rows"] = notes["rows_from"]
    found["bar_label"] = profile.bar_label
    return found
