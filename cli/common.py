"""What every CLI command shares: settings, consoles, JSON output and error-to-exit-code mapping.

Exit codes: 0 success, 1 a file was rejected / a run failed / an operation failed, 2 usage error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from trading_pipeline.errors import ConfigError, PipelineError
from trading_pipeline.statuses import Tone, tone

if TYPE_CHECKING:
    from rich.console import Console
    from rich.markup import escape

    from trading_pipeline.settings import Settings

    console: Console
    err_console: Console

__all__ = [
    "console",
    "err_console",
    "escape",
    "exits_cleanly",
    "load_settings",
    "print_json",
    "status_text",
    "status_with_warnings",
    "styled_status",
]

TONE_STYLES: dict[Tone, str] = {
    Tone.GOOD: "green",
    Tone.BAD: "bold red",
    Tone.BUSY: "yellow",
    Tone.WAITING: "blue",
    Tone.QUIET: "dim",
    Tone.INFO: "cyan",
}
"""The terminal's colours for the tones every screen shares (trading_pipeline.statuses)."""

P = ParamSpec("P")
R = TypeVar("R")


def __getattr__(name: str) -> Any:
    """``console``, ``err_console`` and ``escape`` are made on first use: importing rich costs 0.05 s,
    which the quick commands that print a plain table (`pipeline files`, `jobs`) do not pay."""
    if name in ("console", "err_console"):
        from rich.console import Console

        made = Console(stderr=name == "err_console")
        globals()[name] = made
        return made
    if name == "escape":
        from rich.markup import escape

        globals()[name] = escape
        return escape
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _stderr() -> Console:
    made: Console = __getattr__("err_console")
    return made


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def load_settings(process: str = "cli", *, logs: bool = True) -> Settings:
    """Settings from the environment, with logging configured for this process.

    ``logs=False`` is for quick read-only commands that log nothing: they skip loading structlog.
    """
    from trading_pipeline.settings import Settings

    try:
        settings = Settings()
    except ConfigError as exc:  # the message names the setting and its variable
        _stderr().print(f"[red]error:[/] invalid setting {_escape(str(exc))}", highlight=False)
        raise typer.Exit(exc.exit_code) from exc
    if logs:
        from trading_pipeline.logs import configure_logging

        configure_logging(settings.log_level, settings.log_format, process)
    return settings


def styled_status(status: str) -> str:
    """Rich markup for a file, stage or run status, coloured by its tone."""
    return f"[{TONE_STYLES[tone(status)]}]{_escape(status)}[/]"


def status_text(status: str, warnings: int) -> str:
    """``ingested ⚠ 2``: a status with doubts never looks like a clean one."""
    return f"{status} ⚠ {warnings}" if warnings else status


def status_with_warnings(status: str, warnings: int) -> str:
    """``status_text`` as rich markup: the status in its tone, the warnings in yellow."""
    if not warnings:
        return styled_status(status)
    return f"{styled_status(status)} [yellow]⚠ {warnings}[/]"


def print_json(data: Any) -> None:
    """Exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def exits_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a PipelineError into a one-line message and its exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PipelineError as exc:
            _stderr().print(f"[red]error:[/] {_escape(exc.message)}", highlight=False)
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt:
            _stderr().print("interrupted")
            raise typer.Exit(130) from None

    return wrapper
