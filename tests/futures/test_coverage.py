"""Session-aware gap analysis in `pipeline validate`: the real 6E file and synthetic MES contract files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings

SIXE = "nautilus_trader/6EH4.XCME_1min_bars_20240101_20240131.csv.gz"


def _validate(tmp_path: Path, path: Path, **options: object) -> dict:  # type: ignore[type-arg]
    settings = Settings(data_dir=tmp_path / "data")
    report = DataIngestor(settings).validate(path, IngestOptions(**options))  # type: ignore[arg-type]
    return report.to_json()


def _session_bars(start_ct: str, end_ct: str, *, drop: slice | None = None) -> pd.DataFrame:
    """1-minute MES bars covering [start, end) Central time (Sunday 17:00 to a weekday 16:00) but the
    16:00-17:00 maintenance hours."""
    times = pd.date_range(start_ct, end_ct, freq="1min", tz="America/Chicago", inclusive="left")
    times = times[times.hour != 16]
    bars = make_bars(len(times), tick=0.25, price=5000.0)
    bars["datetime"] = times.tz_convert("UTC")
    if drop is not None:
        bars = bars.drop(bars.index[drop]).reset_index(drop=True)
    return bars


def _write(bars: pd.DataFrame, path: Path) -> Path:
    out = bars.copy()
    out["datetime"] = out["datetime"].dt.strftime("%Y-%m-%d %H:%M:%S")
    out.to_csv(path, index=False)
    return path


def test_real_6e_file_close_stamped_coverage(real_data: Path, tmp_path: Path) -> None:
    path = real_data / SIXE
    if not path.exists():
        pytest.skip(f"{path} not present")
    blind = _validate(tmp_path, path)
    assert blind["status"] == "rejected"
    closure = next(e for e in blind["errors"] if e["check"] == "session_closure")
    assert "--bar-label close" in closure["message"]
    assert 'bar_label = "close" in a layout.toml' in closure["message"]  # what a dropped file needs

    report = _validate(tmp_path, path, bar_label="close")
    assert report["status"] == "validated"
    assert not [w for w in report["warnings"] if w["check"] == "tick_grid"]
    sessions = report["symbols"]["6EH4"]["sessions"]
    whole = [s for s in sessions if not s["partial"]]
    assert sum(s["present"] for s in sessions) == 29_996  # every bar inside a session
    coverage = {s["label"]: s["coverage"] for s in whole}
    assert 0.90 < coverage.pop("2024-01-15") < 0.92
    assert all(0.98 <= c <= 0.997 for c in coverage.values()), coverage  # 98-99.6 %
    assert max(r["bars"] for s in sessions for r in s["missing"]) < 10


def test_outage_is_reported_with_its_central_time_span(tmp_path: Path) -> None:
    bars = _session_bars("2025-03-09 17:00", "2025-03-14 16:00")
    ct = bars["datetime"].dt.tz_convert("America/Chicago")
    hole = (ct >= "2025-03-12 09:41") & (ct < "2025-03-12 10:08")
    path = _write(bars.loc[~hole], tmp_path / "MESH5_1m.csv")
    report = _validate(tmp_path, path)
    assert report["status"] == "validated"
    assert not [w for w in report["warnings"] if w["check"] == "gaps"]  # the session check replaces it
    gaps = [w["message"] for w in report["warnings"] if w["check"] == "session_gaps"]
    assert gaps == ["2025-03-12: 98.0% coverage; gap 09:41–10:07 CT, 27 bars"]
    day = next(s for s in report["symbols"]["MESH5"]["sessions"] if s["trade_date"] == "2025-03-12")
    assert (day["expected"], day["present"]) == (1380, 1353)
    assert day["missing"] == [
        {
            "start": "2025-03-12T14:41:00+00:00",
            "end": "2025-03-12T15:08:00+00:00",
            "from_ct": "09:41",
            "to_ct": "10:07",
            "bars": 27,
            "kind": "outage",
        }
    ]


def test_short_runs_are_no_trade_and_a_session_without_bars_is_missing(tmp_path: Path) -> None:
    bars = _session_bars("2025-03-09 17:00", "2025-03-14 16:00")
    ct = bars["datetime"].dt.tz_convert("America/Chicago")
    quiet = (ct >= "2025-03-11 03:00") & (ct < "2025-03-11 03:04")
    gone = (ct >= "2025-03-11 17:00") & (ct < "2025-03-12 16:00")
    path = _write(bars.loc[~quiet & ~gone], tmp_path / "MESH25.csv")
    report = _validate(tmp_path, path)
    sessions = {s["trade_date"]: s for s in report["symbols"]["MESH25"]["sessions"]}
    assert [r["kind"] for r in sessions["2025-03-11"]["missing"]] == ["no_trade"]
    assert sessions["2025-03-12"]["present"] == 0
    assert [r["kind"] for r in sessions["2025-03-12"]["missing"]] == ["missing_session"]
    assert any("no bars in the regular session" in w["message"] for w in report["warnings"])


def test_the_short_run_threshold_is_a_setting(tmp_path: Path) -> None:
    bars = _session_bars("2025-03-09 17:00", "2025-03-14 16:00")
    ct = bars["datetime"].dt.tz_convert("America/Chicago")
    quiet = (ct >= "2025-03-11 03:00") & (ct < "2025-03-11 03:08")
    path = _write(bars.loc[~quiet], tmp_path / "MESH25.csv")
    settings = Settings(data_dir=tmp_path / "data", session_short_run_min=10)
    report = DataIngestor(settings).validate(path).to_json()
    day = next(s for s in report["symbols"]["MESH25"]["sessions"] if s["trade_date"] == "2025-03-11")
    assert [r["kind"] for r in day["missing"]] == ["no_trade"]
    assert [r["kind"] for r in _session(tmp_path, path, "2025-03-11")["missing"]] == ["outage"]


def _session(tmp_path: Path, path: Path, trade_date: str) -> dict:  # type: ignore[type-arg]
    report = _validate(tmp_path, path)
    return next(s for s in report["symbols"]["MESH25"]["sessions"] if s["trade_date"] == trade_date)


def test_bars_in_a_closure_suggest_the_zone(tmp_path: Path) -> None:
    bars = _session_bars("2025-03-09 17:00", "2025-03-14 16:00")
    bars["datetime"] = bars["datetime"] + pd.Timedelta(hours=5)  # Chicago wall time written as if UTC
    report = _validate(tmp_path, _write(bars, tmp_path / "MESM5.csv"))
    assert report["status"] == "rejected"
    closure = next(e for e in report["errors"] if e["check"] == "session_closure")
    assert "moved by -5 h" in closure["message"] and "--tz" in closure["message"]


def test_off_grid_prices_are_flagged(tmp_path: Path) -> None:
    bars = _session_bars("2025-03-09 17:00", "2025-03-10 16:00")
    bars.loc[3, ["close", "high"]] = bars.loc[3, "high"] + 0.1
    report = _validate(tmp_path, _write(bars, tmp_path / "MESM5.csv"))
    grid = [w for w in report["warnings"] if w["check"] == "tick_grid"]
    assert grid and grid[0]["rows"] == [4] and "0.25 tick grid" in grid[0]["message"]


def test_symbols_that_name_no_contract_keep_the_calendar_blind_checks(tmp_path: Path) -> None:
    bars = make_bars(3000, start="2025-03-08 00:00")  # trades through the weekend: no closure error
    report = _validate(tmp_path, _write(bars, tmp_path / "MES_1m.csv"))
    assert report["status"] == "validated"
    assert "sessions" not in report["symbols"]["MES"]
    assert np.isfinite(report["symbols"]["MES"]["rows"])


def test_the_es_1515_halt_is_expected_until_2021_06_25(tmp_path: Path) -> None:
    bars = _session_bars("2021-06-20 17:00", "2021-06-30 16:00")
    ct = bars["datetime"].dt.tz_convert("America/Chicago")
    minute = ct.dt.hour * 60 + ct.dt.minute
    halted = (minute >= 15 * 60 + 15) & (minute < 15 * 60 + 30) & (ct < "2021-06-26")
    weekend = (ct >= "2021-06-25 16:00") & (ct < "2021-06-27 17:00")
    report = _validate(tmp_path, _write(bars.loc[~halted & ~weekend], tmp_path / "ESU21.csv"))
    assert report["status"] == "validated", report["errors"]
    sessions = {s["trade_date"]: s for s in report["symbols"]["ESU21"]["sessions"]}
    assert sessions["2021-06-25"]["expected"] == 1380 - 15
    assert sessions["2021-06-28"]["expected"] == 1380
    assert all(s["coverage"] == 1.0 for s in sessions.values())

    inside = _validate(tmp_path, _write(bars.loc[~weekend], tmp_path / "ESU2021.csv"))
    closure = next(e for e in inside["errors"] if e["check"] == "session_closure")
    assert closure["count"] == 15 * 5  # 15:15-15:29 CT on each session of 06-21..06-25


def test_a_contract_read_in_chunks_reports_what_a_whole_read_does(tmp_path: Path) -> None:
    bars = _session_bars("2025-03-09 17:00", "2025-03-14 16:00")
    ct = bars["datetime"].dt.tz_convert("America/Chicago")
    bars.loc[5, "close"] += 0.1  # off the tick grid
    hole = (ct >= "2025-03-12 09:41") & (ct < "2025-03-12 10:08")
    path = _write(bars.loc[~hole], tmp_path / "MESH5_1m.csv")
    settings = Settings(data_dir=tmp_path / "data")
    whole = DataIngestor(settings).validate(path).to_json()
    chunked = DataIngestor(settings, chunk_bytes=20_000).validate(path).to_json()
    assert chunked == whole
    assert [w["check"] for w in whole["warnings"]] == ["timezone", "tick_grid", "session_gaps"]
