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
from rich.console import Console
from rich.markup import escape

from trading_pipeline.errors import PipelineError
from trading_pipeline.statuses import Tone, tone

if TYPE_CHECKING:
    from trading_pipeline.settings import Settings

__all__ = [
    "console",
    "err_console",
    "escape",
    "exits_cleanly",
    "load_settings",
    "print_json",
    "styled_status",
]

console = Console()
err_console = Console(stderr=True)

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


def load_settings(process: str = "cli", *, logs: bool = True) -> Settings:
    """Settings from the environment, with logging configured for this process.

    ``logs=False`` is for quick read-only commands that log nothing: they skip loading structlog.
    """
    from trading_pipeline.settings import Settings

    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        err_console.print(f"[red]error:[/] invalid PIPELINE_* setting: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if logs:
        from trading_pipeline.logs import configure_logging

        configure_logging(settings.log_level, settings.log_format, process)
    return settings


def styled_status(status: str) -> str:
    """Rich markup for a file, stage or run status, coloured by its tone."""
    return f"[{TONE_STYLES[tone(status)]}]{escape(status)}[/]"


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
            err_console.print(f"[red]error:[/] {escape(exc.message)}", highlight=False)
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper
