"""Text files as trading terminals, data sites and spreadsheets write them: encodings, junk lines, local
number formats and column names."""

from __future__ import annotations

import codecs
from typing import Any

import pytest

from trading_pipeline.errors import IngestError

MT5 = (
    "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n"
    "2024.01.02\t00:00:00\t1.10427\t1.10437\t1.10401\t1.10419\t117\t0\t8\r\n"
    "2024.01.02\t00:01:00\t1.10419\t1.10440\t1.10410\t1.10435\t95\t0\t8\r\n"
)
BARS = (
    "Date,Open,High,Low,Close,Volume\n2024-01-02 09:30,10,11,9,10.5,100\n2024-01-02 09:31,10.5,12,10,11,200\n"
)


def frame(parsed: Any) -> Any:
    return parsed.table.to_pandas().sort_values("datetime").reset_index(drop=True)


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        lambda t: t.encode("utf-16-le"),  # no BOM: the zero bytes say it
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    ],
    ids=["utf16le-bom", "utf16be-bom", "utf16le-no-bom", "utf8-bom"],
)
def test_metatrader5_export_in_utf16_with_tabs(samples: Any, at: Any, encode: Any) -> None:
    """MT5 writes UTF-16 with a BOM; <VOL> is all zero for FX, so <TICKVOL> is the volume."""
    parsed = samples.read("EURUSD_M1.csv", encode(MT5), tz="UTC")
    assert parsed.profile == "metatrader5"
    assert not parsed.has_errors, parsed.findings
    data = frame(parsed)
    assert (data["datetime"][0], data["close"][1], data["volume"][0]) == (
        at("2024-01-02 00:00"),
        1.10435,
        117.0,
    )


def test_metatrader5_real_volume_wins_when_it_is_there(samples: Any) -> None:
    text = MT5.replace("\t117\t0\t", "\t117\t5\t").replace("\t95\t0\t", "\t95\t6\t")
    assert list(frame(samples.read("ES_M1.csv", text, tz="UTC"))["volume"]) == [5.0, 6.0]


def test_windows_1252_text_is_read_with_a_warning(samples: Any) -> None:
    text = "Date,Open,High,Low,Close,Comment\n2024-01-02,1,2,0.5,1.5,Café €\n".encode("cp1252")
    parsed = samples.read("X.csv", text)
    assert "encoding" in samples.warnings(parsed)
    assert parsed.notes["encoding"] == "cp1252"


def test_junk_lines_above_the_header_and_a_footer_are_skipped_with_warnings(samples: Any, at: Any) -> None:
    text = (
        "Downloaded from https://example.com/quotes on 2024-01-05\n"
        "Symbol: ES\n"
        "\n" + BARS + "\nData provided by Example Inc., delayed 15 minutes\n"
    )
    parsed = samples.read("ES.csv", text, tz="UTC")
    assert not parsed.has_errors
    assert frame(parsed)["datetime"].tolist() == [at("2024-01-02 09:30"), at("2024-01-02 09:31")]
    junk = [f.message for f in parsed.findings if f.check == "junk_lines"]
    assert any("2 lines above the table" in m and "Downloaded from" in m for m in junk)
    assert any("Data provided by" in m for m in junk)


def test_a_title_row_padded_with_delimiters_is_not_the_header(samples: Any) -> None:
    """Excel saves a title cell as 'AAPL Historical Data,,,,,': the header is the line of known names."""
    parsed = samples.read("AAPL.csv", "AAPL Historical Data,,,,,\n,,,,,\n" + BARS, tz="UTC")
    assert parsed.table.num_rows == 2 and not parsed.has_errors


def test_yfinance_multi_line_header(samples: Any, at: Any) -> None:
    """yfinance >= 0.2.51 writes Price/Ticker/Date header lines; 'Price' labels the dates there."""
    text = (
        "Price,Close,High,Low,Open,Volume\nTicker,AAPL,AAPL,AAPL,AAPL,AAPL\nDate,,,,,\n"
        "2024-01-02,185.64,188.44,183.89,187.15,82488700\n2024-01-03,184.25,185.88,183.43,184.22,58414500\n"
    )
    parsed = samples.read("data.csv", text)
    assert parsed.symbol == "AAPL"
    data = frame(parsed)
    assert (data["datetime"][0], data["open"][0], data["close"][0]) == (at("2024-01-02"), 187.15, 185.64)


def test_a_header_repeated_in_the_middle_is_dropped_with_a_warning(samples: Any) -> None:
    """Two exports joined with cat: the second header line is dropped and named, not a number error."""
    second = BARS.replace("09:3", "09:4")
    parsed = samples.read("ES.csv", BARS + second, tz="UTC")
    assert parsed.table.num_rows == 4
    assert not parsed.has_errors
    [repeat] = [f for f in parsed.findings if f.check == "repeated_header"]
    assert repeat.rows == (3,)


