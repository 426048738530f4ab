"""PipelineDataLoader: runtime source and symbol selection, lineage, and the documented programmatic use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from testkit import make_bars, write_bars_csv
from trading_pipeline.errors import SourceError, SourceNotFoundError
from trading_pipeline.settings import Settings
from trading_pipeline.sources import (
    DataSourceRepository,
    FileDataSource,
    PipelineDataLoader,
    SymbolNotFoundError,
)


class TestDefaults:
    def test_defaults_to_the_default_source(self, settings: Settings, stored: Any) -> None:
        """With no source given, bars come from data/raw (the default source)."""
        stored("default", settings.raw_dir / "MES_1m.csv", {"MES": make_bars(10)})
        loader = PipelineDataLoader(settings=settings)
        assert loader.source_id == "default"
        assert len(loader.load_symbol_data("MES")) == 10

    def test_active_source_is_pinned_at_construction(self, settings: Settings, tmp_path: Path) -> None:
        """Activating another source later does not change a loader already made."""
        repo = DataSourceRepository(settings)
        loader = PipelineDataLoader(repo)
        (tmp_path / "vx").mkdir()
        repo.register_source("vx", FileDataSource("vx", tmp_path / "vx"))
        repo.set_active_source("vx")
        assert loader.source_id == "default"
        assert PipelineDataLoader(repo).source_id == "vx"

    def test_unknown_source_fails_at_construction(self, settings: Settings) -> None:
        """A typo in --data-source fails before any stage runs."""
        with pytest.raises(SourceNotFoundError):
            PipelineDataLoader(settings=settings, source_id="nope")


class TestSymbols:
    def test_resolve_symbols_defaults_to_all(self, settings: Settings, stored: Any) -> None:
        """No symbols given means every symbol of the source (no hard-coded MES, MGC)."""
        stored("default", settings.raw_dir / "a.csv", {"ZN": make_bars(5), "MES": make_bars(5)})
        assert PipelineDataLoader(settings=settings).resolve_symbols(None) == ["MES", "ZN"]

    def test_resolve_symbols_rejects_unknown(self, settings: Settings, stored: Any) -> None:
        """Unknown requested symbols fail with the available list."""
        stored("default", settings.raw_dir / "a.csv", {"MES": make_bars(5)})
        with pytest.raises(SymbolNotFoundError, match="available: MES"):
            PipelineDataLoader(settings=settings).resolve_symbols(["MES", "MGC"])

    def test_lineage_for_run_records(self, settings: Settings, stored: Any) -> None:
        """input_files gives (path, sha256) of the files feeding a symbol."""
        report = stored("default", settings.raw_dir / "a.csv", {"MES": make_bars(5)})
        files = PipelineDataLoader(settings=settings).input_files("MES")
        assert files == [(report.path, report.sha256)]
        assert files[0].path == report.path

    def test_validate_source_raises_with_errors(self, settings: Settings, rejected: Any) -> None:
        """validate_source raises SourceError listing rejected files."""
        rejected("default", str(settings.raw_dir / "bad.csv"), "high below low")
        with pytest.raises(SourceError, match=r"bad\.csv"):
            PipelineDataLoader(settings=settings).validate_source()


def test_pattern_4_programmatic_api(tmp_path: Path, data_dir: Path, ingest: Any) -> None:
    """The README's programmatic example, written as a user would, reads bars ingested from the folder."""
    data_folder = data_dir  # what PIPELINE_DATA_DIR points at
    user_files = tmp_path / "vendor"
    write_bars_csv(user_files / "MES_1m.csv", make_bars(240, tz=None))
    ingest(user_files / "MES_1m.csv", "my_data", tz="America/Chicago")  # real DataIngestor

    # --- as in the README's "Programmatic use" ---
    from trading_pipeline.sources import DataSourceRepository, FileDataSource, PipelineDataLoader

    repo = DataSourceRepository(data_folder)
    source = FileDataSource(source_id="my_data", raw_data_dir=str(user_files))
    repo.register_source("my_data", source)
    repo.set_active_source("my_data")
    loader = PipelineDataLoader(repository=repo)
    df = loader.load_symbol_data("MES")
    # --------------------------------------------------------

    assert len(df) == 240
    assert str(df["datetime"].dtype) == "datetime64[ns, UTC]"
    assert df["datetime"].iloc[0] == pd.Timestamp("2024-01-02 06:00", tz="UTC")  # 00:00 Chicago is 06:00 UTC
    assert df["close"].iloc[-1] == make_bars(240)["close"].iloc[-1]


def test_new_version_of_a_file_replaces_its_bars(settings: Settings, ingest: Any) -> None:
    """Re-ingesting a changed file (same path) serves only the new version's bars."""
    path = write_bars_csv(settings.raw_dir / "MES_1m.csv", make_bars(50, tz=None))
    assert ingest(path, "default").status == "ingested"
    write_bars_csv(path, make_bars(80, tz=None, seed=9))
    assert ingest(path, "default").status == "ingested"
    loader = PipelineDataLoader(settings=settings)
    bars, lineage = loader.load_with_lineage("MES")
    assert len(bars) == 80 and len(lineage) == 1
    assert bars["close"].tolist() == make_bars(80, seed=9)["close"].tolist()


def test_two_real_files_with_conflicting_bars_fail_to_load(settings: Settings, ingest: Any) -> None:
    """Two ingested files disagreeing about one bar make load fail, naming both files."""
    from trading_pipeline.errors import ConflictingBarsError

    bars = make_bars(30, tz=None)
    changed = bars.copy()
    changed.loc[10, ["high", "close"]] += 5.0
    a = write_bars_csv(settings.raw_dir / "MES_a.csv", bars)
    b = write_bars_csv(settings.raw_dir / "MES_b.csv", changed)
    for path in (a, b):
        assert ingest(path, "default", symbol="MES").status == "ingested"
    with pytest.raises(ConflictingBarsError) as info:
        PipelineDataLoader(settings=settings).load_symbol_data("MES")
    assert (info.value.fields["first_file"], info.value.fields["second_file"]) == (str(a), str(b))
