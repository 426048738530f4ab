"""Spreadsheets written by the tests with real writers (xlsxwriter, xlwt, odfpy) and read with calamine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xlsxwriter
import xlwt

from trading_pipeline.errors import IngestError

HEADER = ["Date", "Open", "High", "Low", "Close", "Volume"]


def minute(i: int) -> dt.datetime:
    return dt.datetime(2024, 1, 2, 9, 30) + dt.timedelta(minutes=i)


def bar(i: int) -> list[float]:
    return [10.0 + i, 12.0 + i, 9.0 + i, 11.0 + i, 100.0 + i]


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, stamp)
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path


def test_xlsx_picks_the_sheet_that_holds_bars_and_skips_titles_and_notes(
    tmp_path: Path, samples: Any, at: Any
) -> None:
    notes = [["Exported by MyBroker"], ["Bars are on the other sheet"]]
    prices = [
        ["ES futures, 1-minute bars"],
        [],
        HEADER,
        *[[minute(i), *bar(i)] for i in range(5)],
        [],
        ["Source: MyBroker"],
    ]
    path = write_xlsx(tmp_path / "ES_export.xlsx", {"Notes": notes, "Prices": prices})
    parsed = samples.read(path.name, path.read_bytes(), tz="UTC")
    assert parsed.profile == "spreadsheet"
    assert parsed.notes["sheet"] == "Prices"
    data = parsed.table.to_pandas()
    assert (len(data), data["datetime"][0], data["close"][4]) == (5, at("2024-01-02 09:30"), 15.0)
    junk = [f.message for f in parsed.findings if f.check == "junk_lines"]
    assert any("ES futures" in m for m in junk) and any("Source: MyBroker" in m for m in junk)
    assert parsed.symbol == "ES"


def test_a_layout_names_the_sheet(tmp_path: Path, samples: Any) -> None:
    first = [HEADER, *[[minute(i), *bar(i)] for i in range(3)]]
    second = [HEADER, *[[minute(i), *bar(i + 100)] for i in range(3)]]
    path = write_xlsx(tmp_path / "book.xlsx", {"A": first, "B": second})
    parsed = samples.read(path.name, path.read_bytes(), tz="UTC", symbol="ES", layout={"sheet": "B"})
    assert parsed.table.column("close").to_pylist()[0] == 111.0
    parsed = samples.read(path.name, path.read_bytes(), tz="UTC", symbol="ES", layout={"sheet": 1})
    assert parsed.table.column("close").to_pylist()[0] == 11.0


def test_xls_with_date_cells_gives_daily_bars(tmp_path: Path, samples: Any, at: Any) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for c, name in enumerate(HEADER):
        sheet.write(0, c, name)
    for r in range(3):
        sheet.write(r + 1, 0, dt.datetime(2024, 1, 2 + r), dates)
        for c, value in enumerate(bar(r)):
            sheet.write(r + 1, c + 1, value)
    path = tmp_path / "NQ_daily.xls"
    book.save(str(path))
    parsed = samples.read(path.name, path.read_bytes())
    assert parsed.table.column("datetime").to_pylist()[2] == at("2024-01-04")
    assert not parsed.has_errors and "timezone" not in samples.warnings(parsed)


def test_ods(tmp_path: Path, samples: Any, at: Any) -> None:
    frame = pd.DataFrame([[minute(i), *bar(i)] for i in range(4)], columns=HEADER)
    path = tmp_path / "CL_1m.ods"
    frame.to_excel(path, engine="odf", index=False)
    parsed = samples.read(path.name, path.read_bytes(), tz="America/New_York")
    assert parsed.table.column("datetime").to_pylist()[0] == at("2024-01-02 14:30")
    assert parsed.table.num_rows == 4


def test_dates_that_lost_their_format_are_read_as_spreadsheet_day_numbers(
    tmp_path: Path, samples: Any, at: Any
) -> None:
    serial = (dt.datetime(2024, 1, 2, 9, 30) - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    rows = [HEADER, *[[serial + i / 1440, *bar(i)] for i in range(3)]]
    path = write_xlsx(tmp_path / "ES.xlsx", {"Sheet1": rows})
    parsed = samples.read(path.name, path.read_bytes(), tz="UTC")
    assert parsed.table.column("datetime").to_pylist() == [at(f"2024-01-02 09:3{i}") for i in range(3)]


def test_a_repeated_header_row_is_dropped(tmp_path: Path, samples: Any) -> None:
    rows = [HEADER, [minute(0), *bar(0)], HEADER, [minute(1), *bar(1)]]
    path = write_xlsx(tmp_path / "ES.xlsx", {"Sheet1": rows})
    parsed = samples.read(path.name, path.read_bytes(), tz="UTC")
    assert parsed.table.num_rows == 2
    [repeat] = [f for f in parsed.findings if f.check == "repeated_header"]
    assert repeat.rows == (2,)


def test_a_workbook_without_bars_is_refused(tmp_path: Path, samples: Any) -> None:
    path = write_xlsx(
        tmp_path / "notes.xlsx", {"Notes": [["nothing here"]], "More": [["a", "b"], ["c", "d"]]}
    )
    with pytest.raises(IngestError) as err:
        samples.read(path.name, path.read_bytes())
    assert err.value.check == "format"
    assert "no sheet holds a table of bars (sheets: Notes, More)" in str(err.value)
