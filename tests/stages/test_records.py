"""run.json as typed records: old files still load, and a record survives a write and a read unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trading_pipeline.errors import RunError
from trading_pipeline.settings import Settings
from trading_pipeline.stages import parse_run, read_run, run_dir
from trading_pipeline.stages.runs import RUN_FILE, list_runs, progress, update_run

FIXTURES = Path(__file__).parent / "fixtures"
V1 = FIXTURES / "run_v1.json"
"""A failed two-symbol inline run, written by the first run.json format (untyped dicts, commit 3d2013a)."""


def _install(settings: Settings, source: Path) -> str:
    run_id = json.loads(source.read_text())["run_id"]
    run_dir(settings, run_id).mkdir(parents=True)
    shutil.copy(source, run_dir(settings, run_id) / RUN_FILE)
    return run_id


def test_a_first_format_run_json_loads_with_every_field() -> None:
    """Statuses, timings, checks, lineage, outputs and the failure all come through typed."""
    record = parse_run(V1.read_bytes())
    assert record.status == "failed" and record.mode == "inline"
    assert record.config.horizons == (5, 15) and record.config.symbols == ("MES", "MGC")
    mes, mgc = record.symbols["MES"], record.symbols["MGC"]
    assert mes.status == "done" and mes.outputs["train"].rows > 0 and len(mes.inputs[0].sha256) == 64
    assert mes.stages["features"].checks["warmup_rows_dropped"] == 60
    assert mgc.stages["labels"].status == "failed" and mgc.stages["splits"].status == "canceled"
    assert record.failure is not None and record.failure.symbol == "MGC"
    assert record.failures == [record.failure] and record.jobs == {}
    assert progress(record) == (10, 10)


def test_an_old_run_is_listed_shown_and_updated_in_place(settings: Settings) -> None:
    """`status` lists it, and an update rewrites it in the current format without losing a field."""
    run_id = _install(settings, V1)
    assert [r.run_id for r in list_runs(settings)] == [run_id]
    before = read_run(settings, run_id)
    update_run(settings, run_id, lambda r: None)
    after = read_run(settings, run_id)
    assert after == before
    old = json.loads(V1.read_text())
    assert after.symbols["MES"].stages["labels"].checks == old["symbols"]["MES"]["stages"]["labels"]["checks"]


def test_a_broken_run_json_is_a_clear_error_and_skipped_in_lists(settings: Settings) -> None:
    """A run.json that is not a run record is named; `status` still lists the others."""
    good = _install(settings, V1)
    bad = run_dir(settings, "run_bad")
    bad.mkdir()
    (bad / RUN_FILE).write_text('{"run_id": "run_bad"}')
    assert [r.run_id for r in list_runs(settings)] == [good]
    with pytest.raises(RunError, match=r"run_bad/run\.json is not a run record"):
        read_run(settings, "run_bad")
