"""Values never change by accident: every column of every split file, bit for bit, against hashes of
the outputs the pipeline produced when this fixture was made (before the stages were vectorised for
speed). Regenerate only for an intended change of values:

    .venv/bin/python tests/stages/test_determinism.py --write
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))  # conftest helpers when run as a script

from conftest import store_as_ingested

from testkit import make_bars, write_bars_csv
from trading_pipeline.settings import Settings
from trading_pipeline.stages import build_config, run_dir, run_inline, start_run

FIXTURE = Path(__file__).parent / "fixtures" / "outputs_v2.json"
CONFIGS: dict[str, dict[str, object]] = {
    "defaults": {},
    "5min": {
        "timeframe": "5min",
        "horizons": "3,30min",
        "partial_bars": "keep",
        "bad_ticks": "flag",
        "max_gap": "20min",
        "min_class_share": 0,
    },
}


def _bars() -> dict[str, pd.DataFrame]:
    """MES with an outage and a 10x tick; MGC later, illiquid (30 % of minutes missing)."""
    mes = make_bars(5000, seed=31)
    mes = mes.loc[(mes.index < 2000) | (mes.index >= 2180)].reset_index(drop=True)
    mes.loc[1000, ["open", "high", "low", "close"]] *= 10
    mgc = make_bars(5000, seed=32, start="2024-01-02 06:00", price=2000.0, tick=0.1)
    keep = np.random.default_rng(32).uniform(size=len(mgc)) >= 0.3
    return {"MES": mes, "MGC": mgc.loc[keep].reset_index(drop=True)}


def _digest(values: np.ndarray) -> str:
    if values.dtype == object:
        values = values.astype(str)
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]


def current_outputs(root: Path, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Hashes of every column of every split file, and the plan, for each config."""
    settings = Settings.from_env(environ or {}, data_dir=root / "data")
    settings.ensure_dirs()
    for symbol, bars in _bars().items():
        store_as_ingested(settings, write_bars_csv(settings.raw_dir / f"{symbol}.csv", bars), symbol, bars)
    result: dict[str, object] = {}
    for name, flags in CONFIGS.items():
        config = build_config(symbols="MES,MGC", **flags)
        record = run_inline(settings, start_run(settings, config, queued=False).run_id)
        assert record.status == "succeeded", record.failures
        outputs: dict[str, object] = {"plan": record.split_plan.model_dump() if record.split_plan else None}
        for symbol in record.symbols:
            for split in ("train", "val", "test"):
                frame = pq.read_table(
                    run_dir(settings, record.run_id) / symbol / f"{split}.parquet"
                ).to_pandas()
                outputs[f"{symbol}/{split}"] = {c: _digest(frame[c].to_numpy()) for c in frame.columns}
        result[name] = outputs
    return result


def test_outputs_match_the_saved_fixture(tmp_path: Path) -> None:
    """Every column of every split file hashes to the saved value; the split plans are the same."""
    saved = json.loads(FIXTURE.read_text())
    now = current_outputs(tmp_path)
    for config, outputs in saved.items():
        for key, expected in outputs.items():
            assert now[config][key] == expected, f"{config} {key} changed"  # type: ignore[index]


def test_resampled_runs_read_in_tiny_batches_match_the_fixture(tmp_path: Path) -> None:
    """The 5min run with `load` and `clean` reading 13 rows at a time (bins, bad ticks, the outage and
    partial bins all straddle batch boundaries) gives the same bits as the whole-frame code did."""
    saved = json.loads(FIXTURE.read_text())["5min"]
    now = current_outputs(tmp_path, {"PIPELINE_RUN_BATCH_ROWS": "13"})["5min"]
    for key, expected in saved.items():
        assert now[key] == expected, f"5min {key} changed"  # type: ignore[index]


if __name__ == "__main__" and "--write" in sys.argv:
    with tempfile.TemporaryDirectory() as folder:
        FIXTURE.write_text(json.dumps(current_outputs(Path(folder)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
