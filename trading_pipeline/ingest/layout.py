"""A layout a user declares for files that detection gets wrong: ``--layout my_broker.toml``.

Every field is optional: what the layout names wins over detection, everything else is still detected.
The same model is read from a ``--layout`` file, stored with a source (``sources add-dir --layout``),
and found as ``layout.toml`` beside the files of a watched folder. A layout is checked when it is read,
and every problem names its field (``columns.open: ...``), so a typo fails at once and not at 3 a.m.
"""

from __future__ import annotations

import codecs
import dataclasses
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trading_pipeline.errors import UsageError
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.timeparse import zone

__all__ = [
    "LAYOUT_FILE_NAME",
    "ColumnRef",
    "Columns",
    "Layout",
    "LayoutError",
    "find_layout_file",
    "layout_from_json",
    "load_layout",
    "with_folder_layout",
]

LAYOUT_FILE_NAME = "layout.toml"
ColumnRef = int | str
"""A 1-based field position (``3``) or a header name (``"Close Price"``)."""
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
_SAMPLE_TIME = datetime(2024, 11, 23, 13, 45, 56)  # every field differs, so a swapped format shows


class LayoutError(UsageError):
    """A layout file that cannot be read or does not validate; the message lists every problem."""


class Columns(BaseModel):
    """Which field holds each part of a bar: a 1-based position or a header name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    datetime: ColumnRef | None = None
    date: ColumnRef | None = None
    time: ColumnRef | None = None
    open: ColumnRef | None = None
    high: ColumnRef | None = None
    low: ColumnRef | None = None
    close: ColumnRef | None = None
    volume: ColumnRef | None = None
    symbol: ColumnRef | None = None
    trades: ColumnRef | None = None
    vwap: ColumnRef | None = None
    open_interest: ColumnRef | None = None
    adj_close: ColumnRef | None = None

    @field_validator("*")
    @classmethod
    def _reference(cls, value: ColumnRef | None) -> ColumnRef | None:
        if isinstance(value, bool):
            raise ValueError('give a 1-based field position (3) or a header name ("Close")')
        if isinstance(value, int) and value < 1:
            raise ValueError(f"field positions start at 1, not {value}")
        if isinstance(value, str) and not value.strip():
            raise ValueError("a column name must not be empty")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Columns:
        named = self.declared()
        if "datetime" in named and ("date" in named or "time" in named):
            raise ValueError("give either datetime, or date (and time), not both")
        if "time" in named and "date" not in named:
            raise ValueError("time needs a date column too (or use datetime for one combined column)")
        positions = [v for v in named.values() if isinstance(v, int)]
        repeated = sorted({p for p in positions if positions.count(p) > 1})
        if repeated:
            raise ValueError(f"field {', '.join(map(str, repeated))} is given to more than one column")
        return self

    def declared(self) -> dict[str, ColumnRef]:
        """The columns the layout names, role -> reference."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Layout(BaseModel):
    """What a file is, as far as the user says; ``Layout()`` says nothing and detection does it all."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: Columns = Field(default_factory=Columns)
    header: bool | None = None
    delimiter: str | None = None
    encoding: str | None = None
    skip_top: int = Field(default=0, ge=0, le=10_000)
    skip_bottom: int = Field(default=0, ge=0, le=10_000)
    decimal: Literal[".", ","] | None = None
    thousands: Literal[",", ".", " ", "'", ""] | None = None
    datetime_format: str | None = None
    date_format: str | None = None
    time_format: str | None = None
    epoch_unit: Literal["s", "ms", "us", "ns"] | None = None
    timezone: str | None = None
    bar_label: Literal["open", "close"] | None = None
    price_multiplier: float | None = Field(default=None, gt=0)
    symbol: str | None = None
    sheet: str | int | None = None
    rows: str | None = None
    profile: str | None = None

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = DELIMITER_NAMES.get(value.lower(), value)
        if value not in (",", ";", "\t", "|", " ", ", ") and len(value) != 1:
            raise ValueError('one character, ", " (comma and space), or "tab"')
        if value in ('"', "\n", "\r"):
            raise ValueError(f"{value!r} cannot separate fields")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}: e.g. utf-8, utf-16, cp1252, latin-1") from exc

    @field_validator("datetime_format", "date_format", "time_format")
    @classmethod
    def _strftime(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "%" not in value:
            raise ValueError(f"{value!r} has no %-directive: e.g. %d.%m.%Y %H:%M:%S (Python strftime codes)")
        try:
            text = _SAMPLE_TIME.strftime(value)
            datetime.strptime(text, value)  # round trip: catches %Q and other unknown codes
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a usable strftime format ({exc})") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone(value)
            except UsageError as exc:
                raise ValueError(exc.message) from exc
        return value

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str | None) -> str | None:
        from trading_pipeline.names import SYMBOL_RE

        if value is not None and not SYMBOL_RE.fullmatch(value.strip()):
            raise ValueError(
                "a symbol is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value.strip() if value is not None else None

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str | None) -> str | None:
        if value is not None:
            from trading_pipeline.ingest.profiles import get_profile

            try:
                get_profile(value)
            except UsageError as exc:
                raise ValueError(exc.message) from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Layout:
        if self.datetime_format and (self.date_format or self.time_format):
            raise ValueError("give either datetime_format, or date_format (and time_format), not both")
        if self.epoch_unit and (self.datetime_format or self.date_format):
            raise ValueError("epoch_unit is for integer times; a strftime format is for text times")
        if self.decimal is not None and self.decimal == self.thousands:
            raise ValueError(f"decimal and thousands separators are both {self.decimal!r}")
        if self.delimiter is not None and self.delimiter == self.decimal and self.delimiter == ",":
            raise ValueError('with delimiter "," the decimal separator cannot be "," (quote the fields?)')
        return self

    @property
    def is_empty(self) -> bool:
        return self == Layout()

    def to_json(self) -> dict[str, Any]:
        """Only the fields that say something, JSON-friendly (stored with sources and in RQ jobs)."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        columns = self.columns.declared()
        if columns:
            data["columns"] = columns
        return data


