"""Contract symbols in every spelling the issue lists, decades from file dates, and the product table."""

from __future__ import annotations

import datetime as dt

import pytest

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures import PRODUCTS, parse_contract, parse_symbol, vendor_continuous
from trading_pipeline.futures.symbols import Contract

JAN_2025 = (dt.date(2025, 1, 2), dt.date(2025, 1, 31))
MES_H25 = Contract(2025, 3, "MES")


@pytest.mark.parametrize(
    "text",
    [
        "MESH5",
        "mesh5",
        "MESH25",
        "MESH2025",
        "MES 03-25",
        "MES_03-25",
        "MES-2025H",
        "MES_2025H",
        "@MESH25",
        "MESH5_1m",
    ],
)
def test_every_spelling_of_mes_march_2025(text: str) -> None:
    assert parse_symbol(text, *JAN_2025) == MES_H25


def test_file_name_stems_and_roots_that_share_letters() -> None:
    assert parse_symbol("6EH4.XCME_1min_bars_20240101_20240131", dt.date(2024, 1, 1)) == Contract(
        2024, 3, "6E"
    )
    assert parse_symbol("ESZ24") == Contract(2024, 12, "ES")
    assert parse_symbol("MGCJ25") == Contract(2025, 4, "MGC")
    assert parse_symbol("GCJ25") == Contract(2025, 4, "GC")


@pytest.mark.parametrize("text", ["MES", "AAPL", "EURUSD", "BTCUSDT", "MES.c.0", "ES.v.1", "MES1!"])
def test_no_contract(text: str) -> None:
    assert parse_symbol(text, *JAN_2025) is None


def test_vendor_continuous_is_recognised_and_never_stitched() -> None:
    assert vendor_continuous("MES.c.0") is not None
    assert vendor_continuous("MES1!").rank == 0  # type: ignore[union-attr]
    with pytest.raises(FuturesError, match="never stitched"):
        parse_contract("ES.n.0")


def test_one_digit_year_takes_its_decade_from_the_file() -> None:
    assert parse_symbol("ESZ9", dt.date(2019, 6, 3)) == Contract(2019, 12, "ES")
    assert parse_symbol("ESZ9", dt.date(2025, 6, 3)) == Contract(2029, 12, "ES")


def test_one_digit_year_without_dates_or_fitting_decade_is_an_error() -> None:
    with pytest.raises(FuturesError, match="needs the file's dates"):
        parse_symbol("MESH5")
    with pytest.raises(FuturesError, match="no decade fits"):
        parse_symbol("ESH4", dt.date(2025, 1, 2), dt.date(2025, 1, 31))  # expired, and 2034 is not listed


@pytest.mark.parametrize(
    ("symbol", "last_trade", "first_notice"),
    [
        ("MESH25", "2025-03-21", None),
        ("MESM25", "2025-06-20", None),
        ("ESM26", "2026-06-18", None),  # the 3rd Friday is Juneteenth: the business day before
        ("GCG25", "2025-02-26", "2025-01-31"),
        ("MGCJ25", "2025-04-28", "2025-03-31"),
        ("CLK20", "2020-04-21", None),
        ("CLF25", "2024-12-19", None),
        ("6EH24", "2024-03-18", None),
    ],
)
def test_expiry_rules(symbol: str, last_trade: str, first_notice: str | None) -> None:
    contract = parse_contract(symbol)
    assert str(contract.last_trade) == last_trade
    assert (str(contract.first_notice) if contract.first_notice else None) == first_notice


def test_product_table_ticks_and_multipliers() -> None:
    ticks = {root: (p.tick, p.multiplier) for root, p in PRODUCTS.items()}
    assert ticks == {
        "ES": (0.25, 50.0),
        "MES": (0.25, 5.0),
        "NQ": (0.25, 20.0),
        "MNQ": (0.25, 2.0),
        "GC": (0.10, 100.0),
        "MGC": (0.10, 10.0),
        "CL": (0.01, 1000.0),
        "6E": (0.00005, 125000.0),
    }
    assert all(p.spec.startswith("https://www.cmegroup.com/") for p in PRODUCTS.values())
