"""Typed settings read from environment variables, without a settings library.

``Settings`` is built by every process, the quick read-only commands included (``pipeline files``),
and pydantic-settings alone cost about 0.3 s to import there: more than the rest of such a command.
What settings need is small: one environment variable per field (plus aliases), text turned into the
field's type, bounds, a per-field check, and an error that names the variable.

Each field is declared with ``setting()`` on a frozen dataclass whose ``__init__`` is ``EnvSettings``'s.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from trading_pipeline.errors import ConfigError

__all__ = ["EnvSettings", "setting"]

S = TypeVar("S", bound="EnvSettings")

TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def setting(
    default: Any = dataclasses.MISSING,
    description: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    env: tuple[str, ...] = (),
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    parse: Callable[[str], Any] | None = None,
    check: Callable[[Any], Any] | None = None,
) -> Any:
    """One field: its default, what it means, the variables it reads (``env``: instead of
    ``<PREFIX><NAME>``, first found wins) and its bounds. ``parse`` turns text into the field's type
    where plain typing cannot (a mapping); ``check`` runs on the typed value and returns the value to
    keep. Both raise ``ValueError`` with a sentence for a person."""
    meta = {
        "description": description,
        "env": env,
        "ge": ge,
        "gt": gt,
        "le": le,
        "parse": parse,
        "check": check,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class EnvSettings:
    """Base of a frozen dataclass of settings: ``Cls(**values)`` reads the process environment for
    every field not given, ``Cls.from_env(environ, **values)`` a given one; ``replace(**changes)``
    copies with changes. Every value, given or read, is typed and checked the same way."""

    env_prefix: ClassVar[str] = ""

    def __init__(self, **values: Any) -> None:
        self._load(os.environ, values)

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str], **values: Any) -> S:
        """Settings from ``environ`` instead of the process environment (tests pass a dict)."""
        made = cls.__new__(cls)
        made._load(environ, values)
        return made

    @classmethod
    def env_names(cls, name: str) -> tuple[str, ...]:
        """The variables field ``name`` reads, first found wins."""
        field = next(f for f in dataclasses.fields(cls) if f.name == name)  # type: ignore[arg-type]
        return field.metadata["env"] or (f"{cls.env_prefix}{name.upper()}",)

    def replace(self: S, **changes: Any) -> S:
        """A copy with ``changes``, checked like new values (an unknown name raises ``TypeError``)."""
        current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return type(self).from_env({}, **{**current, **changes})

    def _load(self, environ: Mapping[str, str], values: Mapping[str, Any]) -> None:
        hints = _hints(type(self))
        unknown = set(values) - {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            raw, source = self._raw(field, environ, values)
            try:
                value = _checked(field, hints[field.name], raw)
            except ValueError as exc:
                raise ConfigError(f"{field.name} ({source}): {exc}") from None
            object.__setattr__(self, field.name, value)

    def _raw(
        self, field: dataclasses.Field[Any], environ: Mapping[str, str], values: Mapping[str, Any]
    ) -> tuple[Any, str]:
        """The value to check for ``field`` and where it came from: given, the environment, or the
        default (checked too: a relative default folder is made absolute like a given one)."""
        if field.name in values:
            return values[field.name], "value"
        found = next((k for k in self.env_names(field.name) if k in environ), None)
        if found is not None:
            return environ[found], found
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory(), "default"
        return field.default, "default"


def _hints(cls: type) -> dict[str, Any]:
    cached: dict[str, Any] | None = cls.__dict__.get("_type_hints")
    if cached is None:
        cached = typing.get_type_hints(cls)
        type.__setattr__(cls, "_type_hints", cached)
    return cached


def _checked(field: dataclasses.Field[Any], kind: Any, raw: Any) -> Any:
    meta = field.metadata
    if meta["parse"] is not None and isinstance(raw, str):
        raw = meta["parse"](raw)
    value = _typed(kind, raw)
    if meta["check"] is not None and value is not None:
        value = meta["check"](value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if meta["ge"] is not None and value < meta["ge"]:
            raise ValueError(f"{value} is below the minimum {meta['ge']}")
        if meta["gt"] is not None and value <= meta["gt"]:
            raise ValueError(f"{value} must be greater than {meta['gt']}")
        if meta["le"] is not None and value > meta["le"]:
            raise ValueError(f"{value} is above the maximum {meta['le']}")
    return value


def _typed(kind: Any, raw: Any) -> Any:
    """``raw`` (text from the environment, or a value given in code) as type ``kind``."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        (kind,) = [a for a in args if a is not type(None)]
        args = typing.get_args(kind)
    origin = typing.get_origin(kind)
    if origin is Literal:
        if raw not in args:
            raise ValueError(f"{raw!r} is not one of {', '.join(map(repr, args))}")
        return raw
    if origin is dict:
        if not isinstance(raw, dict):
            raise ValueError(f"expected a mapping, got {raw!r}")
        return {str(k): str(v) for k, v in raw.items()}
    if kind is bool:
        return _boolean(raw)
    if kind in (int, float):
        return _number(kind, raw)
    if kind is Path:
        return Path(raw) if isinstance(raw, str | Path) else _wrong(raw, "a path")
    if kind is str:
        return raw if isinstance(raw, str) else _wrong(raw, "text")
    raise TypeError(f"settings of type {kind!r} are not supported")


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE | FALSE:
        return text in TRUE
    raise ValueError(f"{raw!r} is not a boolean: use true or false")


def _number(kind: type[int] | type[float], raw: Any) -> int | float:
    if isinstance(raw, bool):
        _wrong(raw, "a number")
    if isinstance(raw, int | float) and (kind is float or float(raw).is_integer()):
        return kind(raw)
    try:
        return kind(str(raw).strip())
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise ValueError(f"{raw!r} is not {noun}") from None


def _wrong(raw: Any, expected: str) -> typing.NoReturn:
    raise ValueError(f"{raw!r} is not {expected}")
