"""The DataIngestor end to end on real files: what is stored, what the ledger says, what is left behind."""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from testkit import make_bars, write_bars_csv
from trading_pipeline.errors import ConfigError, StoreError, UsageError
from trading_pipeline.ingest.ingestor import DataIngestor, file_sha256
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.store import BarStore

CHICAGO = IngestOptions(tz="America/Chicago")


def bars_csv(path: Path, n: int = 30, **kwargs: object) -> Path:
    return write_bars_csv(path, make_bars(n, tz=None, **kwargs))  # type: ignore[arg-type]


def parquet_files(settings: Settings) -> list[Path]:
    return sorted(settings.processed_dir.rglob("*.parquet"))


@pytest.fixture
def ingestor(settings: Settings) -> DataIngestor:
    return DataIngestor(settings)


class TestStore:
    def test_ingested_bars_read_back_with_pandas_in_utc(self, ingestor: DataIngestor, tmp_path: Path) -> None:
        """A Chicago-time CSV is stored as Parquet whose datetime pandas reads as UTC, values intact."""
        source = bars_csv(tmp_path / "MES_1m.csv", 30)
        report = ingestor.ingest(source, CHICAGO)
        assert report.status == "ingested"
        assert report.interval == "1min"
        stored = pd.read_parquet(report.symbols["MES"].output)
        assert str(stored["datetime"].dt.tz) == "UTC"
        assert stored["datetime"].iloc[0] == pd.Timestamp("2024-01-02 06:00", tz="UTC")
        assert stored["close"].tolist() == pd.read_csv(source)["close"].tolist()
        assert report.symbols["MES"].rows == 30

    def test_ledger_records_the_ingest_with_its_outputs(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path
    ) -> None:
        """The ledger row says ingested, with the symbol, rows, time range and the Parquet path."""
        report = ingestor.ingest(bars_csv(tmp_path / "MES_1m.csv"), CHICAGO)
        ledger = Ledger(settings)
        (record,) = ledger.files()
        assert (record.status, record.symbols, record.rows) == ("ingested", ["MES"], 30)
        assert [o.output for o in ledger.outputs("default")] == [report.symbols["MES"].output]

    def test_paths_in_reports_are_absolute(
        self, ingestor: DataIngestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A relative path is reported and recorded as an absolute one."""
        bars_csv(tmp_path / "MES_1m.csv")
        monkeypatch.chdir(tmp_path)
        report = ingestor.ingest(Path("MES_1m.csv"), CHICAGO)
        assert report.path == str(tmp_path / "MES_1m.csv")
        assert Path(report.symbols["MES"].output or "").is_absolute()

    def test_atomic_writes_leave_no_temp_files(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path
    ) -> None:
        """After an ingest the store holds only final Parquet files, no dot-temp files."""
        ingestor.ingest(bars_csv(tmp_path / "MES_1m.csv"), CHICAGO)
        names = [p.name for p in settings.processed_dir.rglob("*") if p.is_file()]
        assert names and all(n.endswith(".parquet") and not n.startswith(".") for n in names)

    def test_multi_symbol_file_stores_one_dataset_per_symbol(
        self, ingestor: DataIngestor, tmp_path: Path
    ) -> None:
        """A file with a symbol column is split; equal times in different symbols are no conflict."""
        es, nq = make_bars(5, tz=None), make_bars(5, tz=None, seed=1, price=17000)
        frame = pd.concat([es.assign(symbol="ES"), nq.assign(symbol="NQ")]).sort_values(
            "datetime", kind="stable"
        )
        frame["datetime"] = frame["datetime"].dt.strftime("%Y-%m-%d %H:%M:%S")
        path = tmp_path / "futures.csv"
        frame.to_csv(path, index=False)
        report = ingestor.ingest(path, CHICAGO)
        assert report.status == "ingested", report.errors
        assert sorted(report.symbols) == ["ES", "NQ"]
        assert pd.read_parquet(report.symbols["NQ"].output)["close"].tolist() == nq["close"].tolist()

    def test_store_failure_raises_and_removes_partial_outputs(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        """A full disk is infrastructure: StoreError, no ledger row, no Parquet half-set left behind."""

        class FullDisk(BarStore):
            calls = 0

            def write(self, table: pa.Table, path: Path) -> Path:
                self.calls += 1
                if self.calls == 2:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return super().write(table, path)

        es, nq = make_bars(5, tz=None), make_bars(5, tz=None, seed=1)
        frame = pd.concat([es.assign(symbol="ES"), nq.assign(symbol="NQ")])
        frame["datetime"] = frame["datetime"].dt.strftime("%Y-%m-%d %H:%M:%S")
        frame.to_csv(tmp_path / "two.csv", index=False)
        ingestor = DataIngestor(settings, store=FullDisk(settings.processed_dir))
        with pytest.raises(StoreError, match="No space left"):
            ingestor.ingest(tmp_path / "two.csv", CHICAGO)
        assert parquet_files(settings) == []
        assert Ledger(settings).files() == []


class TestDuplicatesAndVersions:
    def test_same_bytes_under_another_name_are_a_duplicate(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path
    ) -> None:
        """The same content at a second path is 'duplicate', points at the original and stores nothing."""
        first = bars_csv(tmp_path / "MES_1m.csv")
        copy = tmp_path / "copy" / "MES_1m.csv"
        copy.parent.mkdir()
        copy.write_bytes(first.read_bytes())
        ingestor.ingest(first, CHICAGO)
        report = ingestor.ingest(copy, CHICAGO)
        assert report.status == "duplicate"
        assert report.duplicate_of == str(first)
        assert len(parquet_files(settings)) == 1
        statuses = {r.path: r.status for r in Ledger(settings).files()}
        assert statuses == {str(first): "ingested", str(copy): "duplicate"}

    def test_big_files_hashed_beside_the_read_are_still_recognised_as_duplicates(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Above the overlap size the hash runs while reading; the second copy is still a duplicate."""
        monkeypatch.setattr("trading_pipeline.ingest.ingestor.OVERLAPPED_HASH_BYTES", 0)
        first = bars_csv(tmp_path / "MES_1m.csv")
        copy = tmp_path / "again" / "MES_1m.csv"
        copy.parent.mkdir()
        copy.write_bytes(first.read_bytes())
        stored = ingestor.ingest(first, CHICAGO)
        assert stored.status == "ingested" and stored.sha256 == file_sha256(first)
        assert ingestor.ingest(copy, CHICAGO).status == "duplicate"
        assert len(parquet_files(settings)) == 1

    def test_ingesting_the_same_file_twice_keeps_its_ingested_record(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path
    ) -> None:
        """A second ingest of unchanged bytes reports duplicate but leaves the original row ingested."""
        path = bars_csv(tmp_path / "MES_1m.csv")
        ingestor.ingest(path, CHICAGO)
        assert ingestor.ingest(path, CHICAGO).status == "duplicate"
        (record,) = Ledger(settings).files()
        assert record.status == "ingested"
        assert len(parquet_files(settings)) == 1

    def test_new_content_at_the_same_path_supersedes_the_old_version(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path
    ) -> None:
        """A changed file replaces the old version's bars: old row superseded, old Parquet deleted."""
        path = bars_csv(tmp_path / "MES_1m.csv", 30)
        old = ingestor.ingest(path, CHICAGO).symbols["MES"].output
        bars_csv(path, 40, seed=3)
        new = ingestor.ingest(path, CHICAGO)
        assert new.status == "ingested"
        assert parquet_files(settings) == [Path(new.symbols["MES"].output or "")]
        assert not Path(old or "").exists()
        statuses = sorted(r.status for r in Ledger(settings).files())
        assert statuses == ["ingested", "superseded"]

    def test_rejected_new_version_keeps_the_old_bars(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path
    ) -> None:
        """A bad new version replaces nothing: the old Parquet and its ingested row stay."""
        path = bars_csv(tmp_path / "MES_1m.csv", 30)
        old = ingestor.ingest(path, CHICAGO).symbols["MES"].output
        path.write_text(path.read_text().replace("\n2024-01-02 00:05:00,", "\n2024-01-02 00:05:00,-"))
        assert ingestor.ingest(path, CHICAGO).status == "rejected"
        assert Path(old or "").exists()
        assert sorted(r.status for r in Ledger(settings).files()) == ["ingested", "rejected"]


class TestRejections:
    def test_rejected_file_leaves_no_parquet_and_its_report_is_kept(
        self, ingestor: DataIngestor, settings: Settings, tmp_path: Path
    ) -> None:
        """Bad bars reject the file: nothing stored, and the ledger keeps the report with its reason."""
        path = bars_csv(tmp_path / "MES_1m.csv", 20)
        lines = path.read_text().splitlines()
        date, o, _high, low, c, v = lines[5].split(",")
        lines[5] = ",".join([date, o, str(float(low) - 1), low, c, v])
        path.write_text("\n".join(lines) + "\n")
        report = ingestor.ingest(path, CHICAGO)
        assert report.status == "rejected"
        assert parquet_files(settings) == []
        (record,) = Ledger(settings).files()
        assert record.status == "rejected"
        assert record.reason.startswith("row 5: high below low")
        assert record.report is not None and record.report["errors"][0]["check"] == "ohlc"

    def test_a_reader_crash_becomes_a_rejection(
        self, ingestor: DataIngestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unexpected exception inside the reader is reported as unreadable, never raised."""

        def broken(_path: Path, _options: IngestOptions) -> None:
            raise ValueError("unexpected layout")

        monkeypatch.setattr("trading_pipeline.ingest.reader.read_file", broken)
        report = ingestor.ingest(bars_csv(tmp_path / "MES_1m.csv"), CHICAGO)
        assert report.status == "rejected"
        assert report.errors[0].check == "readable"
        assert "unexpected layout" in report.errors[0].message


class TestCallers:
    def test_a_wrong_option_is_a_usage_error_not_a_rejection(
        self, ingestor: DataIngestor, tmp_path: Path
    ) -> None:
        """An unknown zone from a caller's options raises UsageError; bad options are not bad data."""
        with pytest.raises(UsageError, match="Mars/Olympus"):
            ingestor.ingest(bars_csv(tmp_path / "MES_1m.csv"), IngestOptions(tz="Mars/Olympus"))

    def test_a_hash_from_the_caller_is_not_computed_again(
        self, ingestor: DataIngestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The RQ job passes the sha256 it just verified; the ingestor uses it as is."""
        path = bars_csv(tmp_path / "MES_1m.csv")
        sha = file_sha256(path)
        monkeypatch.setattr(
            "trading_pipeline.ingest.ingestor.file_sha256", lambda _p: pytest.fail("hashed twice")
        )
        assert ingestor.ingest(path, CHICAGO, sha256=sha).sha256 == sha


class TestBarLabelAndDryRun:
    def test_close_labelled_bars_move_back_one_interval(self, ingestor: DataIngestor, tmp_path: Path) -> None:
        """--bar-label close stores each bar at its open time and says so in a warning."""
        path = bars_csv(tmp_path / "MES_5m.csv", 10, freq="5min")
        report = ingestor.ingest(path, IngestOptions(tz="UTC", bar_label="close"))
        stored = pd.read_parquet(report.symbols["MES"].output)
        assert stored["datetime"].iloc[0] == pd.Timestamp("2024-01-01 23:55", tz="UTC")
        warning = next(w for w in report.warnings if w.check == "bar_label")
        assert "(5min)" in warning.message
        assert report.interval == "5min"

    def test_daily_close_labelled_bars_keep_their_date(self, ingestor: DataIngestor, tmp_path: Path) -> None:
        """Daily bars are labelled by session date whatever the label convention: not moved."""
        path = bars_csv(tmp_path / "MES_1d.csv", 10, freq="B", start="2024-01-01")
        report = ingestor.ingest(path, IngestOptions(bar_label="close"))
        stored = pd.read_parquet(report.symbols["MES"].output)
        assert stored["datetime"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")

    def test_validate_writes_nothing(self, settings: Settings, tmp_path: Path) -> None:
        """A dry run reports 'validated' and creates neither a ledger nor any Parquet."""
        report = DataIngestor(settings).validate(bars_csv(tmp_path / "MES_1m.csv"), CHICAGO)
        assert report.status == "validated"
        assert report.symbols["MES"].output is None
        assert not settings.ledger_path.exists()
        assert parquet_files(settings) == []

    def test_progress_reports_stages_up_to_done(self, ingestor: DataIngestor, tmp_path: Path) -> None:
        """The progress callback sees the stages in order, ending with done at 100 percent."""
        seen: list[tuple[str, int]] = []
        ingestor.ingest(bars_csv(tmp_path / "MES_1m.csv"), CHICAGO, progress=lambda s, p: seen.append((s, p)))
        assert [s for s, _ in seen] == ["hashing", "reading", "validating", "writing", "recording", "done"]
        assert seen[-1] == ("done", 100)


class TestDefaultZone:
    """PIPELINE_DEFAULT_TZ: what naive times mean for files that cannot carry a --tz (watched folders)."""

    def test_naive_times_use_the_default_zone_without_a_warning(self, data_dir: Path, tmp_path: Path) -> None:
        """With PIPELINE_DEFAULT_TZ set, a naive file is read in that zone and not flagged as UTC."""
        settings = Settings.from_env({"PIPELINE_DEFAULT_TZ": "America/Chicago"}, data_dir=data_dir)
        path = bars_csv(tmp_path / "MES_1m.csv", start="2024-01-02 09:30")
        report = DataIngestor(settings).ingest(path)
        assert report.status == "ingested"
        assert report.symbols["MES"].start == datetime(2024, 1, 2, 15, 30, tzinfo=UTC)
        assert not [w for w in report.warnings if w.check == "timezone"]

    def test_an_explicit_zone_still_wins_over_the_default(self, data_dir: Path, tmp_path: Path) -> None:
        """--tz beats PIPELINE_DEFAULT_TZ."""
        settings = Settings.from_env({"PIPELINE_DEFAULT_TZ": "America/Chicago"}, data_dir=data_dir)
        path = bars_csv(tmp_path / "MES_1m.csv", start="2024-01-02 09:30")
        report = DataIngestor(settings).ingest(path, IngestOptions(tz="UTC"))
        assert report.symbols["MES"].start == datetime(2024, 1, 2, 9, 30, tzinfo=UTC)

    def test_a_vendor_rule_wins_over_the_default(self, data_dir: Path, tmp_path: Path) -> None:
        """HistData's fixed EST (UTC-5) is not replaced by the operator's default zone."""
        settings = Settings.from_env({"PIPELINE_DEFAULT_TZ": "Asia/Tokyo"}, data_dir=data_dir)
        path = tmp_path / "DAT_ASCII_EURUSD_M1_201202.csv"
        path.write_text(
            "20120201 000000;1.3066;1.3066;1.30656;1.30656;0\n20120201 000100;1.3066;1.3067;1.3065;1.3066;0\n"
        )
        report = DataIngestor(settings).ingest(path, IngestOptions(symbol="EURUSD"))
        assert report.symbols["EURUSD"].start == datetime(2012, 2, 1, 5, 0, tzinfo=UTC)

    def test_an_unknown_default_zone_is_refused_at_start_up(self, data_dir: Path) -> None:
        """A typo in PIPELINE_DEFAULT_TZ fails when settings load, naming the zone."""
        with pytest.raises(ConfigError, match=r"PIPELINE_DEFAULT_TZ\): unknown time zone 'America/Chicgo'"):
            Settings.from_env({"PIPELINE_DEFAULT_TZ": "America/Chicgo"}, data_dir=data_dir)