@pytest.mark.parametrize(
    ("text", "close", "volume"),
    [
        (
            'Date,Open,High,Low,Close,Volume\n2024-01-02,"4,744.50","4,754.33","4,722.67","4,742.83","3,740,000"\n',
            4742.83,
            3740000.0,
        ),
        (
            "Date;Open;High;Low;Close;Volume\n2024-01-02;4.744,50;4.754,33;4.722,67;4.742,83;3.740.000\n",
            4742.83,
            3740000.0,
        ),
        (
            "Date;Open;High;Low;Close;Volume\n2024-01-02;4744,50;4754,33;4722,67;4742,83;3740\n",
            4742.83,
            3740.0,
        ),
        (
            "Date;Open;High;Low;Close;Volume\n2024-01-02;4 744,50;4 754,33;4 722,67;4 742,83;3 740\n",
            4742.83,
            3740.0,
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,$4744.50,$4754.33,$4722.67,$4742.83,1.23K\n",
            4742.83,
            1230.0,
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,4744.5,4754.33,4722.67,4742.83,2.5M\n",
            4742.83,
            2500000.0,
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,4744.5,4754.33,4722.67,4742.83,3.74B\n",
            4742.83,
            3.74e9,
        ),
    ],
    ids=[
        "quoted-thousands",
        "dot-thousands-comma-decimal",
        "comma-decimal",
        "space-thousands",
        "dollar-and-K",
        "M",
        "B",
    ],
)
def test_local_number_formats(samples: Any, text: str, close: float, volume: float) -> None:
    parsed = samples.read("ES.csv", text)
    assert not parsed.has_errors, parsed.findings
    row = samples.row(parsed)
    assert (row["open"], row["close"], row["volume"]) == (4744.5, close, volume)


def test_investing_com_export(samples: Any, at: Any) -> None:
    """Price is the close, Vol. has B/M/K suffixes and '-' for none, rows newest first."""
    text = (
        '"Date","Price","Open","High","Low","Vol.","Change %"\n'
        '"01/03/2024","4,704.81","4,725.07","4,729.29","4,699.71","2.51B","-0.80%"\n'
        '"01/02/2024","4,742.83","4,745.20","4,754.33","4,722.67","3.74M","-0.57%"\n'
        '"12/29/2023","4,769.83","4,782.88","4,788.43","4,751.99","-","-0.28%"\n'
    )
    parsed = samples.read("SPX.csv", text)
    assert parsed.profile == "investing_com"
    data = frame(parsed)
    assert data["datetime"].tolist() == [at("2023-12-29"), at("2024-01-02"), at("2024-01-03")]
    assert data["close"].tolist() == [4769.83, 4742.83, 4704.81]
    assert data["volume"].isna().tolist() == [True, False, False]
    assert data["volume"][1] == 3.74e6


def test_an_empty_volume_cell_is_a_missing_volume_not_an_error(samples: Any) -> None:
    text = "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,\n2024-01-03,1,2,0.5,1.5,10\n"
    parsed = samples.read("ES.csv", text)
    assert not parsed.has_errors
    assert frame(parsed)["volume"].isna().tolist() == [True, False]


def test_a_malformed_grouping_is_an_error_not_a_guess(samples: Any) -> None:
    text = (
        'Date,Open,High,Low,Close\n2024-01-02,"4,744.50","4,754.33","4,722.67","4,742.83"\n'
        '2024-01-03,1,2,0.5,"1,23.4"\n'
    )
    parsed = samples.read("ES.csv", text)
    assert samples.errors(parsed) == ["numbers"]
    assert "1,23.4" in parsed.findings[-1].message


@pytest.mark.parametrize("close_name", ["Price", "Latest", "Close/Last", "Last", "Zuletzt", "Schluss"])
def test_other_names_of_the_close(samples: Any, close_name: str) -> None:
    text = f"Date,Open,High,Low,{close_name},Volume\n2024-01-02,1,2,0.5,1.5,10\n"
    assert samples.row(samples.read("ES.csv", text))["close"] == 1.5


def test_settle_beats_last_in_a_settlement_file(samples: Any) -> None:
    """A futures settlement file has the last trade and the settlement: the settlement is the close."""
    text = (
        "Trade Date,Open,High,Low,Last,Change,Settle,Volume,Open Interest\n"
        "2024-01-02,4780.00,4795.25,4751.00,4762.50,-20.25,4760.75,1600000,2200000\n"
    )
    parsed = samples.read("ESH4.csv", text)
    assert parsed.profile == "futures_settlement"
    row = samples.row(parsed)
    assert (row["close"], row["open_interest"]) == (4760.75, 2200000.0)


def test_close_beats_price_and_names_may_have_leading_spaces(samples: Any) -> None:
    text = " Date, Price, Open, High, Low, Close, Volume\n2024-01-02,9.9,1,2,0.5,1.5,10\n"
    assert samples.row(samples.read("ES.csv", text))["close"] == 1.5


