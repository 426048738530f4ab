"""Roll rules and continuous series on a synthetic 3-contract MES chain whose rolls and spreads are known."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from testkit.futures import make_chain
from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.continuous import build_continuous
from trading_pipeline.futures.roll import RollRule
from trading_pipeline.futures.symbols import Contract, parse_contract
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

CROSS = ["2025-03-10", "2025-06-09"]


def _bars(**kwargs: object) -> dict[Contract, pd.DataFrame]:
    return {parse_contract(k): v for k, v in make_chain(**kwargs).items()}  # type: ignore[arg-type]


def _rolls(tmp_path: Path, rule: str, adjust: str = "difference", **kwargs: object) -> list[dict]:  # type: ignore[type-arg]
    build = build_continuous("MES", _bars(**kwargs), tmp_path, rule=RollRule(rule), adjust=adjust)
    return build.rolls


def test_calendar_rolls_on_cme_roll_dates_with_the_built_in_spreads(tmp_path: Path) -> None:
    rolls = _rolls(tmp_path, "calendar", crossings=CROSS)
    assert [(r["from"], r["to"], r["effective_trade_date"]) for r in rolls] == [
        ("MESH25", "MESM25", "2025-03-13"),
        ("MESM25", "MESU25", "2025-06-12"),
    ]
    # The effective instant is the open of that trade date's session: 17:00 CT the evening before.
    assert [r["effective"] for r in rolls] == ["2025-03-12T22:00:00+00:00", "2025-06-11T22:00:00+00:00"]
    assert [r["difference"] for r in rolls] == [20.0, 25.0]
    assert [r["cumulative_adjustment"] for r in rolls] == [45.0, 25.0]


def test_ratio_adjustment_equals_the_built_in_ratios_and_recovers_raw_prices(tmp_path: Path) -> None:
    bars = _bars(mode="ratio", crossings=CROSS)
    build = build_continuous("MES", bars, tmp_path, rule=RollRule("calendar"), adjust="ratio")
    assert [round(r["ratio"], 12) for r in build.rolls] == [round(1.004 / 1.0, 12), round(1.009 / 1.004, 12)]
    series = pd.read_parquet(build.series)
    assert list(series.columns) == [
        "datetime",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "contract",
        "adjustment",
    ]
    assert series["datetime"].is_monotonic_increasing and series["datetime"].is_unique
    h25 = series[series["contract"] == "MESH25"]
    raw = bars[parse_contract("MESH25")].set_index("datetime")["close"]
    recovered = (h25["close"] / h25["adjustment"]).to_numpy()
    assert recovered == pytest.approx(raw.loc[h25["datetime"]].to_numpy(), rel=1e-12)
    # Back-adjusted to the newest contract: H25 prices scaled to U25's level.
    assert h25["adjustment"].iloc[0] == pytest.approx(1.009, rel=1e-12)
    assert (series.loc[series["contract"] == "MESU25", "adjustment"] == 1.0).all()


def test_a_same_day_volume_crossover_rolls_one_session_later(tmp_path: Path) -> None:
    rolls = _rolls(tmp_path, "volume", crossings=CROSS)
    assert [(r["decided"], r["effective_trade_date"], r["rule"]) for r in rolls] == [
        ("2025-03-10", "2025-03-11", "volume"),
        ("2025-06-09", "2025-06-10", "volume"),
    ]
    assert "23000 > 1150" in rolls[0]["reason"]


def test_open_interest_waits_for_its_publication_lag(tmp_path: Path) -> None:
    bars = _bars(crossings=CROSS)
    one = build_continuous("MES", bars, tmp_path / "a", rule=RollRule("oi", oi_lag=1), adjust="none").rolls
    two = build_continuous("MES", bars, tmp_path / "b", rule=RollRule("oi", oi_lag=2), adjust="none").rolls
    assert [r["effective_trade_date"] for r in one] == ["2025-03-12", "2025-06-11"]
    assert [r["effective_trade_date"] for r in two] == ["2025-03-13", "2025-06-12"]


def test_calendar_n_sessions_before_last_trade(tmp_path: Path) -> None:
    bars = _bars(crossings=CROSS)
    rule = RollRule("calendar", sessions_before=2)
    rolls = build_continuous("MES", bars, tmp_path, rule=rule, adjust="none").rolls
    assert [r["effective_trade_date"] for r in rolls] == ["2025-03-19", "2025-06-17"]  # expiries 03-21, 06-20


def test_no_crossover_falls_back_to_the_calendar(tmp_path: Path) -> None:
    rolls = _rolls(tmp_path, "volume", crossings=[None, None])
    assert [r["effective_trade_date"] for r in rolls] == ["2025-03-13", "2025-06-12"]
    assert all("calendar fallback" in r["reason"] for r in rolls)


def test_flip_flopping_volume_never_rolls_back(tmp_path: Path) -> None:
    """M25 overtakes H25 on 03-05, falls back below on 03-06, overtakes again: one roll, forward."""

    def volume(k: int, day: dt.date) -> float:
        if k == 0:
            return 100.0
        if k == 1:
            return (
                500.0
                if day in (dt.date(2025, 3, 5), dt.date(2025, 3, 7)) or day >= dt.date(2025, 3, 10)
                else 10.0
            )
        return 1000.0 if day >= dt.date(2025, 6, 9) else 1.0

    rolls = _rolls(tmp_path, "volume", volume_fn=volume)
    assert [r["effective_trade_date"] for r in rolls] == ["2025-03-06", "2025-06-10"]


def test_a_missing_contract_is_a_clear_error(tmp_path: Path) -> None:
    bars = _bars(symbols=("MESH25", "MESU25"), spreads=(0.0, 45.0))
    with pytest.raises(FuturesError, match="MESM25 is missing between MESH25 and MESU25"):
        build_continuous("MES", bars, tmp_path, rule=RollRule("calendar"), adjust="none")


def test_ratio_refuses_non_positive_prices(tmp_path: Path) -> None:
    bars = _bars(crossings=CROSS)
    h25 = bars[parse_contract("MESH25")]
    march = h25["datetime"] >= "2025-03-01"
    h25.loc[march, ["open", "high", "low", "close"]] -= 5100.0  # below zero, as CL in April 2020
    with pytest.raises(FuturesError, match="ratio adjustment needs positive prices"):
        build_continuous("MES", bars, tmp_path, rule=RollRule("calendar"), adjust="ratio")
    build_continuous("MES", bars, tmp_path, rule=RollRule("calendar"), adjust="difference")


def test_cli_build_is_byte_identical_and_recorded_in_the_ledger(tmp_path: Path) -> None:
    data = tmp_path / "data"
    raw = data / "raw"
    raw.mkdir(parents=True)
    for symbol, frame in make_chain(crossings=CROSS).items():
        out = frame.copy()
        out["datetime"] = out["datetime"].dt.strftime("%Y-%m-%d %H:%M:%S")
        out.to_csv(raw / f"{symbol}_1h.csv", index=False)
    env = {**os.environ, "PIPELINE_DATA_DIR": str(data)}
    pipeline = [str(Path(sys.executable).parent / "pipeline")]
    ingest = subprocess.run([*pipeline, "ingest", str(raw)], env=env, capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [*pipeline, "continuous", "build", "MES", "--roll", "volume", "--adjust", "ratio", "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        outputs.append((Path(result["series"]).read_bytes(), Path(result["roll_log"]).read_bytes()))
    assert outputs[0] == outputs[1]
    assert set(result) == {"root", "series", "roll_log", "rolls"}
    assert result["root"] == "MES"
    assert [r["effective"] for r in result["rolls"]] == [
        "2025-03-10T22:00:00+00:00",
        "2025-06-09T22:00:00+00:00",
    ]
    assert {"from", "to", "decided", "effective", "rule", "reason", "ratio", "difference"} <= set(
        result["rolls"][0]
    )
    log = json.loads(outputs[0][1])
    assert [c["contract"] for c in log["contracts"]] == ["MESH25", "MESM25", "MESU25"]
    assert all(len(c["input_files"]) == 1 for c in log["contracts"])
    builds = Ledger(Settings(data_dir=data)).builds("continuous", "MES")
    assert len(builds) == 2 and builds[0].log_sha256 == builds[1].log_sha256


def test_cli_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    env = {**os.environ, "PIPELINE_DATA_DIR": str(tmp_path / "data")}
    pipeline = str(Path(sys.executable).parent / "pipeline")
    bad_rule = subprocess.run(
        [pipeline, "continuous", "build", "MES", "--roll", "weekly"], env=env, capture_output=True, text=True
    )
    assert bad_rule.returncode == 2 and "unknown roll rule 'weekly'" in bad_rule.stderr
    nothing = subprocess.run(
        [pipeline, "continuous", "build", "MES"], env=env, capture_output=True, text=True
    )
    assert nothing.returncode == 1 and "holds no MES contracts" in nothing.stderr
    assert "Traceback" not in nothing.stderr
