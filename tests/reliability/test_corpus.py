"""The hostile corpus (tests/corpus/generate.py) through the real DataIngestor, case by case, then the
invariants the fault suite's checker holds: outputs only for ingested files, each stored once, no temp
files. Plus hypothesis-generated valid frames in random layouts that must round-trip exactly."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from trading_pipeline.ingest.ingestor import DataIngestor
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.settings import Settings

GENERATOR = Path(__file__).resolve().parents[1] / "corpus" / "generate.py"


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("corpus_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_every_corpus_case_gets_its_expected_outcome(settings: Settings) -> None:
    limited = settings.replace(max_zip_members=40, max_decompressed_mb=8)
    cases = load_generator().generate(settings.raw_dir)
    assert len(cases) >= 60
    (settings.raw_dir / "manifest.json").unlink()
    ingestor = DataIngestor(limited)
    wrong = []
    outcomes: dict[str, Any] = {}
    for case in cases:
        report = ingestor.ingest(settings.raw_dir / case.name, IngestOptions(root=str(settings.raw_dir)))
        outcomes[case.name] = report
        check = report.errors[0].check if report.errors else ""
        if report.status != case.status or (case.check and check != case.check):
            wrong.append((case.name, case.status, case.check, report.status, check, report.reason()[:120]))
        text = json.dumps(report.to_json())
        assert "root:" not in text, f"{case.name}: a refused file's content leaked"
        assert all(len(f.message) <= 600 for f in [*report.errors, *report.warnings])
    assert not wrong, "\n".join(map(str, wrong))
    ingested = {r.sha256 for r in outcomes.values() if r.status == "ingested"}
    stored = sorted(limited.processed_dir.rglob("*.parquet"))
    assert {p.stem for p in stored} == {sha[:20] for sha in ingested if sha}
    assert not [p for p in limited.data_dir.rglob("*") if p.name.endswith(".tmp")]
    assert not Path("/tmp/evil_1m.csv").exists()
    kinds = Counter(c.kind for c in cases)
    assert len(kinds) >= 12


# --- random valid frames in random layouts round-trip exactly --------------------------------------

LAYOUTS = ("csv", "tsv", "semicolon", "csv.gz", "csv.zst", "epoch_ms", "date_time", "parquet")


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(min_value=2, max_value=120))
    start = draw(st.integers(min_value=1_000_000_000, max_value=1_700_000_000)) // 60 * 60
    step = draw(st.sampled_from([60, 300, 3600]))
    cents = st.integers(min_value=1, max_value=10_000_000)
    opens = np.array(draw(st.lists(cents, min_size=n, max_size=n)), dtype=np.int64)
    spread = np.array(draw(st.lists(st.integers(0, 5000), min_size=n, max_size=n)), dtype=np.int64)
    closes = opens + np.array(draw(st.lists(st.integers(-2000, 2000), min_size=n, max_size=n)))
    closes = np.maximum(closes, 1)
    highs = np.maximum(opens, closes) + spread
    lows = np.maximum(np.minimum(opens, closes) - spread, 1)
    lows = np.minimum(lows, np.minimum(opens, closes))
    volume = np.array(draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n)), dtype=np.float64)
    return pd.DataFrame(
        {
            "datetime": pd.to_datetime(start + step * np.arange(n), unit="s", utc=True),
            "open": opens / 100,
            "high": highs / 100,
            "low": lows / 100,
            "close": closes / 100,
            "volume": volume,
        }
    )


def _write(frame: pd.DataFrame, layout: str, folder: Path) -> Path:
    out = frame.copy()
    if layout == "parquet":
        path = folder / "RT_bars.parquet"
        pq.write_table(pa.Table.from_pandas(out, preserve_index=False), path)
        return path
    times = out.pop("datetime")
    if layout == "epoch_ms":
        out.insert(0, "timestamp", (times.astype("int64") // 1_000_000).to_numpy())
    elif layout == "date_time":
        out.insert(0, "time", times.dt.strftime("%H:%M:%S"))
        out.insert(0, "date", times.dt.strftime("%Y-%m-%d"))
    else:
        out.insert(0, "datetime", times.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    sep = {"tsv": "\t", "semicolon": ";"}.get(layout, ",")
    data = out.to_csv(index=False, sep=sep, float_format="%.17g").encode()
    if layout == "csv.gz":
        data = gzip.compress(data)
    elif layout == "csv.zst":
        data = zstandard.ZstdCompressor().compress(data)
    path = folder / f"RT_bars.{'csv' if layout in ('epoch_ms', 'date_time') else layout}"
    path.write_bytes(data)
    return path


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames(), layout=st.sampled_from(LAYOUTS))
def test_random_valid_frames_round_trip_exactly(
    frame: pd.DataFrame, layout: str, tmp_path_factory: Any
) -> None:
    folder = tmp_path_factory.mktemp("roundtrip")
    settings = Settings.from_env({}, data_dir=folder / "data")
    settings.ensure_dirs()
    path = _write(frame, layout, settings.raw_dir)
    report = DataIngestor(settings).ingest(path, IngestOptions(symbol="RT", tz="UTC"))
    assert report.status == "ingested", report.reason()
    stored = pd.read_parquet(report.symbols["RT"].output)
    pd.testing.assert_series_equal(
        stored["datetime"].reset_index(drop=True),
        frame["datetime"].astype(stored["datetime"].dtype),
        check_names=False,
    )
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(stored[column].to_numpy(), frame[column].to_numpy(), err_msg=column)
