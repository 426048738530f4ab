"""A layout a user declares: the model's precise errors, every field applied, and --suggest-layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trading_pipeline.errors import IngestError
from trading_pipeline.ingest.layout import (
    Layout,
    LayoutError,
    find_layout_file,
    layout_from_json,
    load_layout,
    with_folder_layout,
)
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ingest.reader import read_file
from trading_pipeline.ingest.suggest import suggest_layout

BROKER = (
    "MyBroker export, account 123\n"
    "generated 2024-01-05\n"
    "02.01.2024;15:30:00;4744,50;4754,33;4722,67;4742,83;1200\n"
    "02.01.2024;15:31:00;4742,50;4750,00;4740,00;4745,00;900\n"
    "END OF FILE\n"
    "checksum 0xBEEF\n"
)
BROKER_LAYOUT = {
    "delimiter": ";",
    "header": False,
    "skip_top": 2,
    "skip_bottom": 2,
    "decimal": ",",
    "date_format": "%d.%m.%Y",
    "time_format": "%H:%M:%S",
    "timezone": "Europe/Berlin",
    "price_multiplier": 0.01,
    "symbol": "FDAX",
    "columns": {"date": 1, "time": 2, "open": 3, "high": 4, "low": 5, "close": 6, "volume": 7},
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"columns": {"opn": 2}}, "columns.opn: unknown field; known: datetime, date, time, open"),
        ({"colums": {}}, "colums: unknown field; known: columns, header"),
        ({"columns": {"open": 0}}, "columns.open: field positions start at 1, not 0"),
        ({"columns": {"open": 2, "high": 2}}, "columns: field 2 is given to more than one column"),
        ({"columns": {"datetime": 1, "date": 2}}, "give either datetime, or date (and time), not both"),
        ({"columns": {"time": 2}}, "time needs a date column too"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
        ({"datetime_format": "%Q"}, "datetime_format: '%Q' is not a usable strftime format"),
        ({"datetime_format": "dd.mm.yyyy"}, "datetime_format: 'dd.mm.yyyy' has no %-directive"),
        ({"epoch_unit": "min"}, "epoch_unit: Input should be 's', 'ms', 'us' or 'ns'"),
        ({"delimiter": "ab"}, 'delimiter: one character, ", " (comma and space), or "tab"'),
        ({"decimal": ",", "thousands": ","}, "decimal and thousands separators are both ','"),
        ({"encoding": "klingon"}, "encoding: unknown encoding 'klingon'"),
        ({"price_multiplier": 0}, "price_multiplier: Input should be greater than 0"),
        ({"symbol": "../etc"}, "symbol: a symbol is 1-64 letters"),
        ({"profile": "nope"}, "profile: unknown profile 'nope'"),
        ({"skip_top": -1}, "skip_top: Input should be greater than or equal to 0"),
    ],
)
def test_an_invalid_layout_names_the_field_and_the_problem(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(LayoutError) as err:
        layout_from_json(data, "my_broker.toml")
    assert str(err.value).startswith("invalid layout my_broker.toml: ")
    assert expected in str(err.value)


def test_layout_files_read_keys_at_the_top_or_under_a_layout_table(tmp_path: Path) -> None:
    top = tmp_path / "a.toml"
    top.write_text('delimiter = ";"\n[columns]\nclose = "Settle"\n')
    nested = tmp_path / "b.toml"
    nested.write_text('[layout]\ndelimiter = ";"\n[layout.columns]\nclose = "Settle"\n')
    assert load_layout(top) == load_layout(nested) == Layout(delimiter=";", columns={"close": "Settle"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("delimiter = ;\n", "is not valid TOML"), (None, "does not exist")],
)
def test_unreadable_layout_files(tmp_path: Path, text: str | None, expected: str) -> None:
    path = tmp_path / "layout.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(LayoutError, match=expected):
        load_layout(path)


def test_every_field_of_a_broker_layout_applies(samples: Any, at: Any) -> None:
    """Positions, separators, junk at the top and bottom, date and time formats, zone, multiplier, symbol."""
    parsed = samples.read("export.txt", BROKER, layout=BROKER_LAYOUT)
    assert not parsed.has_errors, parsed.findings
    assert parsed.symbol == "FDAX"
    data = parsed.table.to_pandas()
    assert data["datetime"].tolist() == [at("2024-01-02 14:30"), at("2024-01-02 14:31")]
    assert (data["open"][0], data["close"][1], data["volume"][0]) == (47.445, 47.45, 1200.0)


def test_columns_by_header_name_override_detection(samples: Any) -> None:
    text = "When,A,B,C,D,Close\n2024-01-02 09:30,10,12,9,11,99\n"
    layout = {"columns": {"datetime": "When", "open": "A", "high": "B", "low": "C", "close": "D"}}
    row = samples.row(samples.read("ES.csv", text, tz="UTC", layout=layout))
    assert (row["open"], row["close"]) == (10.0, 11.0)


def test_a_layout_column_that_is_not_in_the_header(samples: Any) -> None:
    with pytest.raises(IngestError) as err:
        samples.read(
            "ES.csv",
            "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n",
            layout={"columns": {"close": "Settle"}},
        )
    assert err.value.check == "layout"
    assert "layout column close = 'Settle' is not in the header (Date, Open, High, Low, Close)" in str(
        err.value
    )


def test_epoch_unit_declared_wrong_is_refused_with_the_likely_cause(samples: Any) -> None:
    """Milliseconds declared as nanoseconds land in 1970: the report says what they look like."""
    text = "timestamp,open,high,low,close\n1704187800000,1,2,0.5,1.5\n1704187860000,1,2,0.5,1.5\n"
    parsed = samples.read("ES.csv", text, layout={"epoch_unit": "ns"})
    [finding] = [f for f in parsed.findings if f.check == "time_range"]
    assert "values look like milliseconds read as nanoseconds; the data says 1970-01-01" in finding.message
    assert finding.rows == (1, 2)


def test_bar_label_encoding_and_profile(samples: Any) -> None:
    text = "Date,Time,Open,High,Low,Close,Comment\n2024-01-02,09:30,1,2,0.5,1.5,Caf\xe9\n".encode("latin-1")
    parsed = samples.read("ES.csv", text, tz="UTC", layout={"bar_label": "close", "encoding": "latin-1"})
    assert parsed.bar_label == "close"
    assert "encoding" not in {f.check for f in parsed.findings}  # declared, not guessed


def test_explicit_options_win_over_the_layout(samples: Any, at: Any) -> None:
    layout = {"timezone": "Asia/Tokyo", "symbol": "NK"}
    parsed = samples.read(
        "ES.csv",
        "Date,Open,High,Low,Close\n2024-01-02 09:30,1,2,0.5,1.5\n",
        tz="UTC",
        symbol="ES",
        layout=layout,
    )
    assert parsed.symbol == "ES"
    assert samples.row(parsed)["datetime"] == at("2024-01-02 09:30")


def test_the_nearest_layout_toml_applies(tmp_path: Path) -> None:
    root = tmp_path / "watched"
    (root / "broker" / "2024").mkdir(parents=True)
    (root / "layout.toml").write_text('delimiter = ","\n')
    (root / "broker" / "layout.toml").write_text('delimiter = ";"\n')
    data = root / "broker" / "2024" / "a.txt"
    assert find_layout_file(data, root) == root / "broker" / "layout.toml"
    assert find_layout_file(root / "b.txt", root) == root / "layout.toml"
    assert find_layout_file(tmp_path / "elsewhere" / "c.txt", root) is None
    options = with_folder_layout(IngestOptions(layout={"delimiter": "|"}), data, root)
    assert (options.layout, options.layout_path) == (None, str(root / "broker" / "layout.toml"))


def test_a_broken_layout_toml_beside_the_file_rejects_it_with_the_reason(
    samples: Any, tmp_path: Path
) -> None:
    (tmp_path / "layout.toml").write_text("[columns]\nopn = 3\n")
    path = samples.path("ES.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n")
    with pytest.raises(IngestError) as err:
        read_file(path, with_folder_layout(IngestOptions(), path, tmp_path))
    assert err.value.check == "layout"
    assert "columns.opn: unknown field" in str(err.value)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "eu.csv",
            "Date;Open;High;Low;Close;Volume\n"
            "02.01.2024 09:00:00.000;4744,50;4754,33;4722,67;4742,83;1,23K\n"
            "02.01.2024 09:01:00.000;4742,50;4750,00;4740,00;4745,00;2,5M\n",
        ),
        ("ES.txt", "01/13/2024,09:30,1,2,0.5,1.5,3\n01/13/2024,09:31,1,2,0.5,1.5,3\n"),
        (
            "junk.csv",
            "Downloaded from x\nDate,Open,High,Low,Close\n"
            "2024-01-02 09:30,1,2,0.5,1.5\n2024-01-02 09:31,1,2,0.5,1.5\n",
        ),
    ],
)
def test_a_suggested_layout_loads_and_reads_the_file_the_same_way(
    samples: Any, tmp_path: Path, name: str, content: str
) -> None:
    path = samples.path(name, content)
    text = suggest_layout(path, IngestOptions(tz="UTC"))
    layout_file = tmp_path / "suggested.toml"
    layout_file.write_text(text)
    layout = load_layout(layout_file)
    detected = read_file(path, IngestOptions(tz="UTC"))
    declared = read_file(path, IngestOptions(tz="UTC", layout=layout.to_json()))
    assert declared.table.equals(detected.table)
    assert f"pipeline ingest {name} --layout" in text


def test_a_suggestion_for_an_unreadable_file_starts_from_what_the_head_shows(
    samples: Any, tmp_path: Path
) -> None:
    path = samples.path("ES.csv", "Date,Open,High,Low,Close\n03/04/2024,1,2,0.5,1.5\n")
    text = suggest_layout(path, IngestOptions())
    assert "# Detection failed: dates like '03/04/2024'" in text
    assert 'datetime_format = "%m/%d/%Y"  # or %d/%m/%Y: which is it?' in text
    (tmp_path / "l.toml").write_text(text)
    assert load_layout(tmp_path / "l.toml").columns.close == "Close"
