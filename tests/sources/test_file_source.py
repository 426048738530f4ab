"""FileDataSource and UploadDataSource: metadata from the ledger, bars from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from testkit import make_bars
from trading_pipeline.errors import ConflictingBarsError, UsageError
from trading_pipeline.settings import Settings
from trading_pipeline.sources import FileDataSource, SymbolNotFoundError, UploadDataSource


def ns(bars: pd.DataFrame) -> pd.DataFrame:
    """Expected bars at the store's nanosecond resolution (make_bars gives pandas' default unit)."""
    return bars.astype({"datetime": "datetime64[ns, UTC]"}).reset_index(drop=True)


@pytest.fixture
def default(settings: Settings) -> FileDataSource:
    return FileDataSource(settings=settings)


class TestMetadata:
    def test_per_symbol_ranges_and_rows(
        self, default: FileDataSource, stored: Any, settings: Settings
    ) -> None:
        """Each symbol gets its own rows and range, not the first file's."""
        mes = make_bars(100, start="2024-01-02")
        mgc = make_bars(50, start="2024-03-01", seed=1)
        stored("default", settings.raw_dir / "MES_1m.csv", {"MES": mes})
        stored("default", settings.raw_dir / "MGC_1m.csv", {"MGC": mgc})
        meta = default.get_metadata()
        assert meta.symbols == ["MES", "MGC"]
        assert meta.symbol_info["MES"].rows == 100
        assert meta.symbol_info["MGC"].start == mgc["datetime"].min().isoformat()
        assert meta.row_count == 150
        assert meta.date_range == (mes["datetime"].min().isoformat(), mgc["datetime"].max().isoformat())
        assert meta.columns[:6] == ["datetime", "open", "high", "low", "close", "volume"]
        assert meta.validated and meta.file_count == 2

    def test_metadata_does_not_read_bar_data(
        self, default: FileDataSource, stored: Any, settings: Settings
    ) -> None:
        """Listing works from the ledger even when a stored Parquet file is unreadable garbage."""
        report = stored("default", settings.raw_dir / "MES_1m.csv", {"MES": make_bars(10)})
        Path(report.symbols["MES"].output).write_bytes(b"not parquet")
        meta = default.get_metadata()
        assert meta.symbol_info["MES"].rows == 10

    def test_rejected_file_is_a_validation_error(
        self, default: FileDataSource, rejected: Any, settings: Settings
    ) -> None:
        """A rejected input makes the source not validated, with its reason."""
        rejected("default", str(settings.raw_dir / "bad.csv"), "rows 3-4: high below low")
        meta = default.get_metadata()
        assert not meta.validated
        assert "bad.csv" in meta.validation_errors[0] and "high below low" in meta.validation_errors[0]

    def test_missing_folder_fails_validation(self, settings: Settings, tmp_path: Path) -> None:
        """A folder that does not exist is reported, not crashed on."""
        ok, errors = FileDataSource("x", tmp_path / "nope", settings=settings).validate()
        assert not ok and "not found" in errors[0]

    def test_empty_source_is_valid(self, default: FileDataSource) -> None:
        """A new folder with nothing ingested yet is valid and empty."""
        meta = default.get_metadata()
        assert meta.validated and meta.symbols == [] and meta.date_range is None


