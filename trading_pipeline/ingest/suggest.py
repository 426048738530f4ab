"""``pipeline validate FILE --suggest-layout``: a starting layout from what detection found.

When detection succeeds the suggestion is exactly what was used (so a user corrects one wrong field);
when it fails, it is what the head of the file shows (delimiter, header, the look of the first
columns), with the columns in the standard order for the user to fix. Either way it is valid TOML that
``--layout`` accepts, with the file's first lines quoted as comments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trading_pipeline.errors import IngestError, UsageError
from trading_pipeline.ingest.layout import Columns
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.reader import read_file, resolve_layout
from trading_pipeline.ingest.sniff import SNIFF_BYTES, detect_container, read_head
from trading_pipeline.ingest.textsniff import decode_head, sniff_text
from trading_pipeline.ingest.timeformats import detect_format
from trading_pipeline.ingest.timeparse import zone

__all__ = ["suggest_layout"]

STANDARD = ("datetime", "open", "high", "low", "close", "volume")
FIELD_ORDER = (
    "encoding", "delimiter", "header", "skip_top", "skip_bottom", "decimal", "thousands",
    "datetime_format", "epoch_unit", "timezone", "bar_label", "price_multiplier", "symbol", "sheet", "rows",
)  # fmt: skip


def suggest_layout(path: Path, options: IngestOptions) -> str:
    """TOML text of a layout for ``path`` (never raises for a bad file: it says what it could not read)."""
    problem = None
    try:
        parsed = read_file(path, options)
        found = dict(parsed.detected)
        if parsed.symbol:
            found.setdefault("symbol", parsed.symbol)
    except IngestError as exc:
        problem = str(exc.fields.get("reason") or exc.message).split(". Describe the file in a layout")[0]
        found = _sketch(path, options)
    return _render(path, found, problem)


def _sketch(path: Path, options: IngestOptions) -> dict[str, Any]:
    """What the head shows when the file could not be read: delimiter, header, a standard column order."""
    kind, compression = detect_container(path)
    if kind != "text":
        return {"columns": dict(zip(STANDARD, range(1, 7), strict=True))}
    head = read_head(path, compression)
    try:
        sniff = sniff_text(head, path.name, complete=len(head) < SNIFF_BYTES, layout=resolve_layout(options))
    except IngestError:
        return {"columns": dict(zip(STANDARD, range(1, 7), strict=True))}
    names = sniff.header or []
    refs: list[Any] = [names[i] if i < len(names) and names[i] else i + 1 for i in range(sniff.field_count)]
    found: dict[str, Any] = {
        "delimiter": sniff.notes.get("delimiter", sniff.delimiter),
        "header": sniff.header is not None,
        "skip_top": max(sniff.skip_rows - (1 if sniff.header is not None else 0), 0),
        "columns": dict(zip(STANDARD, refs, strict=False)),
    }
    if sniff.encoding != "utf8":
        found["encoding"] = sniff.encoding
    fmt = detect_format(sniff.column(0))
    if fmt is not None and fmt.kind == "strptime" and fmt.fmt:
        found["datetime_format"] = fmt.fmt + (".%f" if fmt.fraction else "")
        if fmt.swapped:
            found["datetime_format_or"] = fmt.swapped
    return found


def _first_lines(path: Path, count: int = 4) -> list[str]:
    try:
        kind, compression = detect_container(path)
        if kind not in ("text", "json"):
            return []
        text, _ = decode_head(read_head(path, compression, 4096), path.name, complete=False)
    except IngestError:
        return []
    return [line[:100] for line in text.splitlines()[:count]]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string uses JSON's escapes


def _timezone(text: str) -> tuple[str | None, str]:
    """('America/New_York', '') from 'America/New_York (--tz)'; None for times that carry their zone."""
    name, _, origin = text.partition(" (")
    try:
        zone(name)
    except UsageError:
        return None, ""
    note = "  # the file did not say: set the zone of its times" if origin.startswith("default") else ""
    return name, note


def _render(path: Path, found: dict[str, Any], problem: str | None) -> str:
    lines = [
        f"# Layout for {path.name}, from what detection found. Correct what is wrong, then run",
        f"#   pipeline ingest {path.name} --layout layout.toml",
    ]
    lines.append("# Fields left out are detected; column references are header names or 1-based positions.")
    if problem:
        lines.append(f"# Detection failed: {problem}")
    elif found.get("profile"):
        lines.append(
            f"# Detected as profile {found['profile']} (docs/formats.md); `profile = ...` forces one."
        )
    lines += [f"#   | {line}" for line in _first_lines(path)]
    lines.append("")
    for key in FIELD_ORDER:
        value = found.get(key)
        if key == "timezone" and isinstance(value, str):
            name, note = _timezone(value)
            lines.append(
                f"timezone = {_value(name)}{note}"
                if name
                else '# timezone = "UTC"  # the times carry their zone'
            )
        elif key == "datetime_format" and found.get("datetime_format_or"):
            lines.append(
                f"datetime_format = {_value(value)}  # or {found['datetime_format_or']}: which is it?"
            )
        elif key == "epoch_unit" and value == "auto":
            lines.append('# epoch_unit = "ms"  # read from the size of the values; set it if that is wrong')
        elif (
            key in ("decimal", "thousands")
            and value is not None
            and (value != "." if key == "decimal" else value)
        ) or (value is not None and key not in ("decimal", "thousands")):
            lines.append(f"{key} = {_value(value)}")
    columns = {k: v for k, v in (found.get("columns") or {}).items() if k in Columns.model_fields}
    lines += ["", "[columns]", *(f"{role} = {_value(ref)}" for role, ref in columns.items())]
    return "\n".join(lines) + "\n"
