"""Settings: one typed object, PIPELINE_* environment variables, a derived data-folder layout."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from trading_pipeline.errors import ConfigError
from trading_pipeline.settings import Settings


def test_data_dir_defaults_to_data_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no environment, everything lives under ./data."""
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).data_dir == tmp_path / "data"


def test_environment_variables_use_the_pipeline_prefix(tmp_path: Path) -> None:
    """PIPELINE_DATA_DIR and friends configure every process the same way."""
    settings = Settings.from_env({"PIPELINE_DATA_DIR": str(tmp_path), "PIPELINE_QUIET_PERIOD_S": "2.5"})
    assert settings.data_dir == tmp_path
    assert settings.quiet_period_s == 2.5


def test_redis_url_is_also_read_from_plain_redis_url() -> None:
    """REDIS_URL is what RQ users already export."""
    assert Settings.from_env({"REDIS_URL": "redis://h:1/0"}).redis_url == "redis://h:1/0"
    both = {"REDIS_URL": "redis://a:1/0", "PIPELINE_REDIS_URL": "redis://b:1/0"}
    assert Settings.from_env(both).redis_url == "redis://b:1/0"


def test_layout_is_derived_from_the_data_dir(tmp_path: Path) -> None:
    """Processes never build paths by hand: raw, uploads, processed and state hang off data_dir."""
    settings = Settings.from_env({}, data_dir=tmp_path)
    assert settings.raw_dir == tmp_path / "raw"
    assert settings.uploads_dir == tmp_path / "uploads" / "sessions"
    assert settings.ledger_path.parent == settings.state_dir
    settings.ensure_dirs()
    assert settings.raw_dir.is_dir() and settings.uploads_dir.is_dir()


def test_invalid_values_are_refused_with_the_field_named() -> None:
    """A typo in a number fails at start-up, naming the setting."""
    with pytest.raises(
        ConfigError, match=r"quiet_period_s \(PIPELINE_QUIET_PERIOD_S\): 'soon' is not a number"
    ):
        Settings.from_env({"PIPELINE_QUIET_PERIOD_S": "soon"})


@pytest.mark.parametrize(
    ("variable", "text", "field", "expected"),
    [
        ("PIPELINE_FORCE_POLLING", "yes", "force_polling", True),
        ("PIPELINE_FORCE_POLLING", "0", "force_polling", False),
        ("PIPELINE_MAX_ROWS", " 42 ", "max_rows", 42),
        ("PIPELINE_RUN_MIN_SPLIT_ROWS", "", "run_min_split_rows", None),
        ("PIPELINE_RUN_MIN_ROWS_SEVERITY", "fail", "run_min_rows_severity", "fail"),
        ("PIPELINE_DATABASE_URL", "", "database_url", None),
        (
            "PIPELINE_SOURCE_TZ",
            "default=America/Chicago, fx=UTC",
            "source_tz",
            {"default": "America/Chicago", "fx": "UTC"},
        ),
        ("PIPELINE_SOURCE_TZ", '{"default": "Europe/London"}', "source_tz", {"default": "Europe/London"}),
    ],
)
def test_text_from_the_environment_becomes_the_fields_type(
    variable: str, text: str, field: str, expected: object
) -> None:
    assert getattr(Settings.from_env({variable: text}), field) == expected


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("PIPELINE_FORCE_POLLING", "maybe", "'maybe' is not a boolean"),
        ("PIPELINE_MAX_ROWS", "1.5", "'1.5' is not a whole number"),
        ("PIPELINE_UI_PORT", "70000", "70000 is above the maximum 65535"),
        ("PIPELINE_INGEST_MEMORY_MB", "64", "64 is below the minimum 128"),
        ("PIPELINE_TEMP_MAX_AGE_H", "0", "0.0 must be greater than 0"),
        ("PIPELINE_RUN_MIN_ROWS_SEVERITY", "loud", "'loud' is not one of 'warn', 'fail'"),
        ("PIPELINE_DEFAULT_TZ", "Mars/Base", "unknown time zone 'Mars/Base'"),
        ("PIPELINE_SOURCE_TZ", "default", "use source=Zone pairs"),
        ("PIPELINE_SOURCE_TZ", "default=Mars/Base", "unknown time zone 'Mars/Base'"),
        ("PIPELINE_DATABASE_URL", "mysql://x/y", "use a postgresql://"),
    ],
)
def test_a_bad_value_names_its_variable_and_says_what_is_wrong(
    variable: str, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"\\({variable}\\): {message}"):
        Settings.from_env({variable: text})


def test_settings_read_the_process_environment_and_given_values_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_MAX_ROWS", "7")
    monkeypatch.setenv("PIPELINE_MAX_COLUMNS", "8")
    settings = Settings(data_dir=tmp_path, max_columns=9)
    assert (settings.max_rows, settings.max_columns, settings.data_dir) == (7, 9, tmp_path)


def test_a_copy_with_changes_is_checked_and_the_original_stays(tmp_path: Path) -> None:
    settings = Settings.from_env({}, data_dir=tmp_path)
    assert settings.replace(max_rows=5).max_rows == 5
    assert settings.max_rows == 1_000_000_000
    assert settings.replace() == settings
    with pytest.raises(ConfigError, match="max_rows"):
        settings.replace(max_rows=0)
    with pytest.raises(TypeError, match="unknown settings: max_row"):
        settings.replace(max_row=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_rows = 3  # type: ignore[misc]