class TestLoadSymbol:
    def test_bars_are_canonical(self, default: FileDataSource, stored: Any, settings: Settings) -> None:
        """Loaded bars have UTC tz-aware datetimes and float prices."""
        stored("default", settings.raw_dir / "MES_1m.csv", {"MES": make_bars(10)})
        bars = default.load_symbol("MES")
        assert str(bars["datetime"].dtype) == "datetime64[ns, UTC]"
        assert list(bars.columns) == ["datetime", "open", "high", "low", "close", "volume"]
        assert bars["close"].dtype == "float64"

    def test_files_merge_in_time_order(
        self, default: FileDataSource, stored: Any, settings: Settings
    ) -> None:
        """Two files of one symbol, the later ingested first, merge with the identical overlap once."""
        bars = make_bars(200)
        stored("default", settings.raw_dir / "MES_feb.csv", {"MES": bars.iloc[100:]})
        stored("default", settings.raw_dir / "MES_jan.csv", {"MES": bars.iloc[:120]})
        pd.testing.assert_frame_equal(default.load_symbol("MES"), ns(bars))

    def test_conflict_names_both_files(
        self, default: FileDataSource, stored: Any, settings: Settings
    ) -> None:
        """Two files disagreeing about a bar raise ConflictingBarsError naming both."""
        bars = make_bars(20)
        changed = bars.copy()
        changed.loc[5, "high"] += 10
        stored("default", settings.raw_dir / "a.csv", {"MES": bars})
        stored("default", settings.raw_dir / "b.csv", {"MES": changed})
        with pytest.raises(ConflictingBarsError, match=r"a\.csv and .*b\.csv"):
            default.load_symbol("MES")

    def test_unknown_symbol_lists_available(
        self, default: FileDataSource, stored: Any, settings: Settings
    ) -> None:
        """Asking for a missing symbol says which exist."""
        stored("default", settings.raw_dir / "MES.csv", {"MES": make_bars(5)})
        with pytest.raises(SymbolNotFoundError, match="available: MES"):
            default.load_symbol("ZZZ")

    def test_sources_are_isolated(self, stored: Any, settings: Settings, tmp_path: Path) -> None:
        """Bars of one source never appear in another."""
        stored("other", tmp_path / "MES.csv", {"MES": make_bars(5)})
        assert FileDataSource(settings=settings).get_available_symbols() == []

    def test_lineage_lists_feeding_files(
        self, default: FileDataSource, stored: Any, settings: Settings
    ) -> None:
        """load_with_lineage returns the (path, sha256) of every file it read."""
        a = stored("default", settings.raw_dir / "a.csv", {"MES": make_bars(5)})
        b = stored("default", settings.raw_dir / "b.csv", {"MES": make_bars(5, start="2024-02-01")})
        _, lineage = default.load_with_lineage("MES")
        assert [(f.path, f.sha256) for f in lineage] == [(a.path, a.sha256), (b.path, b.sha256)]
        assert default.input_files("MES") == lineage

    def test_preview_reads_the_head(self, default: FileDataSource, stored: Any, settings: Settings) -> None:
        """preview gives the first rows of the merged series."""
        bars = make_bars(100)
        stored("default", settings.raw_dir / "b.csv", {"MES": bars.iloc[50:]})
        stored("default", settings.raw_dir / "a.csv", {"MES": bars.iloc[:50]})
        pd.testing.assert_frame_equal(default.preview("MES", 7), ns(bars.head(7)))


class TestOptions:
    def test_options_become_ingest_options(self, settings: Settings, tmp_path: Path) -> None:
        """A source's zone, label and pattern are what ingest uses for its files."""
        src = FileDataSource(
            "vx", tmp_path, tz="America/Chicago", bar_label="close", symbol_pattern=r"(?P<symbol>\w+)"
        )
        opts = src.ingest_options()
        assert (opts.source_id, opts.tz, opts.bar_label) == ("vx", "America/Chicago", "close")

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"tz": "Mars/Olympus"},
            {"bar_label": "middle"},
            {"symbol_pattern": "("},
            {"symbol_pattern": r"\w+"},
        ],
    )
    def test_bad_options_are_usage_errors(self, kwargs: dict[str, str], tmp_path: Path) -> None:
        """Bad zone, label or pattern fail at construction."""
        with pytest.raises(UsageError):
            FileDataSource("vx", tmp_path, **kwargs)

    def test_config_round_trip(self, settings: Settings, tmp_path: Path) -> None:
        """to_config/from_config rebuild an equal source."""
        src = FileDataSource("vx", tmp_path, tz="UTC", settings=settings)
        again = FileDataSource.from_config("vx", src.to_config(), settings)
        assert again.raw_data_dir == tmp_path.resolve() and again.ingest_options() == src.ingest_options()


class TestUploadSource:
    def test_upload_source_watches_its_files_folder(self, settings: Settings) -> None:
        """An upload source lives under uploads/sessions/<id>/files."""
        src = UploadDataSource("upload_20261128T101500_3f9a0c1d", symbol="MES", settings=settings)
        assert src.watch_directory() == settings.uploads_dir / "upload_20261128T101500_3f9a0c1d" / "files"
        assert src.ingest_options().symbol == "MES"

    def test_upload_source_id_must_be_a_session_id(self) -> None:
        """An arbitrary id cannot point an upload source elsewhere."""
        with pytest.raises(UsageError):
            UploadDataSource("../../etc")
