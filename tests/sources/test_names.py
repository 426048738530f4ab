"""Upload names, symbols and ids are checked before they touch the disk."""

from __future__ import annotations

import pytest

from trading_pipeline.errors import UnsafeNameError, UsageError
from trading_pipeline.names import (
    candidate_files,
    check_session_id,
    check_source_id,
    is_ignored_name,
    safe_filename,
    safe_symbol,
)


class TestSafeFilename:
    @pytest.mark.parametrize(
        "name",
        [
            "../../x.csv",
            "..",
            "a/../../b.csv",
            "sub/MES.csv",
            "..\\..\\x.csv",
            "/etc/passwd",
            "\\\\server\\share\\x.csv",
            "C:\\data\\x.csv",
            "c:x.csv",
            "MES\x00.csv",
            "",
            "   ",
            ".hidden.csv",
            ".",
            "MES.csv.part",
            "MES.csv.tmp",
            "~lock.csv",
            "metadata.json",
            "MES\n.csv",
            "a" * 300 + ".csv",
        ],
    )
    def test_unsafe_names_are_refused(self, name: str) -> None:
        """Traversal, absolute, NUL, hidden, temp, reserved, control, empty and overlong names raise."""
        with pytest.raises(UnsafeNameError):
            safe_filename(name)

    @pytest.mark.parametrize("name", ["MES_1m.csv", "BTCUSDT-1m-2025-01-06.csv", "MES.c.0 bars (2).parquet"])
    def test_ordinary_names_are_kept(self, name: str) -> None:
        """Vendor file names pass unchanged."""
        assert safe_filename(name) == name

    def test_surrounding_whitespace_is_trimmed(self) -> None:
        """Whitespace a browser may add around a name is neutralised, not refused."""
        assert safe_filename("  MES.csv ") == "MES.csv"

    def test_unsafe_name_is_a_usage_error(self) -> None:
        """A refused name maps to exit code 2 in the CLI."""
        with pytest.raises(UsageError) as info:
            safe_filename("../x.csv")
        assert info.value.exit_code == 2
        assert "../x.csv" in info.value.message


class TestSymbolsAndIds:
    @pytest.mark.parametrize("symbol", ["MES", "MES.c.0", "BTC-USDT", "ES_F", "6E"])
    def test_valid_symbols(self, symbol: str) -> None:
        """Letters, digits and ._- are allowed."""
        assert safe_symbol(symbol) == symbol

    @pytest.mark.parametrize("symbol", ["", "../MES", "MES/X", ".MES", "MES X", "M\x00", "-MES"])
    def test_invalid_symbols(self, symbol: str) -> None:
        """Anything that could be a path or hidden name is refused."""
        with pytest.raises(UnsafeNameError):
            safe_symbol(symbol)

    @pytest.mark.parametrize("source_id", ["vendor_x", "A-1", "default"])
    def test_valid_source_ids(self, source_id: str) -> None:
        """Source ids are RQ-job-id safe."""
        assert check_source_id(source_id) == source_id

    @pytest.mark.parametrize("source_id", ["", "a b", "x/y", "vendor.x", "é", "a" * 65])
    def test_invalid_source_ids(self, source_id: str) -> None:
        """Anything outside [A-Za-z0-9_-] is a usage error."""
        with pytest.raises(UsageError):
            check_source_id(source_id)

    def test_session_ids_must_have_the_session_shape(self) -> None:
        """Session ids used as folder names cannot be paths."""
        assert check_session_id("upload_20261128T101500_3f9a0c1d")
        with pytest.raises(UsageError):
            check_session_id("../upload_20261128T101500_3f9a0c1d")


class TestIgnoredFiles:
    @pytest.mark.parametrize("name", [".x.csv", "x.part", "x.TMP", "~x", "metadata.json", "x.crdownload"])
    def test_watcher_ignores_temp_and_hidden_names(self, name: str) -> None:
        """Names the writer protocol uses for incomplete files are ignored."""
        assert is_ignored_name(name)

    def test_candidate_files_skip_hidden_folders_and_temps(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Only complete, visible files are ingest candidates, recursively."""
        for rel in ["a.csv", "sub/b.csv", ".git/c.csv", "d.csv.part", ".e.csv.1234.tmp"]:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text("x")
        assert [p.relative_to(tmp_path).as_posix() for p in candidate_files(tmp_path)] == [
            "a.csv",
            "sub/b.csv",
        ]
