"""Local number formats: ``4,744.50``, ``4.744,50``, ``4 744,50``, ``$185.64``, volumes like ``1.23K``.

The format is decided once per file from sample values (``detect_number_format``); plain numbers keep
pyarrow's fast float parsing, and only a file that needs it pays for ``parse_numbers``, which is
vectorised (a few regex passes over the column) and refuses malformed groupings instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PLACEHOLDERS", "NumberFormat", "detect_number_format", "looks_like_number", "parse_numbers"]

PLACEHOLDERS = frozenset({"-", "--", "—", "–", "null", "NULL", "Null", "None"})
"""Cells that mean 'no value' (Yahoo's holiday rows, Investing.com's missing volume)."""
SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_PLAIN = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_LOCAL = re.compile(
    r"^[-+]?[$€£¥]?\s?(\d{1,3}([,.\s\u00a0'’]\d{3})+|\d+)([.,]\d+)?\s?[KMBTkmbt%]?$"
    r"|^[-+]?[$€£¥]?\s?\d*[.,]\d+\s?[KMBTkmbt%]?$"
)


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written: decimal separator, thousands separator, and whether cells carry extras
    (currency signs, K/M/B suffixes, '-' placeholders) that need the slow parser."""

    decimal: str = "."
    thousands: str = ""
    extras: bool = False

    @property
    def plain(self) -> bool:
        """Numbers pyarrow reads as they are (optionally with a decimal comma, via ``decimal_point``)."""
        return not self.thousands and not self.extras

    def describe(self) -> str:
        grouping = {"": "no", " ": "space", "'": "apostrophe"}.get(self.thousands, repr(self.thousands))
        return f"decimal {self.decimal!r}, {grouping} thousands separator"


_EXTRA_MARKS = re.compile("[$€£¥KMBTkmbt%\u00a0]")
"""Currency signs, K/M/B/T multipliers, percent signs and no-break spaces: numbers pyarrow cannot read."""


def looks_like_number(value: str) -> bool:
    """Plain or local-format number (the test sniffing uses to tell data rows from headers)."""
    text = value.strip()
    return bool(_PLAIN.match(text) or _LOCAL.match(text))


def _evidence(value: str) -> str | None:
    """'.' or ',' when the value proves the decimal separator, else None."""
    text = value.strip().lstrip("+-$€£¥").rstrip("KMBTkmbt% ")
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        return "." if text.rfind(".") > text.rfind(",") else ","
    for sep in (".", ","):
        count = text.count(sep)
        if count > 1:  # repeated: it can only be the grouping, so the other one is the decimal
            return "," if sep == "." else "."
        if count == 1 and len(text) - text.find(sep) - 1 != 3:
            return sep  # '4744,5' or '1.25': not a 3-digit group
    return None


def detect_number_format(
    samples: Iterable[str], delimiter: str = ",", decimal: str | None = None, thousands: str | None = None
) -> NumberFormat:
    """The file's number format from sample cells of its number columns (a layout's fields win)."""
    values = [v.strip() for v in samples if v and v.strip() and v.strip() not in PLACEHOLDERS]
    votes = [e for e in map(_evidence, values) if e]
    if decimal is None:
        if votes:
            decimal = max(set(votes), key=votes.count)
        else:  # only ambiguous '1,234': European files separate fields with ';'
            decimal = "," if delimiter == ";" and any("," in v for v in values) else "."
    if thousands is None:
        seps = {ch for v in values for ch in v if ch in ",. '’\u00a0"} - {decimal}
        thousands = sorted(seps)[0] if seps else ""
        thousands = "'" if thousands == "’" else thousands
    extras = any(not _PLAIN.match(v.replace(decimal, ".")) and not thousands for v in values) or any(
        _EXTRA_MARKS.search(v) for v in values
    )
    return NumberFormat(decimal, thousands, extras)


def parse_numbers(values: pa.Array, fmt: NumberFormat, *, suffixes: bool) -> tuple[pa.Array, np.ndarray]:
    """float64 values and a mask of cells that are not numbers in this format.

    Placeholders ('-', 'null', empty) become nulls and are not bad; a grouping that is not in threes
    (``1,23.4``) is bad rather than read as 123.4. ``suffixes`` allows K/M/B/T multipliers (volumes).
    """
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    empty = pc.or_(pc.is_in(text, pa.array(sorted(PLACEHOLDERS))), pc.equal(text, ""))
    text = pc.if_else(empty, pa.scalar(None, pa.string()), text)
    text = pc.replace_substring_regex(text, pattern=r"^([-+]?)[$€£¥]\s?", replacement=r"\1")
    multiplier = None
    if suffixes:
        suffix = pc.utf8_upper(pc.utf8_slice_codeunits(text, -1))
        multiplier = pc.fill_null(
            pc.index_in(suffix, pa.array(list(SUFFIXES))).cast(pa.int64()), -1
        ).to_numpy(zero_copy_only=False)
        text = pc.replace_substring_regex(text, pattern=r"\s?[KMBTkmbt]$", replacement="")
    ok = pc.match_substring_regex(text, _valid_pattern(fmt))
    if fmt.thousands:
        text = pc.replace_substring(text, fmt.thousands, "")
        if fmt.thousands == " ":
            text = pc.replace_substring(text, "\u00a0", "")
    if fmt.decimal == ",":
        text = pc.replace_substring(text, ",", ".")
    good = pc.fill_null(ok, True)
    numbers = pc.cast(pc.if_else(good, text, pa.scalar(None, pa.string())), pa.float64())
    if multiplier is not None and (multiplier >= 0).any():
        scale = np.where(multiplier >= 0, np.array(list(SUFFIXES.values()))[np.maximum(multiplier, 0)], 1.0)
        numbers = pc.multiply(numbers, pa.array(scale))
    bad = ~np.asarray(good.to_numpy(zero_copy_only=False), dtype=bool)
    return numbers, bad


def _valid_pattern(fmt: NumberFormat) -> str:
    dec = re.escape(fmt.decimal)
    number = rf"\d+({dec}\d*)?|{dec}\d+"
    if fmt.thousands:
        sep = "[ \u00a0]" if fmt.thousands == " " else re.escape(fmt.thousands)
        number = rf"\d{{1,3}}({sep}\d{{3}})+({dec}\d*)?|{number}"
    return rf"^[-+]?({number})([eE][-+]?\d+)?$"
