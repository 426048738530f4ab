"""Settings: one typed object, PIPELINE_* environment variables, a derived data-folder layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

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
    with pytest.raises(ValidationError, match="quiet_period_s"):
        Settings.from_env({"PIPELINE_QUIET_PERIOD_S": "soon"})
