"""A plain text table for the commands people run in loops and scripts (`pipeline files`, `jobs`).

rich's tables cost about 0.15 s per command here (its import, and measuring every cell), more than the
ledger query they show; this writes the same kind of table in a few milliseconds. Cells are plain text,
made safe for a terminal here (control characters shown as ``?``), so no caller escapes anything; a
cell may carry a tone, shown as a colour on a terminal that takes one (``NO_COLOR`` turns it off).
Cells too wide for the terminal fold onto further lines, as rich's do: nothing is cut off.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import TextIO

from cli.common import TONE_STYLES
from trading_pipeline.statuses import Tone

__all__ = ["Cell", "TextTable", "fit", "fold", "safe", "text_width"]

SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}
"""The words of ``TONE_STYLES`` (rich's style names) as terminal codes."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (escape sequences, line breaks) and the invisible marks that reorder text."""
GAP = "  "


@dataclass(frozen=True)
class Cell:
    text: str
    tone: Tone | None = None


@dataclass
class TextTable:
    columns: list[str]
    title: str = ""
    right: set[str] = field(default_factory=set)
    """Columns aligned to the right (numbers)."""
    rows: list[list[Cell]] = field(default_factory=list)

    def add_row(self, *cells: str | Cell) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell(c) for c in cells])

    def render(self, width: int, *, color: bool = False) -> str:
        cells = [[Cell(safe(c.text), c.tone) for c in row] for row in self.rows]
        widths = fit([text_width(h) for h in self.columns], cells, width - len(GAP) * (len(self.columns) - 1))
        lines = [safe(self.title)] if self.title else []
        lines.append(self._line([Cell(h) for h in self.columns], widths, color, bold=True))
        lines.append(GAP.join("─" * w for w in widths))
        lines.extend(self._line(row, widths, color) for row in cells)
        return "\n".join(line.rstrip() for line in lines) + "\n"

    def print(self, stream: TextIO | None = None) -> None:
        out = stream or sys.stdout
        tty = out.isatty()
        width = _terminal_columns(out) if tty else int(os.environ.get("COLUMNS", 100))
        color = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        out.write(self.render(width, color=color))

    def _line(self, row: list[Cell], widths: list[int], color: bool, *, bold: bool = False) -> str:
        folded = [fold(cell.text, w) for cell, w in zip(row, widths, strict=True)]
        height = max(len(parts) for parts in folded)
        out = []
        for i in range(height):
            parts = []
            for name, cell, pieces, w in zip(self.columns, row, folded, widths, strict=True):
                piece = pieces[i] if i < len(pieces) else ""
                pad = " " * (w - text_width(piece))
                text = pad + piece if name in self.right else piece + pad
                code = "1" if bold else _sgr(cell.tone)
                parts.append(f"\x1b[{code}m{text}\x1b[0m" if color and code and piece else text)
            out.append(GAP.join(parts))
        return "\n".join(out)


def _terminal_columns(out: TextIO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError):
        return 100


def _sgr(tone: Tone | None) -> str | None:
    return ";".join(SGR[word] for word in TONE_STYLES[tone].split()) if tone else None


def safe(text: str) -> str:
    """Text from files as a terminal must show it: no escape sequences, no line breaks, nothing that
    reorders what follows it."""
    return _CONTROL.sub("?", text)


def text_width(text: str) -> int:
    """Columns the text takes on a terminal: wide (East Asian) characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(header: list[int], rows: list[list[Cell]], room: int) -> list[int]:
    """Column widths: each as wide as its widest cell, the widest ones narrowed while the table is
    wider than ``room`` (never below its header or 6 columns)."""
    widths = [max([h, *(text_width(row[i].text) for row in rows)]) for i, h in enumerate(header)]
    floor = [max(h, 6) for h in header]
    while sum(widths) > room:
        i = max(range(len(widths)), key=lambda k: widths[k] - floor[k])
        if widths[i] <= floor[i]:
            break
        widths[i] -= 1
    return widths


def fold(text: str, width: int) -> list[str]:
    """``text`` in pieces at most ``width`` columns wide, broken at spaces where there are some."""
    if text_width(text) <= width:
        return [text]
    pieces: list[str] = []
    while text_width(text) > width:
        cut = _cut(text, width)
        space = text.rfind(" ", 0, cut + 1)
        if space > width // 2:
            cut = space
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces


def _cut(text: str, width: int) -> int:
    used = 0
    for i, ch in enumerate(text):
        used += text_width(ch)
        if used > width:
            return max(i, 1)
    return len(text)
