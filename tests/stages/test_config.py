"""The run config: validated at the boundary; defaults, then run.toml, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_pipeline.errors import ConfigError
from trading_pipeline.stages import RunConfig, build_config, parse_timeframe


def test_defaults_are_the_documented_standard_set() -> None:
    """No file and no flags give horizons 5,15,60 and a 70/15/15 split."""
    config = build_config()
    assert config.horizons == (5, 15, 60) and config.splits == (0.7, 0.15, 0.15)
    assert config.data_source == "default" and config.purge_ns(60_000_000_000) == 3_600_000_000_000
    assert (config.max_gap, config.bad_ticks, config.partial_bars, config.calendar) == (
        "auto",
        "drop",
        "drop",
        "utc",
    )


def test_ratios_must_sum_to_one() -> None:
    """0.7,0.2,0.2 is refused with the sum in the message."""
    with pytest.raises(ConfigError, match=r"sum to 1, not 1\.1"):
        build_config(splits="0.7,0.2,0.2")


def test_horizons_must_be_positive() -> None:
    """A zero or negative horizon is a usage error."""
    with pytest.raises(ConfigError, match="--horizons"):
        build_config(horizons="5,0")


def test_unknown_timeframe_is_refused() -> None:
    """'5 parsecs' is not a bar size."""
    with pytest.raises(ConfigError, match="unknown timeframe"):
        build_config(timeframe="5parsecs")


@pytest.mark.parametrize(("text", "alias"), [("5min", "5min"), ("5m", "5min"), ("1H", "1h"), ("1d", "1D")])
def test_timeframes_are_normalised(text: str, alias: str) -> None:
    """Common spellings map to one pandas alias, so run.json is comparable across runs."""
    assert parse_timeframe(text) == alias


def test_file_overrides_defaults_and_flags_override_the_file(tmp_path: Path) -> None:
    """run.toml sets horizons and timeframe; a --horizons flag still wins."""
    path = tmp_path / "run.toml"
    path.write_text('[run]\nhorizons = [10, 20]\ntimeframe = "15min"\nmin-class-share = 0.1\n')
    config = build_config(path, horizons="3")
    assert config.horizons == (3,) and config.timeframe == "15min" and config.min_class_share == 0.1


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    """A typo in run.toml fails instead of being silently ignored."""
    path = tmp_path / "run.toml"
    path.write_text("horizon = [5]\n")
    with pytest.raises(ConfigError, match="horizon"):
        build_config(path)


def test_effective_config_round_trips_through_json() -> None:
    """What run.json stores rebuilds the same config (rerun depends on it)."""
    config = build_config(symbols="MES,MGC", timeframe="5min", session="08:30-15:00")
    assert RunConfig.model_validate(config.to_json()) == config


@pytest.mark.parametrize("symbol", ["../../etc", "MES/x", ".hidden", "M ES"])
def test_symbols_that_would_escape_the_run_folder_are_refused(symbol: str) -> None:
    """A symbol names runs/<run_id>/<symbol>/: a database source's odd symbol must not become a path."""
    with pytest.raises(ConfigError, match="--symbols"):
        build_config(symbols=f"MES,{symbol}")


def test_ordinary_symbols_are_kept() -> None:
    """Dots, dashes and underscores are fine: BRK.B, ES_03-24, 6EH4."""
    assert build_config(symbols="BRK.B,ES_03-24,6EH4").symbols == ("BRK.B", "ES_03-24", "6EH4")