def _describe(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("int", "str"))) or "layout"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            known = Columns.model_fields if field.startswith("columns.") else Layout.model_fields
            msg = f"unknown field; known: {', '.join(known)}"
        lines.append(f"{field}: {msg}")
    return f"invalid layout {where}: " + "; ".join(dict.fromkeys(lines))


def layout_from_json(data: dict[str, Any] | None, where: str = "") -> Layout:
    """A layout from its stored JSON (or TOML) form; ``LayoutError`` naming each bad field."""
    if not data:
        return Layout()
    section = data.get("layout", data) if isinstance(data.get("layout"), dict) else data
    try:
        return Layout.model_validate(section)
    except ValidationError as exc:
        raise LayoutError(_describe(exc, where or "(given)")) from exc


def load_layout(path: Path | str) -> Layout:
    """Read and check a layout TOML file (keys at the top, or under ``[layout]``)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LayoutError(f"layout file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"cannot read layout file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"layout file {path} is not valid TOML: {exc}") from exc
    return layout_from_json(data, str(path))


def find_layout_file(path: Path, root: Path) -> Path | None:
    """The nearest ``layout.toml`` in the file's folder or a parent folder, never above ``root``."""
    folder = Path(path).parent
    root = Path(root)
    while True:
        candidate = folder / LAYOUT_FILE_NAME
        if candidate.is_file():
            return candidate
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def with_folder_layout(options: IngestOptions, path: Path, root: Path) -> IngestOptions:
    """Options that read the ``layout.toml`` found beside the file, if there is one: it is nearer to
    the files than a layout stored with their source, so it wins. The file is read when the file is
    ingested (by the worker), so an edit applies to the next file without re-registering anything."""
    found = find_layout_file(path, root)
    if found is None:
        return options
    return dataclasses.replace(options, layout=None, layout_path=str(found))
