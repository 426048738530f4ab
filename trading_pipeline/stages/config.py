"""The run configuration: one typed model holding every knob of a research run, with its defaults.

Precedence, lowest first: the defaults below, a ``--config run.toml`` file, then CLI flags. The effective
config is stored in ``run.json`` so ``rerun`` repeats a run exactly and a reader knows what produced it.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trading_pipeline.errors import ConfigError
from trading_pipeline.names import SYMBOL_RE

__all__ = [
    "AUTO_GAP_BARS",
    "TIMEFRAME_EXAMPLES",
    "Horizon",
    "RunConfig",
    "build_config",
    "horizon_name",
    "horizon_ns",
    "parse_timeframe",
    "time_basis",
    "uses_cme_sessions",
]

Horizon = int | str
"""A label horizon: a whole number of bars (5), or a clock duration as a pandas alias ('15min', '1h')."""
AUTO_GAP_BARS = 10
"""``max_gap = "auto"``: a gap is a break when more than this many bar intervals pass without a bar."""
TIMEFRAME_EXAMPLES: tuple[str | None, ...] = (None, "5min", "15min", "1h", "4h", "1d")
"""Timeframes the CLI help names (None: keep the input bars); the causality test runs each."""

_TIMEFRAME = re.compile(r"^(\d+)\s*(s|sec|min|m|t|h|hr|d|day)$", re.IGNORECASE)
_UNITS = {
    "s": "s",
    "sec": "s",
    "min": "min",
    "m": "min",
    "t": "min",
    "h": "h",
    "hr": "h",
    "d": "D",
    "day": "D",
}
_SESSION = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
SPLIT_TOLERANCE = 1e-6


def parse_timeframe(text: str) -> str:
    """Normalise '5min', '5m', '1H', '1d' to a pandas offset alias; refuse anything else."""
    match = _TIMEFRAME.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(
            f"unknown timeframe {text!r}: use a positive count and a unit, e.g. 30s, 5min, 1h, 1d"
        )
    return f"{int(match.group(1))}{_UNITS[match.group(2).lower()]}"


class RunConfig(BaseModel):
    """Everything a run needs besides its input data. Defaults are the documented standard set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols: tuple[str, ...] = Field(default=(), description="Empty means every symbol of the source.")
    data_source: str = Field(default="default", description="Source id; 'default' is data/raw.")
    timeframe: str | None = Field(
        default=None, description="Resample to this bar size; None keeps the input."
    )
    session: str | None = Field(
        default=None, description="'HH:MM-HH:MM' kept, in session_tz; may wrap midnight."
    )
    session_tz: str = "UTC"
    horizons: tuple[Horizon, ...] = Field(
        default=(5, 15, 60), description="Label horizons: bars (5) or clock durations ('15min', '1h')."
    )
    splits: tuple[float, float, float] = (0.7, 0.15, 0.15)
    return_lookbacks: tuple[int, ...] = Field(
        default=(1, 5, 15, 60), description="Log-return lookbacks, bars."
    )
    vol_window: int = Field(default=20, ge=2, description="Rolling std of 1-bar log returns.")
    atr_window: int = Field(default=14, ge=1)
    rsi_window: int = Field(default=14, ge=1)
    volume_window: int = Field(default=60, ge=2, description="Window of the volume z-score.")
    label_threshold: float = Field(
        default=0.5, ge=0, description="Flat band half-width in units of vol * sqrt(horizon)."
    )
    min_class_share: float = Field(
        default=0.05, ge=0, lt=1, description="Each label class must reach this share of the train split."
    )
    min_split_rows: int = Field(
        default=100, ge=1, description="Fewest rows each of train, val and test should hold."
    )
    min_class_rows: int = Field(
        default=10, ge=0, description="Fewest rows each label class should have in each split."
    )
    min_rows_severity: Literal["warn", "fail"] = Field(
        default="warn",
        description="A split below min_split_rows or min_class_rows: a warning, or the symbol fails.",
    )
    max_gap: str = Field(
        default="auto",
        description="A longer stretch without bars is a break labels never cross: a duration, "
        f"'auto' ({AUTO_GAP_BARS} bar intervals) or 'none'.",
    )
    bad_ticks: Literal["drop", "flag", "off"] = Field(
        default="drop", description="Bars displaced from both the last close and the rolling median."
    )
    bad_tick_window: int = Field(default=60, ge=5, description="Bars in the rolling median and MAD.")
    bad_tick_threshold: float = Field(default=10.0, gt=0, description="Robust sigmas a bad tick lies away.")
    partial_bars: Literal["drop", "keep"] = Field(
        default="drop", description="Resampled bins cut short by a break or the data's edge."
    )
    calendar: Literal["utc", "cme"] = Field(
        default="utc",
        description="Day and time-of-day basis: 'utc' bins days and encodes time of day in UTC; 'cme' "
        "uses CME Globex sessions for every symbol (a bare root such as MES included). Symbols naming a "
        "dated contract (MESH5) and --continuous runs always use the CME sessions.",
    )
    continuous: bool = Field(
        default=False,
        description="Symbols are futures roots: run on the newest `pipeline continuous build` series.",
    )

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [s for s in value.split(",") if s.strip()]
        return tuple(dict.fromkeys(str(s).strip() for s in value))

    @field_validator("symbols")
    @classmethod
    def _safe_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A symbol names the run's output folder: runs/<run_id>/<symbol>/ must stay inside the run.
        unsafe = [s for s in value if not SYMBOL_RE.fullmatch(s)]
        if unsafe:
            raise ValueError(
                f"{', '.join(map(repr, unsafe))}: a symbol is letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("return_lookbacks", mode="before")
    @classmethod
    def _split_ints(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        return value

    @field_validator("horizons", mode="before")
    @classmethod
    def _horizons(cls, value: Any) -> tuple[Horizon, ...]:
        if isinstance(value, str | int):
            value = [v for v in str(value).split(",") if v.strip()]
        parsed = [_horizon(v) for v in value]
        if not parsed or any(isinstance(v, int) and v <= 0 for v in parsed):
            raise ValueError("needs one or more positive bar counts or durations, e.g. 5,15,60 or 15min,1h")
        bars = sorted({v for v in parsed if isinstance(v, int)})
        durations = sorted({v for v in parsed if isinstance(v, str)}, key=lambda v: pd.Timedelta(v))
        return (*bars, *durations)

    @field_validator("return_lookbacks")
    @classmethod
    def _positive_sorted(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("needs one or more positive whole numbers of bars, e.g. 5,15,60")
        return tuple(sorted(set(value)))

    @field_validator("max_gap")
    @classmethod
    def _max_gap(cls, value: str) -> str:
        text = str(value).strip().lower()
        if text in ("auto", "none"):
            return text
        try:
            return parse_timeframe(text)
        except ConfigError:
            raise ValueError("must be 'auto', 'none' or a duration such as 30min or 2h") from None

    @field_validator("splits", mode="before")
    @classmethod
    def _split_floats(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        return value

    @field_validator("splits")
    @classmethod
    def _ratios(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(not math.isfinite(v) or v <= 0 for v in value):
            raise ValueError("train, val and test ratios must each be above 0")
        if abs(sum(value) - 1.0) > SPLIT_TOLERANCE:
            raise ValueError(f"train, val and test ratios must sum to 1, not {sum(value):g}")
        return value

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str | None) -> str | None:
        return None if value in (None, "", "native") else parse_timeframe(str(value))

    @field_validator("session")
    @classmethod
    def _session(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not _SESSION.match(str(value)) or value[:5] == value[6:]:
            raise ValueError("session must look like 08:30-15:15 (start and end differ)")
        return value

    @field_validator("session_tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _source_named(self) -> RunConfig:
        if not self.data_source.strip():
            raise ValueError("data_source must not be empty")
        return self

    def purge_ns(self, bar_ns: int) -> int:
        """Time left out between splits: the longest label looks this far ahead of a bar's close."""
        return max(horizon_ns(h, bar_ns) for h in self.horizons)

    def gap_ns(self, bar_ns: int) -> int | None:
        """The longest stretch without bars that is no break, for bars ``bar_ns`` apart (None: no limit)."""
        if self.max_gap == "none":
            return None
        if self.max_gap == "auto":
            return AUTO_GAP_BARS * bar_ns
        return int(pd.Timedelta(self.max_gap).value)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _horizon(value: Any) -> Horizon:
    """5 and '5' are bars; '15min' and '1h' are durations (normalised like a timeframe)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a horizon")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return parse_timeframe(text)
    except ConfigError:
        raise ValueError(f"{text!r} is neither a number of bars nor a duration such as 15min or 1h") from None


def horizon_name(horizon: Horizon) -> str:
    """The suffix of the horizon's columns: label_5, fwd_ret_15min."""
    return str(horizon)


def horizon_ns(horizon: Horizon, bar_ns: int) -> int:
    """The horizon as a duration, for bars ``bar_ns`` apart."""
    return horizon * bar_ns if isinstance(horizon, int) else int(pd.Timedelta(horizon).value)


def uses_cme_sessions(config: RunConfig, symbol: str) -> bool:
    """Whether ``symbol``'s days, times of day and breaks follow the CME Globex calendar in this run."""
    from trading_pipeline.futures.symbols import contract_root

    return config.calendar == "cme" or config.continuous or contract_root(symbol) is not None


def time_basis(config: RunConfig) -> dict[str, str]:
    """How the run reads days and times of day, stated in run.json so no reader has to guess."""
    cme = [s for s in config.symbols if uses_cme_sessions(config, s)]
    if cme:
        from trading_pipeline.futures.research import TIME_BASIS

        basis = dict(TIME_BASIS)
        if len(cme) < len(config.symbols):
            basis["applies_to"] = f"{', '.join(cme)}; every other symbol: UTC days and times of day"
        return basis
    return {
        "calendar": config.calendar,
        "days": "UTC calendar days: daily bins run 00:00-24:00 UTC, aligned to the Unix epoch",
        "time_of_day": "tod_sin/tod_cos: the UTC minute of the bar's open, not exchange or session time",
        "day_of_week": "dow_sin/dow_cos: the UTC weekday of the bar's open",
        "sessions": "none: breaks come from gaps in time only (no session calendar is applied)",
    }


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    # A file may keep its keys at the top or under [run]; both read the same.
    section = data.get("run", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [run] must be a table")
    return {k.replace("-", "_"): v for k, v in section.items()}


def build_config(
    config_file: Path | None = None, *, defaults: dict[str, Any] | None = None, **flags: Any
) -> RunConfig:
    """Defaults, then ``defaults`` (from settings), then the TOML file, then flags that were given
    (None means 'not given')."""
    values: dict[str, Any] = {k: v for k, v in (defaults or {}).items() if v is not None}
    values.update(_read_toml(config_file) if config_file else {})
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return RunConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_file)) from exc


def _describe(exc: ValidationError, config_file: Path | None) -> str:
    """One line per problem, naming the option as a user types it."""
    where = f" (config {config_file})" if config_file else ""
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "config"
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"--{field.replace('_', '-')}: {msg}")
    return f"invalid run config{where}: " + "; ".join(lines)