def test_localised_column_names(samples: Any) -> None:
    text = "Datum;Eröffnung;Hoch;Tief;Schluss;Volumen\n02.01.2024;4.744,50;4.754,33;4.722,67;4.742,83;3.740\n"
    row = samples.row(samples.read("DAX.csv", text))
    assert (row["open"], row["close"], row["volume"]) == (4744.5, 4742.83, 3740.0)


def test_null_holiday_rows_are_dropped_with_a_warning(samples: Any, at: Any) -> None:
    """Yahoo writes 'null' in every column on a holiday: no bar, and the report says which rows."""
    text = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-12,10,11,9,10.5,10.5,100\n"
        "2024-01-15,null,null,null,null,null,null\n2024-01-16,10.5,12,10,11,11,200\n"
    )
    parsed = samples.read("SPY.csv", text)
    assert not parsed.has_errors
    assert frame(parsed)["datetime"].tolist() == [at("2024-01-12"), at("2024-01-16")]
    [dropped] = [f for f in parsed.findings if f.check == "empty_rows"]
    assert dropped.rows == (2,)


def test_a_row_missing_only_some_prices_is_still_an_error(samples: Any) -> None:
    text = "Date,Open,High,Low,Close\n2024-01-12,10,11,9,10.5\n2024-01-15,10,,9,null\n"
    parsed = samples.read("SPY.csv", text)
    assert samples.errors(parsed) == ["numbers", "numbers"]


def test_unrecognised_layout_ends_with_the_suggest_command(samples: Any) -> None:
    with pytest.raises(IngestError) as err:
        samples.read("x.csv", "a;b\n1;2\n")
    assert str(err.value).endswith("--suggest-layout")
    assert "pipeline validate" in str(err.value)


def test_the_plan_is_decided_from_the_head_only(samples: Any) -> None:
    """Detection reads the first 64 KiB: what lies beyond (here 4 MB of lines with text in the price
    fields) cannot change the plan; it is read with it and reported row by row."""
    from trading_pipeline.ingest.layout import Layout
    from trading_pipeline.ingest.sniff import SNIFF_BYTES, read_head
    from trading_pipeline.ingest.textsniff import sniff_text

    head = "Date;Open;High;Low;Close\n" + "".join(
        f"2024-01-{d:02d} 09:{m:02d};4.744,50;4.754,33;4.722,67;4.742,83\n"
        for d in range(1, 29)
        for m in range(60)
    )
    assert len(head) > SNIFF_BYTES
    tail = "2024-02-01 09:00;x;y;z;w\n" * 170_000
    path = samples.path("ES.csv", head + tail)
    sniff = sniff_text(read_head(path, None), path.name, complete=False, layout=Layout())
    assert (sniff.delimiter, sniff.header, sniff.skip_rows) == (
        ";",
        ["Date", "Open", "High", "Low", "Close"],
        1,
    )
    parsed = samples.read("ES.csv", head + tail, tz="UTC")
    assert parsed.table.column("close").to_pylist()[0] == 4742.83  # decimal comma, decided from the head
    bad = [f for f in parsed.findings if f.check == "numbers"]
    assert [f.count for f in bad] == [170_000] * 4


@pytest.mark.parametrize(
    ("top", "blank_every", "newline", "complete"),
    [(0, 0, "\n", True), (3, 0, "\r\n", False), (0, 2, "\n", True), (2, 1, "\n", False), (0, 0, "\r", True)],
)
def test_sniffing_a_long_head_cut_short_decides_as_the_whole_head(
    top: int, blank_every: int, newline: str, complete: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sniffing looks at the first 500 filled lines only, so it splits a piece of a long head: with
    junk on top, blank lines between rows (many: then it splits the whole), CRLF or CR line ends and
    a head cut mid-line, what it decides is what splitting the whole head decided."""
    from trading_pipeline.ingest import textsniff
    from trading_pipeline.ingest.layout import Layout

    lines = [f"junk line {i}" for i in range(top)] + ["datetime,open,high,low,close,volume"]
    for i in range(3000):
        lines.append(f"2024-01-02 {i // 60 % 24:02d}:{i % 60:02d}:00,1.{i},2.{i},0.{i},1.{i},{i}")
        if blank_every and i % blank_every == 0:
            lines.append("")
    text = newline.join(lines) + ("" if complete else newline + "2024-01-03 00:00:00,1.5,2")
    piece = textsniff._head_lines(text, complete, top)
    assert piece == textsniff._split_lines(text, complete)[top:][: len(piece)]
    layout = Layout(skip_top=top) if top else Layout()
    cut = textsniff.sniff_text(text.encode(), "x.csv", complete=complete, layout=layout)
    monkeypatch.setattr(textsniff, "_head_lines", lambda t, c, s: textsniff._split_lines(t, c)[s:])
    assert cut == textsniff.sniff_text(text.encode(), "x.csv", complete=complete, layout=layout)
