"""The plain table of `pipeline files` and `jobs`: safe text, columns that fit, nothing cut off."""

from __future__ import annotations

import io

from cli.table import Cell, TextTable, fold, text_width
from trading_pipeline.statuses import Tone


def _table() -> TextTable:
    table = TextTable(["path", "status", "rows"], title="Files in /data", right={"rows"})
    table.add_row("raw/MES_1m.csv", Cell("ingested", Tone.GOOD), "1,440")
    table.add_row("raw/MGC_1m.csv", Cell("rejected", Tone.BAD), "")
    return table


def test_columns_are_as_wide_as_their_widest_cell_and_numbers_align_right() -> None:
    assert _table().render(100).splitlines() == [
        "Files in /data",
        "path            status     rows",
        "──────────────  ────────  ─────",
        "raw/MES_1m.csv  ingested  1,440",
        "raw/MGC_1m.csv  rejected",
    ]


def test_text_from_files_cannot_drive_the_terminal() -> None:
    """Escape sequences, line breaks and bidi overrides in a file name or reason show as ``?``."""
    table = TextTable(["path", "reason"], title="in \x1b[2J")
    table.add_row("evil\x1b]0;title\x07.csv", "line\nbreak \u202etxt.exe")
    out = table.render(100)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "evil?]0;title?.csv" in out and "line?break ?txt.exe" in out and "in ?[2J" in out


def test_a_table_wider_than_the_terminal_folds_its_widest_cells_and_loses_nothing() -> None:
    table = TextTable(["path", "reason"])
    reason = "rows 3-5: high below low; " * 6
    table.add_row("raw/MES_1m.csv", reason)
    lines = _lines(table.render(60))
    assert max(text_width(line) for line in lines) <= 60
    assert len(lines) > 3
    assert "".join(line[16:] for line in lines[2:]).replace(" ", "") == reason.replace(" ", "")


def test_colour_only_when_asked_and_on_a_terminal() -> None:
    assert "\x1b[" not in _table().render(100)
    coloured = _table().render(100, color=True)
    assert "\x1b[32mingested\x1b[0m" in coloured and "\x1b[1;31mrejected\x1b[0m" in coloured
    stream = io.StringIO()  # not a terminal: plain text
    _table().print(stream)
    assert "\x1b[" not in stream.getvalue() and "raw/MES_1m.csv" in stream.getvalue()


def test_wide_characters_take_two_columns() -> None:
    assert text_width("日本") == 4 and text_width("abc") == 3
    assert fold("日本語ファイル", 6) == ["日本語", "ファイ", "ル"]
    assert fold("short", 10) == ["short"]


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").splitlines()
